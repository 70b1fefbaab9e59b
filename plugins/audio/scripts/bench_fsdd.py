"""FSDD benchmark: fbank extraction speed, then SSAST pretraining + frozen probes vs random init.

Usage (from the repository root)::

    .venv/bin/python plugins/audio/scripts/bench_fsdd.py --steps 300 --seeds 0 --splits official speaker

Prints one JSON line per run (metrics of the pretrained and random-init encoders, samples/s)
and writes them to ``--out`` (default ``runs/audio-bench/results.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def fbank_speed() -> dict:
    from selfsup_audio.configs import FSDDConfig
    from selfsup_audio.datasets import source
    from selfsup_audio.datasets.fsdd import FSDD

    source._CACHE.clear()
    start = time.perf_counter()
    data = FSDD(FSDDConfig())
    seconds = time.perf_counter() - start
    return {"what": "fsdd-features", "clips": data.info["num_clips"], "seconds": round(seconds, 2),
            "clips_per_s": round(data.info["num_clips"] / seconds, 1), "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--splits", nargs="+", default=["official", "speaker"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/audio-bench/results.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from selfsup import pretrain

    rows = [fbank_speed()]
    print(json.dumps(rows[-1]), flush=True)
    for split in args.splits:
        for seed in args.seeds:
            run_dir = out.parent / f"fsdd-{split}-s{seed}-{args.steps}"
            start = time.perf_counter()
            result = pretrain(
                modality="audio", dataset="fsdd", seed=seed, run_dir=run_dir,
                data={"split": split},
                trainer={"max_steps": args.steps, "batch_size": args.batch_size, "progress": "off", "device": "cpu"},
            )
            speeds = [h["samples_per_s"] for h in result.history if "samples_per_s" in h]
            last = result.history[-1]
            rows.append({
                "what": "pretrain", "split": split, "seed": seed, "steps": args.steps,
                "minutes": round((time.perf_counter() - start) / 60, 2),
                "samples_per_s": round(sum(speeds[1:]) / max(1, len(speeds) - 1), 1) if speeds else None,
                "final": {k: round(float(last[k]), 4) for k in ("loss", "nce", "mse", "pretext_accuracy") if k in last},
                "pretrained": {k: round(v, 4) for k, v in result.metrics.items()},
                "random_init": {k: round(v, 4) for k, v in result.random_init_metrics.items()},
            })
            print(json.dumps(rows[-1]), flush=True)
            with out.open("a") as handle:
                handle.write(json.dumps(rows[-1]) + "\n")


if __name__ == "__main__":
    main()
