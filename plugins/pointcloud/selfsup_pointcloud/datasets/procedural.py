"""``procedural-rooms``: seeded indoor scenes with per-point semantic labels (needs no files).

A room is a floor (z = 0) and four walls; furniture (tables, chairs, cabinets,
sofas) is built from boxes, rotated about z and placed without overlapping
footprints where possible. Points are sampled uniformly on every exposed box
face (Poisson counts proportional to area), with the face normal. Every object
takes a colour from one palette shared by all classes plus per-point noise, so
colour alone does not give the class.
"""

from __future__ import annotations

import numpy as np
import torch

from selfsup.errors import DatasetError
from selfsup.progress import track

from ..configs import ProceduralRoomsConfig
from ..views import camera_poses_in_room, intrinsics_from_fov, render_points
from .base import Scene, SceneSource

__all__ = ["CLASS_NAMES", "ProceduralRooms", "make_room", "render_room_views"]

CLASS_NAMES = ("floor", "wall", "table", "chair", "cabinet", "sofa")
FLOOR, WALL, TABLE, CHAIR, CABINET, SOFA = range(6)

_PALETTE = np.array(
    [
        [200, 200, 190], [150, 110, 70], [90, 60, 40], [180, 40, 40], [40, 90, 160], [60, 140, 70],
        [220, 200, 120], [120, 120, 130], [30, 30, 35], [230, 150, 60], [170, 120, 170], [240, 240, 235],
    ],
    dtype=np.float32,
)

# A box: (centre x, y, z, size x, y, z) in the object's frame; faces: 0..5 = -x +x -y +y -z +z.
_Box = tuple[float, float, float, float, float, float]


def _box_surface(box: _Box, density: float, rng: np.random.Generator, skip_bottom: bool) -> tuple[np.ndarray, np.ndarray]:
    cx, cy, cz, sx, sy, sz = box
    centre, size = np.array([cx, cy, cz]), np.array([sx, sy, sz])
    points, normals = [], []
    for axis in range(3):
        other = [a for a in range(3) if a != axis]
        area = size[other[0]] * size[other[1]]
        for sign in (-1.0, 1.0):
            if skip_bottom and axis == 2 and sign < 0:
                continue
            count = rng.poisson(area * density)
            if count == 0:
                continue
            uv = rng.random((count, 2)) - 0.5
            p = np.empty((count, 3))
            p[:, other[0]] = centre[other[0]] + uv[:, 0] * size[other[0]]
            p[:, other[1]] = centre[other[1]] + uv[:, 1] * size[other[1]]
            p[:, axis] = centre[axis] + sign * size[axis] / 2
            n = np.zeros((count, 3))
            n[:, axis] = sign
            points.append(p)
            normals.append(n)
    if not points:
        return np.zeros((0, 3)), np.zeros((0, 3))
    return np.concatenate(points), np.concatenate(normals)


def _furniture(kind: int, rng: np.random.Generator) -> tuple[list[_Box], float]:
    """Boxes of one piece in its own frame (centred at the origin, on the floor) and its footprint radius."""
    if kind == TABLE:
        w, d, h = rng.uniform(0.8, 1.6), rng.uniform(0.6, 0.9), rng.uniform(0.7, 0.78)
        leg = 0.05
        boxes = [(0.0, 0.0, h - 0.02, w, d, 0.04)]
        for sx in (-1, 1):
            for sy in (-1, 1):
                boxes.append((sx * (w / 2 - leg), sy * (d / 2 - leg), (h - 0.04) / 2, leg, leg, h - 0.04))
        return boxes, 0.5 * float(np.hypot(w, d))
    if kind == CHAIR:
        s, seat = rng.uniform(0.4, 0.5), rng.uniform(0.42, 0.48)
        back = rng.uniform(0.35, 0.5)
        leg = 0.04
        boxes = [(0.0, 0.0, seat, s, s, 0.05), (0.0, -s / 2 + 0.025, seat + back / 2, s, 0.05, back)]
        for sx in (-1, 1):
            for sy in (-1, 1):
                boxes.append((sx * (s / 2 - leg), sy * (s / 2 - leg), seat / 2, leg, leg, seat - 0.025))
        return boxes, 0.5 * float(np.hypot(s, s))
    if kind == CABINET:
        w, d, h = rng.uniform(0.5, 1.2), rng.uniform(0.35, 0.6), rng.uniform(0.8, 2.0)
        return [(0.0, 0.0, h / 2, w, d, h)], 0.5 * float(np.hypot(w, d))
    w, d = rng.uniform(1.4, 2.2), rng.uniform(0.8, 1.0)
    base, back, arm = rng.uniform(0.35, 0.45), rng.uniform(0.3, 0.45), 0.18
    boxes = [
        (0.0, 0.05, base / 2, w - 2 * arm, d - 0.1, base),
        (0.0, -d / 2 + 0.1, (base + back) / 2, w, 0.2, base + back),
        (-w / 2 + arm / 2, 0.05, (base + 0.2) / 2, arm, d - 0.1, base + 0.2),
        (w / 2 - arm / 2, 0.05, (base + 0.2) / 2, arm, d - 0.1, base + 0.2),
    ]
    return boxes, 0.5 * float(np.hypot(w, d))


