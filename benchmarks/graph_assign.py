"""SCGC / SCGC* cluster assignments, both ways from the same runs: k-means on the L2-normalised
encoder outputs (the ``clustering`` evaluator, selfsup's default) against the official argmax of
Q before each update (``objective_config.assign=argmax-q``), final and best epoch.

    python benchmarks/graph_assign.py --root ../shared/data/citeseer --seeds 0 1 2 \
        --out benchmarks/results/graph-scgc-star-citeseer-assign.json [key=value ...]
    python benchmarks/tables.py assign            # the table, recomputed from the JSON

One run per seed gives every number: ``assign=argmax-q`` logs Q's scores at every main step
without changing training (the labels never enter the loss), and ``trainer.eval_every`` (the
plugin's default, 10) runs the k-means evaluator during training. Reported per seed:
``kmeans_final`` (the final encoder), ``kmeans_best`` (the best of the evaluations every
``eval_every`` steps by ``clustering/acc``, all four metrics from that one step),
``argmax_q_final`` (the last main step's Q, i.e. before the last update, as the official loop)
and ``argmax_q_best`` (each metric's own maximum over the steps, the official report).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf

from selfsup import pretrain
from selfsup_graph.assignment import best_per_metric

__all__ = ["main"]

_METRICS = ("acc", "nmi", "ari", "macro_f1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="scgc-star", choices=["scgc", "scgc-star"])
    parser.add_argument("--dataset", default="citeseer")
    parser.add_argument("--root", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/bench-assign")
    parser.add_argument("--out")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value (dotted)")
    args = parser.parse_args(argv)
    config = OmegaConf.merge(
        {"trainer": {"progress": "off", "eval_select": "clustering/acc"}, "objective_config": {"assign": "argmax-q"}},
        OmegaConf.from_dotlist(args.overrides),
    )
    rows = []
    for seed in args.seeds:
        start, cpu = time.perf_counter(), time.process_time()
        result = pretrain(
            modality="graph", objective=args.objective, dataset=args.dataset, data={"root": args.root}, seed=seed,
            evaluators=["clustering"], run_dir=Path(args.runs) / f"{args.objective}-{args.dataset}-seed{seed}-{time.strftime('%H%M%S')}",
            config=OmegaConf.to_container(config),
        )
        report = best_per_metric(result.history)
        best = result.best_during_training or {"metrics": {}, "step": None}
        rows.append({
            "seed": seed, "objective": args.objective, "dataset": args.dataset, "overrides": args.overrides,
            "steps": len(result.history), "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu,
            "kmeans_final": {m: result.metrics[f"clustering/{m}"] for m in _METRICS},
            "kmeans_best": {m: best["metrics"][f"clustering/{m}"] for m in _METRICS}, "kmeans_best_step": best["step"],
            "argmax_q_final": {m: report["final"][f"q_{m}"] for m in _METRICS},
            "argmax_q_best": {m: report["best"][f"q_{m}"] for m in _METRICS},
            "argmax_q_best_step": {m: report["best_step"][f"q_{m}"] for m in _METRICS},
            "random_init_kmeans": {m: result.random_init_metrics[f"clustering/{m}"] for m in _METRICS},
            "torch": torch.__version__,
        })
        print(json.dumps(rows[-1]), flush=True)
        if args.out:  # after every seed, so a stopped run keeps what it measured
            Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
