"""Throughput of the pure-torch Gaussian splatting renderer: pixels x Gaussians per second.

    python plugins/pointcloud/scripts/bench_gaussian_renderer.py --threads 1 --repeats 5 --tile-sizes 8,0

Gaussians are scattered in front of two cameras (a room-like box seen from inside), so about
a third to a half are culled per view as on procedural rooms. Reports the forward and the
forward+backward rate as ``views x pixels x Gaussians / s`` (the dense cost before culling)
on the devices available (CPU always; CUDA when present, plus gsplat when installed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from selfsup_pointcloud.gaussians.renderer import gsplat_available, render_gaussians
from selfsup_pointcloud.views import intrinsics_from_fov, look_at


def _scene(num_gaussians: int, device: torch.device, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    means = torch.rand(num_gaussians, 3, generator=generator) * torch.tensor([4.0, 4.0, 2.5])
    quats = torch.randn(num_gaussians, 4, generator=generator)
    scales = 0.03 + 0.07 * torch.rand(num_gaussians, 3, generator=generator)
    opacities = 0.3 + 0.7 * torch.rand(num_gaussians, generator=generator)
    colors = torch.rand(num_gaussians, 3, generator=generator)
    features = torch.randn(num_gaussians, 16, generator=generator)
    eyes = torch.tensor([[0.5, 0.5, 1.5], [3.5, 3.5, 1.4]])
    targets = torch.tensor([[3.0, 3.0, 0.8], [1.0, 1.0, 0.6]])
    tensors = [means, quats, scales, opacities, colors, features]
    return [t.to(device).requires_grad_(True) for t in tensors], look_at(eyes, targets).to(device)


def measure(device: torch.device, height: int, width: int, num_gaussians: int, repeats: int, backend: str,
            tile_size: int) -> dict:
    (means, quats, scales, opacities, colors, features), extrinsics = _scene(num_gaussians, device)
    intrinsics = intrinsics_from_fov(height, width, 75.0).to(device).expand(2, 3, 3)

    def run(backward: bool) -> tuple[float, float]:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        out = render_gaussians(means, quats, scales, opacities, colors, intrinsics, extrinsics, height, width,
                               features=features, backend=backend, tile_size=tile_size)
        if backward:
            (out.color.sum() + out.depth.sum() + out.features.sum()).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, time.process_time() - cpu_start

    run(True)  # warm-up
    work = 2 * height * width * num_gaussians
    forward = [run(False) for _ in range(repeats)]
    both = [run(True) for _ in range(repeats)]
    return {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "backend": backend, "tile_size": tile_size if backend == "torch" else None, "threads": torch.get_num_threads(), "views": 2, "height": height, "width": width,
        "gaussians": num_gaussians,
        "forward_s": statistics.median(w for w, _ in forward),
        "forward_backward_s": statistics.median(w for w, _ in both),
        "forward_px_gauss_per_s": work / statistics.median(w for w, _ in forward),
        "forward_backward_px_gauss_per_s": work / statistics.median(w for w, _ in both),
        # per second of this process's CPU time: the rate on an unshared core (CPU runs only)
        "forward_px_gauss_per_cpu_s": work / statistics.median(c for _, c in forward),
        "forward_backward_px_gauss_per_cpu_s": work / statistics.median(c for _, c in both),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="30x40:1000,30x40:4000,60x80:4000")
    parser.add_argument("--tile-sizes", default="8,0", help="torch backend: 0 = every pixel against every Gaussian")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        backends = ["torch"] + (["gsplat"] if device.type == "cuda" and gsplat_available() else [])
        for backend in backends:
            tile_sizes = [int(t) for t in args.tile_sizes.split(",")] if backend == "torch" else [0]
            for tile_size in tile_sizes:
                for size in args.sizes.split(","):
                    shape, count = size.split(":")
                    height, width = (int(v) for v in shape.split("x"))
                    print(json.dumps(measure(device, height, width, int(count), args.repeats, backend, tile_size)),
                          flush=True)


if __name__ == "__main__":
    main()