def _colour(rng: np.random.Generator, count: int) -> np.ndarray:
    base = _PALETTE[rng.integers(len(_PALETTE))]
    return np.clip(base + rng.normal(0.0, 8.0, (count, 3)), 0, 255).astype(np.float32)


def make_room(config: ProceduralRoomsConfig, rng: np.random.Generator, name: str) -> Scene:
    """One room: coordinates, colours 0..255, normals and labels (see the module docstring)."""
    width, depth = rng.uniform(*config.room_size, size=2)
    height = rng.uniform(2.4, 3.0)
    density = config.points_per_m2
    coords, normals, colours, labels = [], [], [], []

    def add(points: np.ndarray, normal: np.ndarray, label: int, colour: np.ndarray | None = None) -> None:
        coords.append(points)
        normals.append(normal)
        colours.append(_colour(rng, points.shape[0]) if colour is None else colour[: points.shape[0]])
        labels.append(np.full(points.shape[0], label, dtype=np.int64))

    p, n = _box_surface((width / 2, depth / 2, -0.01, width, depth, 0.02), density, rng, skip_bottom=True)
    keep = n[:, 2] > 0
    add(p[keep], n[keep], FLOOR)
    wall_colour = _colour(rng, 1)[0]
    for box, normal_axis, sign in (
        ((0.0, depth / 2, height / 2, 0.0, depth, height), 0, 1.0),
        ((width, depth / 2, height / 2, 0.0, depth, height), 0, -1.0),
        ((width / 2, 0.0, height / 2, width, 0.0, height), 1, 1.0),
        ((width / 2, depth, height / 2, width, 0.0, height), 1, -1.0),
    ):
        cx, cy, cz, sx, sy, sz = box
        extent = sy if normal_axis == 0 else sx
        count = rng.poisson(extent * sz * density)
        uv = rng.random((count, 2))
        points = np.empty((count, 3))
        points[:, normal_axis] = cx if normal_axis == 0 else cy
        points[:, 1 - normal_axis] = uv[:, 0] * extent
        points[:, 2] = uv[:, 1] * sz
        normal = np.zeros((count, 3))
        normal[:, normal_axis] = sign
        colour = np.clip(wall_colour + rng.normal(0.0, 8.0, (count, 3)), 0, 255).astype(np.float32)
        add(points, normal, WALL, colour)
    placed: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(config.furniture[0], config.furniture[1] + 1))):
        kind = int(rng.choice([TABLE, CHAIR, CHAIR, CABINET, SOFA]))
        boxes, radius = _furniture(kind, rng)
        for _attempt in range(20):
            x = rng.uniform(radius, max(radius, width - radius))
            y = rng.uniform(radius, max(radius, depth - radius))
            if all(np.hypot(x - px, y - py) > radius + pr for px, py, pr in placed):
                break
        placed.append((x, y, radius))
        yaw = rng.uniform(0, 2 * np.pi)
        rotation = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
        colour = _colour(rng, 1)[0]
        for box in boxes:
            points, normal = _box_surface(box, density, rng, skip_bottom=True)
            if points.shape[0] == 0:
                continue
            points = points @ rotation.T + np.array([x, y, 0.0])
            noisy = np.clip(colour + rng.normal(0.0, 8.0, (points.shape[0], 3)), 0, 255).astype(np.float32)
            add(points, normal @ rotation.T, kind, noisy)
    coord = np.concatenate(coords)
    coord = coord + rng.normal(0.0, config.noise, coord.shape)
    scene = Scene(
        name=name,
        coord=coord.astype(np.float32),
        color=np.concatenate(colours),
        normal=np.concatenate(normals).astype(np.float32),
        label=np.concatenate(labels),
    )
    if config.views_per_scene > 0:
        scene.views = render_room_views(scene, config, int(rng.integers(2**31)))
    return scene


