"""The table of benchmarks/timeseries.md from its raw results (``benchmarks/quality.py --out`` lists).

    .venv/bin/python benchmarks/timeseries_tables.py                  # linear probe
    .venv/bin/python benchmarks/timeseries_tables.py knn/accuracy     # another metric of the same runs

For each UCR/UEA problem: the linear-probe accuracy (mean ± sample std over seeds) of frame
projections (``frame-resnet1d``, concat embedding), of its random-init encoder, of the SimCLR-style
baseline (``series-simclr`` on ``resnet1d``) and of its random init, and the paired differences
(same seed) frame projections − random init and frame projections − SimCLR with a 95 % Student-t
interval.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

__all__ = ["DATASETS", "summary", "main"]

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("ItalyPowerDemand", "GunPoint", "ArrowHead", "BasicMotions", "JapaneseVowels")
METRIC = "linear-probe/accuracy"
#: two-sided 95 % Student-t quantiles by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776}


def _rows(objective: str, dataset: str) -> dict[int, dict]:
    path = RESULTS / f"timeseries-{objective}-{dataset.lower()}.json"
    return {row["seed"]: row for row in json.loads(path.read_text())} if path.is_file() else {}


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def _paired(a: list[float], b: list[float]) -> str:
    diff = [x - y for x, y in zip(a, b)]
    if len(diff) < 2:
        return f"{diff[0]:+.3f}" if diff else "–"
    half = T95.get(len(diff) - 1, 2.0) * statistics.stdev(diff) / math.sqrt(len(diff))
    mean = statistics.mean(diff)
    return f"{mean:+.3f} [{mean - half:+.3f}, {mean + half:+.3f}]"


def summary(dataset: str, metric: str = METRIC) -> str | None:
    """One markdown row, or None when a result file is missing."""
    fp, sc = _rows("frame-projections", dataset), _rows("series-simclr", dataset)
    seeds = sorted(set(fp) & set(sc))
    if not seeds:
        return None
    fp_p = [fp[s]["pretrained"][metric] for s in seeds]
    fp_r = [fp[s]["random_init"][metric] for s in seeds]
    sc_p = [sc[s]["pretrained"][metric] for s in seeds]
    sc_r = [sc[s]["random_init"][metric] for s in seeds]
    minutes = max(r["seconds"] for r in [*fp.values(), *sc.values()]) / 60
    return (f"| {dataset} | {len(seeds)} | {_mean_sd(fp_p)} | {_mean_sd(fp_r)} | {_mean_sd(sc_p)} | {_mean_sd(sc_r)} "
            f"| {_paired(fp_p, fp_r)} | {_paired(fp_p, sc_p)} | {minutes:.1f} |")


def main() -> None:
    import sys

    metric = sys.argv[1] if len(sys.argv) > 1 else METRIC
    print(f"{metric}:")
    print("| dataset | seeds | frame projections | its random init | SimCLR-style | its random init "
          "| FP − random init (95 % CI) | FP − SimCLR (95 % CI) | longest run, wall min |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in DATASETS:
        row = summary(dataset, metric)
        print(row if row is not None else f"| {dataset} | – | not run | | | | | | |")


if __name__ == "__main__":
    main()
