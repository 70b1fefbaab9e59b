"""Throughput of the point-cloud data path and encoder (points per second), on procedural rooms.

    python plugins/pointcloud/scripts/bench_speed.py [--device cpu|cuda] [--repeats 5]

Measures, per batch of 4 rooms (about 7k points each after 0.1 m grid sampling):

* preprocessing: grid sampling of the raw scenes, one augmented crop (rotate, scale, flip,
  jitter, colour noise) and the 4-level voxel octree with its neighbour tables;
* encoder forward + backward of the default ``point-unet`` (loss = sum of the output);
* encoder forward only (no grad), as the probes run it.

Prints one JSON line per measurement (median over ``--repeats`` after one warm-up): wall
seconds and this process's CPU seconds (with one thread, CPU time is what the work costs even
when other jobs share the cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from selfsup_pointcloud.configs import PointUNetConfig, ProceduralRoomsConfig
from selfsup_pointcloud.datasets.procedural import ProceduralRooms, make_room
from selfsup_pointcloud.encoders.unet import build_point_unet
from selfsup_pointcloud.ops import build_hierarchy, grid_sample
from selfsup_pointcloud.transforms import ViewAugmentation, augmented_view


def _median_seconds(fn, repeats: int, sync) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (robust to other jobs on a shared CPU)."""
    fn()
    sync()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        sync()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    import numpy as np

    config = ProceduralRoomsConfig(train_scenes=4, val_scenes=0, test_scenes=0)
    rng = np.random.default_rng(0)
    raw = [make_room(config, rng, f"room{i}") for i in range(4)]
    raw_coord = torch.cat([torch.from_numpy(s.coord) for s in raw]).to(device)
    raw_batch = torch.cat([torch.full((s.coord.shape[0],), i) for i, s in enumerate(raw)]).to(device)
    data = ProceduralRooms(config)
    batch = {k: v.to(device) for k, v in data.collate([data.split("train")[i] for i in range(4)]).items()}
    points = batch["coord"].shape[0]
    encoder = build_point_unet(PointUNetConfig(), data.info).to(device)

    def preprocess() -> None:
        grid_sample(raw_coord, raw_batch, config.grid_size)
        _, coord, _, view_batch = augmented_view(batch["coord"], batch["feat"], batch["batch"], ViewAugmentation())
        build_hierarchy(coord, view_batch, 0.1, 4)

    def forward_backward() -> None:
        encoder.zero_grad(set_to_none=True)
        encoder(batch).sum().backward()

    def forward() -> None:
        with torch.no_grad():
            encoder.feature_sets(batch)

    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {args.threads} thread(s)"
    for label, fn, count in (
        ("preprocess (grid sample raw + crop/augment + octree)", preprocess, raw_coord.shape[0]),
        ("point-unet forward+backward", forward_backward, points),
        ("point-unet forward, last+multires features", forward, points),
    ):
        seconds, cpu_seconds = _median_seconds(fn, args.repeats, sync)
        print(json.dumps({"what": label, "device": name, "points": int(count), "wall_s": round(seconds, 4),
                          "cpu_s": round(cpu_seconds, 4), "points_per_wall_s": round(count / seconds),
                          "points_per_cpu_s": round(count / max(cpu_seconds, 1e-9))}), flush=True)


if __name__ == "__main__":
    main()
