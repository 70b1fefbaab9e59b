"""``modelnet``: ModelNet10 / ModelNet40 in the Princeton release layout, ``root/<class>/{train,test}/<name>.off``.

Each mesh is sampled uniformly on its surface by open3d (``oversample * num_points``
points, with the triangle normals), reduced to ``num_points`` by farthest-point
sampling, centred and scaled into the unit sphere (the PointNet++ preprocessing).
Items carry one label per shape (``task = "classification"``). Some release files put the
counts on the ``OFF`` line (``OFF490 518 0``); :func:`read_off_mesh` reads those too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from selfsup.errors import DatasetError

from ..configs import ModelNetConfig
from ..io import read_off_mesh
from ..ops import farthest_point_sampling
from .base import Scene, SceneSource, check_scene
from .readers import read_all, require_root

__all__ = ["ModelNet", "read_off_mesh", "sample_mesh"]

_LAYOUT = "root/<class>/{train,test}/<name>.off"


def sample_mesh(vertices: np.ndarray, faces: np.ndarray, count: int, seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``count`` area-uniform surface points and their triangle normals, by open3d."""
    import open3d as o3d

    if faces.shape[0] == 0:
        raise DatasetError(f"{name}: the mesh has no faces, so no surface to sample. Export it with its faces.")
    if not np.isfinite(vertices).all():
        raise DatasetError(f"{name}: the mesh has NaN or infinite vertices. Repair or re-export it.")
    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(vertices), o3d.utility.Vector3iVector(faces.astype(np.int32)))
    mesh.compute_triangle_normals()
    o3d.utility.random.seed(int(seed))
    cloud = mesh.sample_points_uniformly(number_of_points=int(count), use_triangle_normal=True)
    return np.asarray(cloud.points, dtype=np.float32), np.asarray(cloud.normals, dtype=np.float32)


class ModelNet(SceneSource):
    """See the module docstring and :class:`~selfsup_pointcloud.configs.ModelNetConfig`."""

    input_reader = "modelnet"

    def __init__(self, config: ModelNetConfig) -> None:
        root = require_root("modelnet", config.root, _LAYOUT)
        if config.num_points < 1 or config.oversample < 1:
            raise DatasetError("modelnet: num_points and oversample must be >= 1. Use e.g. data.num_points=1024.")
        classes = sorted(p.name for p in root.iterdir() if p.is_dir() and ((p / "train").is_dir() or (p / "test").is_dir()))
        if not classes:
            raise DatasetError(f"modelnet: no class folders under {root}. Use the layout {_LAYOUT}.")
        skipped: list[str] = []
        scenes: dict[str, list[Scene]] = {}
        for split in ("train", "test"):
            files: list[tuple[Path, int]] = []
            for label, name in enumerate(classes):
                paths = sorted((root / name / split).glob("*.off"))
                files.extend((p, label) for p in paths[: config.max_per_class])
            scenes[split] = read_all(files, lambda item: self._read(item[0], item[1], config), skipped)
        super().__init__(
            "modelnet", scenes, grid_size=config.grid_size, task="classification", class_names=classes,
            normals=config.normals, skipped=skipped, seed=config.seed,
        )

    @staticmethod
    def _read(path: Path, label: int, config: ModelNetConfig) -> Scene:
        vertices, faces = read_off_mesh(path)
        coord, normal = sample_mesh(vertices, faces, config.num_points * config.oversample, config.seed, str(path))
        chosen = farthest_point_sampling(torch.from_numpy(coord), min(config.num_points, coord.shape[0])).numpy()
        coord, normal = coord[chosen], normal[chosen]
        coord = coord - coord.mean(axis=0)
        coord = coord / max(float(np.linalg.norm(coord, axis=1).max()), 1e-12)
        return check_scene(Scene(name=str(path), coord=coord.astype(np.float32), normal=normal, label=label))
