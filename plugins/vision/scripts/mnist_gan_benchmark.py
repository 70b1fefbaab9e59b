"""One run of the MNIST CPU-scale comparison: ``augself-gan`` or ``diffaugment``, one seed.

MNIST's 10k test images (``shared/data/mnist``) resized to 16×16 are split 70/10/20 with
a fixed seed (``data.split_seed=0``); 10% of the 7,000-image train pool (700 images, the
paper's data-limited setting ``data.fraction=0.1``) trains the GAN, the 2,000 held-out test
images are FD-local's reference and the linear probe's test set. Both objectives get the same budget, networks and seeds; only the AugSelf
heads and losses differ. Writes ``<out>/<objective>-seed<k>.json`` with the metrics,
the final training-log row and the wall time.

    nice -n 5 .venv/bin/python plugins/vision/scripts/mnist_gan_benchmark.py --objective augself-gan --seed 0 \
        --out benchmarks/results/vision
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from selfsup import pretrain

REPO = Path(__file__).resolve().parents[3]
MNIST = REPO.parent / "shared" / "data" / "mnist"

#: The shared budget (CPU scale): 400 steps × (4 D updates of 16 real + 16 fake, 1 G update of 16).
SETTINGS = {
    "data": {"root": str(MNIST), "image_size": 16, "val_fraction": 0.1, "test_fraction": 0.2, "fraction": 0.1},
    "encoder_config": {"channels": 16, "blocks": 3, "downsample_blocks": 2},
    "objective_config": {"g_channels": 16, "dim_z": 32, "d_steps": 4, "ema_start": 100, "ema_decay": 0.99,
                         "sample_every": 100, "sample_grid": 8},
    "trainer": {"max_steps": 400, "batch_size": 64, "progress": "off", "log_every": 50, "checkpoint_every": 0},
    "evaluator_config": {"fd-local": {"num_samples": 2000, "classifier_epochs": 15, "kid_subsets": 10, "kid_subset_size": 500}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", choices=["augself-gan", "diffaugment"], required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--steps", type=int, default=SETTINGS["trainer"]["max_steps"])
    parser.add_argument("--runs", type=Path, default=Path("/tmp/selfsup-vision-bench"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trainer = dict(SETTINGS["trainer"], max_steps=args.steps)
    run_dir = args.runs / f"{args.objective}-seed{args.seed}-{int(time.time())}"
    start = time.time()
    result = pretrain(
        modality="vision", dataset="mnist", objective=args.objective, seed=args.seed, run_dir=run_dir,
        evaluators=["fd-local", "linear-probe"],
        data=SETTINGS["data"], encoder_config=SETTINGS["encoder_config"], objective_config=SETTINGS["objective_config"],
        trainer=trainer, evaluator_config=SETTINGS["evaluator_config"],
    )
    record = {
        "objective": args.objective, "seed": args.seed, "steps": args.steps, "threads": args.threads,
        "wall_s": time.time() - start, "run_dir": str(run_dir), "settings": SETTINGS | {"trainer": trainer},
        "metrics": result.metrics, "random_init_metrics": result.random_init_metrics,
        "last_log": result.history[-1] if result.history else {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.objective}-seed{args.seed}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps({k: record[k] for k in ("objective", "seed", "wall_s", "metrics")}, indent=1))


if __name__ == "__main__":
    main()
