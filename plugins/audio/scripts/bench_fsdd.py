"""FSDD benchmark: fbank extraction speed, then SSAST pretraining + frozen probes vs random init.

Usage (from the repository root)::

    .venv/bin/python plugins/audio/scripts/bench_fsdd.py --steps 300 --seeds 0 --splits official speaker

``--fine-tune`` adds the core's ``fine-tune`` evaluator (a copy of the encoder trained end to end
with a linear head, best epoch on ``val``) beside the frozen linear probe and k-NN, for the
pretrained and the random-init encoder; ``--ft-*`` set its epochs and learning rates.
``--max-clips`` keeps a seeded subset of FSDD (quick checks of the script only).

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
    parser.add_argument("--fine-tune", action="store_true", help="also run the fine-tune evaluator")
    parser.add_argument("--ft-epochs", type=int, default=20)
    parser.add_argument("--ft-lr", type=float, default=1e-4, help="encoder learning rate when fine-tuning")
    parser.add_argument("--ft-head-lr", type=float, default=1e-3)
    parser.add_argument("--ft-batch-size", type=int, default=32)
    parser.add_argument("--max-clips", type=int, default=None, help="a seeded FSDD subset (script checks only)")
    parser.add_argument("--objective", default="ssast", help="ssast (AST encoder) or ssamba (amba encoder)")
    parser.add_argument("--encoder", default=None, help="default: ast for ssast, amba for ssamba")
    parser.add_argument("--lr", type=float, default=None, help="override the objective's default learning rate")
    args = parser.parse_args()
    evaluators = ["linear-probe", "knn"] + (["fine-tune"] if args.fine_tune else [])
    evaluator_config = {"fine-tune": {
        "epochs": args.ft_epochs, "lr": args.ft_lr, "head_lr": args.ft_head_lr, "batch_size": args.ft_batch_size,
    }} if args.fine_tune else {}
    encoder = args.encoder or ("amba" if args.objective == "ssamba" else "ast")
    suffix = ("" if args.objective == "ssast" else f"-{args.objective}") + ("-ft" if args.fine_tune else "") + (f"-n{args.max_clips}" if args.max_clips else "")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from selfsup import pretrain

    rows = [fbank_speed()]
    print(json.dumps(rows[-1]), flush=True)
    for split in args.splits:
        for seed in args.seeds:
            run_dir = out.parent / f"fsdd-{split}-s{seed}-{args.steps}{suffix}"
            start = time.perf_counter()
            result = pretrain(
                modality="audio", dataset="fsdd", seed=seed, run_dir=run_dir,
                objective=args.objective, encoder=encoder,
                evaluators=evaluators, evaluator_config=evaluator_config,
                data={"split": split, **({"max_clips": args.max_clips} if args.max_clips else {})},
                trainer={"max_steps": args.steps, "batch_size": args.batch_size, "progress": "off", "device": "cpu",
                         **({"lr": args.lr} if args.lr is not None else {})},
            )
            speeds = [h["samples_per_s"] for h in result.history if "samples_per_s" in h]
            last = result.history[-1]
            rows.append({
                "what": "pretrain", "objective": args.objective, "encoder": encoder,
                "split": split, "seed": seed, "steps": args.steps, "max_clips": args.max_clips,
                "fine_tune": evaluator_config.get("fine-tune"),
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
