"""Mean ± std (over seeds) of the MNIST GAN benchmark's JSON records, as a Markdown table.

    .venv/bin/python plugins/vision/scripts/summarise_mnist_gan.py benchmarks/results/vision
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

METRICS = [
    ("fd-local/fd_local", "FD-local ↓"),
    ("fd-local/fd_local_kid", "KID-local ↓"),
    ("linear-probe/accuracy", "linear probe acc. (D trunk)"),
    ("fd-local/fd_local_classifier_accuracy", "FD-local classifier acc."),
    ("fd-local/fd_local_real", "FD-local real train vs test (floor)"),
]


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def main() -> None:
    folder = Path(sys.argv[1])
    records = [json.loads(p.read_text()) for p in sorted(folder.glob("*-seed*.json"))]
    objectives = sorted({r["objective"] for r in records})
    print("| metric | " + " | ".join(f"{o} (n={sum(r['objective'] == o for r in records)})" for o in objectives) + " |")
    print("|---|" + "---|" * len(objectives))
    for key, label in METRICS:
        cells = [_fmt([r["metrics"][key] for r in records if r["objective"] == o]) for o in objectives]
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = [_fmt([r["random_init_metrics"]["fd-local/fd_local"] for r in records if r["objective"] == o]) for o in objectives]
    print("| FD-local of an untrained G (random-init twin) | " + " | ".join(cells) + " |")
    cells = [_fmt([r["wall_s"] / 60 for r in records if r["objective"] == o]) for o in objectives]
    print("| wall time per run (min, contended CPU) | " + " | ".join(cells) + " |")
    print()
    for o in objectives:
        per_seed = {r["seed"]: round(r["metrics"]["fd-local/fd_local"], 3) for r in records if r["objective"] == o}
        print(f"- {o} FD-local per seed: {per_seed}")


if __name__ == "__main__":
    main()
