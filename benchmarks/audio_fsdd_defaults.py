"""FSDD with the defaults a user gets: ``selfsup pretrain modality=audio objective=<o> dataset=fsdd
data.root=<fsdd>`` and nothing else, per seed; ``--before`` replays the defaults as they were
before ``fsdd``'s ``DatasetSpec.trainer_defaults`` (300 steps of 64 at the objective's lr).

    python benchmarks/audio_fsdd_defaults.py --root ../shared/data/fsdd --objective ssast --seeds 0 1 2
    python benchmarks/audio_fsdd_defaults.py --root ../shared/data/fsdd --objective ssamba --seeds 0 --before

Each run's ``metrics.json`` (pretrained, random-init and raw-feature columns: the fbank mean/std
baseline of :class:`selfsup_audio.datasets.raw.FbankStats`) is copied to
``benchmarks/results/audio-fsdd-default-<objective>-<after|before>-s<seed>.metrics.json`` with the
process CPU seconds added; ``benchmarks/tables.py fsdd-default`` recomputes the table of
``benchmarks/audio.md`` § FSDD defaults from them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from selfsup.cli import main as selfsup_main

RESULTS = Path(__file__).resolve().parent / "results"
#: The audio modality's defaults before fsdd had trainer defaults of its own (objective lr kept).
BEFORE = {"ssast": ["trainer.max_steps=300", "trainer.batch_size=64", "trainer.lr=5e-4"],
          "ssamba": ["trainer.max_steps=300", "trainer.batch_size=64", "trainer.lr=1e-4"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--objective", choices=sorted(BEFORE), default="ssast")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--before", action="store_true", help="the earlier defaults (300 steps of 64)")
    parser.add_argument("--runs", default="runs/fsdd-defaults")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    label = "before" if args.before else "after"
    for seed in args.seeds:
        run_dir = Path(args.runs) / f"{args.objective}-{label}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
        command = ["pretrain", "modality=audio", f"objective={args.objective}", "dataset=fsdd", f"data.root={args.root}",
                   f"seed={seed}", f"run_dir={run_dir}", "trainer.progress=off"] + (BEFORE[args.objective] if args.before else [])
        start = time.process_time()
        status = selfsup_main(command)
        if status != 0:
            raise SystemExit(f"selfsup {' '.join(command)} exited with {status}")
        payload = json.loads((run_dir / "metrics.json").read_text())
        payload["benchmark"] = {"command": "selfsup " + " ".join(command), "cpu_seconds": round(time.process_time() - start, 1)}
        out = Path(args.results) / f"audio-fsdd-default-{args.objective}-{label}-s{seed}.metrics.json"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        tmp.replace(out)
        evaluations = payload["evaluations"]
        print(json.dumps({name: {k: e.get(k, {}).get("accuracy") for k in ("pretrained", "random_init", "raw_features")}
                          for name, e in evaluations.items()} | {"seed": seed, "label": label}), flush=True)


if __name__ == "__main__":
    main()
