"""Graph pretraining quality: node-clustering ACC/NMI/ARI/F1 (k-means on the final-epoch
embeddings of every node) for the pretrained and the random-init encoder, mean ± std over seeds.

    # SCGC* on CiteSeer (the acceptance target: ACC >= 0.66, NMI >= 0.38, < 5 min CPU per seed):
    python benchmarks/graph_quality.py --dataset citeseer --root ../shared/data/citeseer --seeds 0 1 2
    python benchmarks/graph_quality.py --dataset cora --root ../shared/data/cora --objective scgc

Writes a markdown table to stdout and, with --out, a JSON file of every run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from selfsup import pretrain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", help="data.root (not needed by the generated sbm)")
    parser.add_argument("--objective", default="scgc-star")
    parser.add_argument("--dataset", default="citeseer")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/bench-graph")
    parser.add_argument("--out")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value (dotted)")
    args = parser.parse_args()
    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.overrides))
    rows = []
    for seed in args.seeds:
        start = time.perf_counter()
        result = pretrain(
            modality="graph", objective=args.objective, dataset=args.dataset,
            data={"root": args.root} if args.root else {}, seed=seed,
            run_dir=Path(args.runs) / f"{args.dataset}-{args.objective}-{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}",
            config={"trainer": {"progress": "off"}, **overrides},
        )
        seconds = time.perf_counter() - start
        rows.append({"seed": seed, "seconds": seconds, "pretrained": result.metrics, "random_init": result.random_init_metrics,
                     "final_loss": result.history[-1].get("loss", result.history[-1].get("loss/main")), "steps": len(result.history)})
        print(json.dumps(rows[-1]), flush=True)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"\n{device}, torch {torch.__version__}, {args.objective} on {args.dataset}, overrides {args.overrides or 'none'}, {rows[0]['steps']} steps\n")
    print("| metric | pretrained | random init |\n|---|---|---|")
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0  # noqa: E731
    for key in rows[0]["pretrained"]:
        p = [r["pretrained"][key] for r in rows]
        q = [r["random_init"][key] for r in rows]
        print(f"| {key} | {statistics.mean(p):.4f} ± {sd(p):.4f} | {statistics.mean(q):.4f} ± {sd(q):.4f} |")
    print(f"\nwall time per seed: {statistics.mean(r['seconds'] for r in rows):.0f} s (pretraining + evaluation)")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
