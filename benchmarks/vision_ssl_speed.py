"""Loader throughput vs step rate of the joint-embedding methods, in CPU time, side by side.

For each setting (ResNet-18 at 32 px with the CIFAR stem, ViT-S/16 at 224 px) and method, one
process measures with ``time.process_time`` (single thread):

* **loader**: images/s of the data path the engine runs each step — a batch gathered from
  the dataset's uint8 cache (``ImageSplit.__getitems__``) plus the method's view pipeline
  (``MultiCrop``) — with nothing else;
* **step**: images/s of a full training step (views, forward, backward, SGD update).

``ratio = loader / step`` must be ≥ 3 for the data path not to bottleneck the step. Random
uint8 images stand in for decoded files (decoding happens once, before training, so it is not
part of a step). Usage::

    .venv/bin/python benchmarks/vision_ssl_speed.py --out benchmarks/results/vision_ssl_speed.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from selfsup_vision.backbone_configs import ResNetConfig, ViTConfig
from selfsup_vision.datasets.source import ImageSplit
from selfsup_vision.encoders.backbones import build_resnet18, build_vit_small
from selfsup_vision.objectives.byol import BYOL
from selfsup_vision.objectives.dino import DINO
from selfsup_vision.objectives.simclr import SimCLR
from selfsup_vision.objectives.swav import SwAV
from selfsup_vision.ssl_configs import BYOLConfig, DINOConfig, SimCLRConfig, SwAVConfig

METHODS = {
    "simclr": (SimCLR, SimCLRConfig()),
    "byol": (BYOL, BYOLConfig()),
    "dino": (DINO, DINOConfig(out_dim=4096)),
    "swav": (SwAV, SwAVConfig()),
}
SETTINGS = {
    "resnet18-32px": (32, lambda info: build_resnet18(ResNetConfig(cifar_stem=True), info), 32),
    "vit-s16-224px": (224, lambda info: build_vit_small(ViTConfig(patch_size=16), info), 4),
}


def measure(setting: str, method: str, repeats: int) -> dict[str, float]:
    side, build, batch_size = SETTINGS[setting]
    info = {"channels": 3, "height": side, "width": side}
    torch.manual_seed(0)
    cls, cfg = METHODS[method]
    objective = cls(cfg, build(info), info)
    optimizer = torch.optim.SGD([p for p in objective.parameters() if p.requires_grad], lr=1e-3)
    split = ImageSplit(torch.randint(0, 256, (batch_size * 4, 3, side, side), dtype=torch.uint8), None)
    indices = list(range(batch_size))
    objective.views(split.__getitems__(indices)["x"])  # warm-up
    t = time.process_time()
    for _ in range(repeats):
        objective.views(split.__getitems__(indices)["x"])
    loader = repeats * batch_size / (time.process_time() - t)
    step_times = []
    for r in range(repeats + 1):
        t = time.process_time()
        loss = objective.training_step(split.__getitems__(indices), step=r + 1, phase="main")["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        objective.on_step_end(step=r + 1, max_steps=100)
        if r:  # first step is warm-up
            step_times.append(time.process_time() - t)
    step = batch_size / (sum(step_times) / len(step_times))
    return {"loader_images_per_cpu_s": loader, "step_images_per_cpu_s": step, "ratio": loader / step,
            "batch_size": batch_size, "views": objective.views.num_views}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    for setting in args.settings:
        for method in args.methods:
            results[f"{setting}/{method}"] = row = measure(setting, method, args.repeats)
            print(f"{setting:14s} {method:7s} loader {row['loader_images_per_cpu_s']:8.1f} img/CPU-s  "
                  f"step {row['step_images_per_cpu_s']:7.2f} img/CPU-s  ratio {row['ratio']:6.1f}", flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"torch": torch.__version__, "threads": 1, "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
