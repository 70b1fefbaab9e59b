"""Linear probe on pooled graph embeddings of MUTAG, 10-fold stratified cross-validation.

    nice -n 5 python plugins/graph/scripts/mutag_probe.py --root ../shared/data/mutag \
        --seeds 0 1 2 --out benchmarks/results/graph-mutag-probe.json [--run-dir runs/x ...]

For every encoder, init seed and fold k (``data.split=kfold``, ``data.fold=k``, split
seed 0): the frozen encoder embeds all graphs and the core ``linear-probe`` evaluator
trains on the nine other folds (choosing its L2 on a held-out tenth of them) and scores
fold k. Encoders:

* ``gin-mean`` / ``gin-sum``: the random-init ``gin`` (Hu et al.: 5 layers, 300 wide,
  JK last, edge-label embeddings), mean or sum pooling;
* ``bag-of-labels``: no network, the sum of each graph's one-hot node labels (atom
  counts), the raw-feature baseline;
* each ``--run-dir``: the encoder a finished ``selfsup pretrain`` run saved.

Prints one line per (encoder, seed) and a markdown table: mean ± std over the seeds of
the 10-fold mean accuracy (and the mean over seeds of the across-fold std).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch_geometric.nn import global_add_pool

from selfsup import load_encoder
from selfsup.evaluation.linear_probe import LinearProbe
from selfsup_graph.configs import GINConfig, TUConfig
from selfsup_graph.datasets.tu import TUDataset
from selfsup_graph.encoders.gnn import build_gin


class BagOfLabels(nn.Module):
    """The sum of each graph's node-feature rows (one-hot labels: label counts); no parameters."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.embed_dim = width

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        graph = batch["graph"]
        return global_add_pool(graph.x.float(), graph.batch, size=graph.num_graphs)


def ten_fold_accuracy(encoder: nn.Module, root: str, seed: int, folds: int) -> list[float]:
    scores = []
    for fold in range(folds):
        data = TUDataset(TUConfig(root=root, name="MUTAG", split="kfold", num_folds=folds, fold=fold, seed=0))
        scores.append(LinearProbe().evaluate(encoder, data, device=torch.device("cpu"), seed=seed)["accuracy"])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--run-dir", action="append", default=[], help="a pretrain run whose encoder is probed too")
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = TUDataset(TUConfig(root=args.root, name="MUTAG")).info

    def encoders(seed: int) -> dict[str, nn.Module]:
        built: dict[str, nn.Module] = {}
        for pooling in ("mean", "sum"):
            torch.manual_seed(seed)
            built[f"gin-{pooling}"] = build_gin(GINConfig(pooling=pooling), info)
        built["bag-of-labels"] = BagOfLabels(info["num_node_features"])
        for run_dir in args.run_dir:
            built[f"pretrained:{Path(run_dir).name}"] = load_encoder(run_dir)
        return built

    rows = []
    for seed in args.seeds:
        for name, encoder in encoders(seed).items():
            start = time.perf_counter()
            scores = ten_fold_accuracy(encoder, args.root, seed, args.folds)
            row = {"encoder": name, "seed": seed, "fold_accuracy": scores, "mean": statistics.mean(scores),
                   "std": statistics.stdev(scores), "seconds": time.perf_counter() - start}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\nCPU, torch {torch.__version__}, {args.folds}-fold stratified CV (split seed 0), init seeds {args.seeds}\n")
    print("| encoder | 10-fold accuracy, mean ± std over seeds | mean across-fold std |\n|---|---|---|")
    for name in dict.fromkeys(row["encoder"] for row in rows):
        means = [row["mean"] for row in rows if row["encoder"] == name]
        spread = statistics.stdev(means) if len(means) > 1 else 0.0
        fold_std = statistics.mean(row["std"] for row in rows if row["encoder"] == name)
        print(f"| {name} | {statistics.mean(means):.4f} ± {spread:.4f} | {fold_std:.4f} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