def render_room_views(scene: Scene, config: ProceduralRoomsConfig, seed: int) -> dict[str, torch.Tensor]:
    """``config.views_per_scene`` posed RGB-D frames of a room, z-buffered from its dense points."""
    height, width = (int(v) for v in config.view_size)
    generator = torch.Generator().manual_seed(seed)
    coord = torch.from_numpy(scene.coord).float()
    colour = torch.from_numpy(np.asarray(scene.color, dtype=np.float32)) / 255.0
    poses = camera_poses_in_room(coord.amin(0), coord.amax(0), config.views_per_scene, generator)
    intrinsics = intrinsics_from_fov(height, width, config.view_fov)
    rendered = [render_points(coord, colour, intrinsics, pose, height, width, point_size=2) for pose in poses]
    return {
        "intrinsics": intrinsics.expand(len(poses), 3, 3).clone(),
        "world_to_camera": poses.float(),
        "image": torch.stack([image for image, _ in rendered]),
        "depth": torch.stack([depth for _, depth in rendered]),
    }


class ProceduralRooms(SceneSource):
    """The ``procedural-rooms`` dataset: see :class:`~selfsup_pointcloud.configs.ProceduralRoomsConfig`."""

    def __init__(self, config: ProceduralRoomsConfig) -> None:
        low, high = (list(config.room_size) + [0.0, 0.0])[:2]
        if len(config.room_size) != 2 or not 1.0 <= low <= high:
            raise DatasetError(
                f"procedural-rooms: room_size={list(config.room_size)} must be [low, high] with 1 <= low <= high "
                "(metres). Use e.g. data.room_size=[3.0,5.0]."
            )
        if len(config.furniture) != 2 or not 0 <= config.furniture[0] <= config.furniture[1]:
            raise DatasetError(
                f"procedural-rooms: furniture={list(config.furniture)} must be [low, high] with 0 <= low <= high. "
                "Use e.g. data.furniture=[3,7]."
            )
        if config.views_per_scene < 0 or len(config.view_size) != 2 or min(config.view_size) < 1:
            raise DatasetError(
                f"procedural-rooms: views_per_scene={config.views_per_scene} must be >= 0 and view_size="
                f"{list(config.view_size)} [height, width] positive. Use e.g. data.views_per_scene=4 data.view_size=[60,80]."
            )
        if config.points_per_m2 <= 0 or config.train_scenes < 1 or min(config.val_scenes, config.test_scenes) < 0:
            raise DatasetError(
                "procedural-rooms: points_per_m2 must be > 0, train_scenes >= 1 and val/test_scenes >= 0. "
                "Use e.g. data.points_per_m2=300 data.train_scenes=24."
            )
        rng = np.random.default_rng(config.seed)
        scenes: dict[str, list[Scene]] = {}
        for split, count in (("train", config.train_scenes), ("val", config.val_scenes), ("test", config.test_scenes)):
            scenes[split] = [make_room(config, rng, f"room-{split}-{i}") for i in track(range(count), f"data: generating {split} rooms", unit="rooms")]
        super().__init__(
            "procedural-rooms",
            scenes,
            grid_size=config.grid_size,
            task="segmentation",
            class_names=CLASS_NAMES,
            normals=True,
            seed=config.seed,
        )
