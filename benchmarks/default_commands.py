"""Each modality's default command, as a user types it, per seed: ``selfsup pretrain modality=<m>
seed=<s>`` and nothing else (plus ``objective=<o>``, and ``dataset=``/``data.root=`` where the
default dataset needs files, given with ``--set``).

    python benchmarks/default_commands.py --modality graph --seeds 0 1 2
    python benchmarks/default_commands.py --modality audio --objective ssast --set dataset=fsdd data.root=../shared/data/fsdd

Each run's ``metrics.json`` (the default evaluators' pretrained and random-init columns, and the
raw-feature column where the data source has one) is copied to
``benchmarks/results/default-<modality>-<objective>-s<seed>.metrics.json`` with the command and
the process CPU seconds added; ``python benchmarks/tables.py default-<modality>-<objective>``
prints pretrained, random init and their paired difference with a 95 % t interval
(``benchmarks/README.md`` § Default commands).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from selfsup.cli import main as selfsup_main

RESULTS = Path(__file__).resolve().parent / "results"


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (evaluators may start none; safe either way)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modality", required=True)
    parser.add_argument("--objective", default=None, help="default: the modality's default objective")
    parser.add_argument("--set", nargs="*", default=[], help="dataset=... data.root=... (only where the default needs files)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", default="runs/default-commands")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    for seed in args.seeds:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path(args.runs) / f"{args.modality}-{args.objective or 'default'}-s{seed}-{stamp}"
        command = ["pretrain", f"modality={args.modality}", *([f"objective={args.objective}"] if args.objective else []),
                   *args.set, f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=off"]
        start = _cpu_seconds()
        status = selfsup_main(command)
        if status != 0:
            raise SystemExit(f"selfsup {' '.join(command)} exited with {status}")
        payload = json.loads((run_dir / "metrics.json").read_text())
        objective = payload["run"]["objective"]
        payload["benchmark"] = {"command": "selfsup " + " ".join(command), "cpu_seconds": round(_cpu_seconds() - start, 1),
                                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        out = Path(args.results) / f"default-{args.modality}-{objective}-s{seed}.metrics.json"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        tmp.replace(out)
        print(out.name, payload["benchmark"]["cpu_seconds"], "CPU-s", flush=True)
        for name, entry in payload["evaluations"].items():
            print(" ", name, {column: entry.get(column) for column in ("pretrained", "random_init", "raw_features") if entry.get(column)},
                  flush=True)


if __name__ == "__main__":
    main()
