"""Generator and discriminator images/s per training step, on CPU (or a GPU), for both GAN objectives.

One D update = one ``training_step(phase="discriminator")`` on ``rows`` real and ``rows``
generated images, backward and Adam step; one G update = ``phase="generator"`` on ``rows``
generated images. Reported: images/s = rows / median seconds per update (after warm-up).

    nice -n 5 .venv/bin/python plugins/vision/scripts/vision_speed.py --image-size 16 --rows 16 \
        --d-channels 32 --g-channels 32 --threads 1 --out benchmarks/results/vision/speed_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from selfsup_vision.configs import AugSelfGANConfig, BigGANDiscriminatorConfig, DiffAugmentGANConfig
from selfsup_vision.networks.encoder import build_discriminator_trunk
from selfsup_vision.objectives.gan import AugSelfGAN, DiffAugmentGAN


def _time_phase(objective, batch, phase: str, optimizer, repeats: int, device: torch.device) -> float:
    times = []
    for i in range(repeats + 3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        objective.training_step(batch, step=1, phase=phase)["loss"].backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 3:  # warm-up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--d-channels", type=int, default=32)
    parser.add_argument("--d-blocks", type=int, default=3)
    parser.add_argument("--g-channels", type=int, default=32)
    parser.add_argument("--dim-z", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    info = {"name": "bench", "channels": args.channels, "image_size": args.image_size, "num_classes": 10}
    results = []
    for name, cls, config_cls in (("diffaugment", DiffAugmentGAN, DiffAugmentGANConfig), ("augself-gan", AugSelfGAN, AugSelfGANConfig)):
        torch.manual_seed(0)
        trunk = build_discriminator_trunk(BigGANDiscriminatorConfig(channels=args.d_channels, blocks=args.d_blocks), info)
        config = config_cls(g_channels=args.g_channels, dim_z=args.dim_z, d_steps=1, sample_every=0)
        objective = cls(config, trunk, info).to(device).train()
        d_phase, g_phase = objective.phases()
        d_opt = torch.optim.Adam(d_phase.parameters, lr=2e-4, betas=(0.0, 0.999))
        g_opt = torch.optim.Adam(g_phase.parameters, lr=2e-4, betas=(0.0, 0.999))
        batch = {"x": (torch.rand(args.rows, args.channels, args.image_size, args.image_size) * 2 - 1).to(device),
                 "label": (torch.arange(args.rows) % 10).to(device)}
        d_seconds = _time_phase(objective, batch, "discriminator", d_opt, args.repeats, device)
        g_seconds = _time_phase(objective, batch, "generator", g_opt, args.repeats, device)
        row = {"objective": name, "rows": args.rows, "d_update_s": d_seconds, "g_update_s": g_seconds,
               "d_images_per_s": args.rows / d_seconds, "g_images_per_s": args.rows / g_seconds}
        results.append(row)
        print(json.dumps(row))
    record = {"settings": vars(args) | {"out": str(args.out) if args.out else None}, "device": str(device),
              "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
              "cuda_device": torch.cuda.get_device_name() if device.type == "cuda" else None, "results": results}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
