"""SLA / SLA+SD / Core-tuning vs plain cross-entropy fine-tuning of the same MAE-pretrained encoder.

Data: the embedded sklearn digits (16 px, 1,797 images; the vision plugin's default dataset),
fine-tuned with 10 % of the fitting rows' labels (``label_fraction=0.1``). Per seed: one MAE
pretraining of a small ``mae-vit`` (no evaluators), then ``selfsup.evaluate`` of that run with
``fine-tune`` under each strategy (the same encoder, seed, epochs and learning rates; the random-init
twin is scored too). One JSON line per (seed, strategy) goes to ``--out``.

    .venv/bin/python benchmarks/vision_mim_finetune.py --seeds 0 1 2 --out benchmarks/results/vision-mim-finetune.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import selfsup

STRATEGIES = ("cross-entropy", "sla", "sla-sd", "core-tuning")
ENCODER = {"embed_dim": 64, "depth": 2, "num_heads": 2}
FINE_TUNE = {"epochs": 30, "lr": 1e-3, "head_lr": 1e-2, "patience": 30, "label_fraction": 0.1, "batch_size": 32}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--work", default="/tmp/selfsup-mim-finetune")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    for seed in args.seeds:
        run_dir = Path(args.work) / f"mae-digits-s{seed}"
        if not (run_dir / "encoder.safetensors").is_file():
            selfsup.pretrain(
                modality="vision", objective="mae", seed=seed, run_dir=run_dir, evaluators=[], encoder_config=ENCODER,
                trainer={"max_steps": args.steps, "batch_size": 128, "progress": "off", "threads": 1},
            )
        for strategy in STRATEGIES:
            start = time.process_time()
            result = selfsup.evaluate(
                run_dir, evaluators=["fine-tune"], write=False,
                evaluator_config={"fine-tune": {**FINE_TUNE, "strategy": strategy}},
            )
            block = result["fine-tune"]
            line = {
                "seed": seed, "strategy": strategy, "pretrain_steps": args.steps,
                "pretrained": block["pretrained"], "random_init": block["random_init"],
                "cpu_s": round(time.process_time() - start, 1),
            }
            with out.open("a") as handle:
                handle.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
