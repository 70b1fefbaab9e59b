"""Pretraining quality for any modality: each evaluator's numbers for the pretrained and the
random-init encoder, mean ± std over seeds.

    # T-JEPA on UCI Adult (official test split), the raw-feature MLP beside the probes:
    python benchmarks/quality.py --modality tabular --objective t-jepa --dataset adult \
        --root ../shared/data/adult --seeds 0 1 2 [key=value ...]
    # CLAN on the generated traffic data, centroid anomaly ROC-AUC:
    python benchmarks/quality.py --modality tabular --objective clan --dataset synthetic-traffic \
        --evaluators centroid-anomaly --seeds 0 1 2 encoder=residual-mlp
    # SCGC* on CiteSeer, node clustering on every node:
    python benchmarks/quality.py --modality graph --objective scgc-star --dataset citeseer \
        --root ../shared/data/citeseer --seeds 0 1 2

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
    parser.add_argument("--modality", required=True)
    parser.add_argument("--objective", help="default: the modality's")
    parser.add_argument("--dataset", help="default: the modality's")
    parser.add_argument("--root", help="data.root (not needed by embedded/generated datasets)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/bench")
    parser.add_argument("--out")
    parser.add_argument("--evaluators", help="comma-separated; default: the modality's")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value (dotted)")
    args = parser.parse_args()
    overrides = OmegaConf.to_container(OmegaConf.from_dotlist(args.overrides))
    rows = []
    for seed in args.seeds:
        start = time.perf_counter()
        result = pretrain(
            modality=args.modality, objective=args.objective, dataset=args.dataset,
            data={"root": args.root} if args.root else {},
            evaluators=args.evaluators.split(",") if args.evaluators else None, seed=seed,
            run_dir=Path(args.runs) / f"{args.modality}-{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}",
            config=OmegaConf.to_container(OmegaConf.merge({"trainer": {"progress": "off"}}, overrides)),
        )
        seconds = time.perf_counter() - start
        rows.append({"seed": seed, "seconds": seconds, "pretrained": result.metrics, "random_init": result.random_init_metrics,
                     "final_loss": result.history[-1].get("loss"), "steps": len(result.history),
                     "best_during_training": result.best_during_training})
        print(json.dumps(rows[-1]), flush=True)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"\n{device}, torch {torch.__version__}, overrides {args.overrides or 'none'}, {rows[0]['steps']} steps\n")
    print("| metric | pretrained | random init |\n|---|---|---|")
    for key in rows[0]["pretrained"]:
        p = [r["pretrained"][key] for r in rows]
        q = [r["random_init"][key] for r in rows]
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        print(f"| {key} | {statistics.mean(p):.4f} ± {sd(p):.4f} | {statistics.mean(q):.4f} ± {sd(q):.4f} |")
    best = [r["best_during_training"] for r in rows if r["best_during_training"]]
    if best:
        print(f"\nbest during training (by {best[0]['select']}), separately from the final encoder above:")
        print("| metric | best step's value | steps |\n|---|---|---|")
        for key in best[0]["metrics"]:
            values = [b["metrics"][key] for b in best]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"| {key} | {statistics.mean(values):.4f} ± {spread:.4f} | {', '.join(str(b['step']) for b in best)} |")
    print(f"\nwall time per seed: {statistics.mean(r['seconds'] for r in rows):.0f} s (pretraining + evaluation)")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
