"""``point-files``: every point cloud or mesh file under ``root``, unlabelled (pretraining, smoke tests).

Point clouds (``.ply .pcd .xyz .xyzn .xyzrgb .pts``) are read as they are; meshes (``.obj
.off .stl``, and ``.ply`` files with faces) are sampled to ``mesh_points`` surface points
(:func:`selfsup_pointcloud.io.read_points_file`). Unreadable files (empty, NaN
coordinates, meshes without faces) are skipped, counted in ``info["skipped"]`` and warned
about. Every file is a ``train`` scene; there are no labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from selfsup.errors import DatasetError

from ..configs import PointFilesConfig
from ..io import MESH_SUFFIXES, POINT_CLOUD_SUFFIXES, read_points_file
from .base import Scene, SceneSource
from .readers import read_all, require_root

__all__ = ["PointFiles"]

_SUFFIXES = tuple(sorted(set(POINT_CLOUD_SUFFIXES) | set(MESH_SUFFIXES)))


class PointFiles(SceneSource):
    """See the module docstring and :class:`~selfsup_pointcloud.configs.PointFilesConfig`."""

    def __init__(self, config: PointFilesConfig) -> None:
        self.config = config  # preprocessing_state() saves mesh_points, seed, normalize_extent
        root = require_root("point-files", config.root, f"a folder of {' '.join(_SUFFIXES)} files")
        paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        if not paths:
            raise DatasetError(f"point-files: no {' '.join(_SUFFIXES)} files under {root}. Check data.root.")
        skipped: list[str] = []

        def read(path: Path) -> Scene:
            scene = read_points_file(path, mesh_points=config.mesh_points, seed=config.seed)
            if config.normalize_extent is not None:
                extent = float(np.linalg.norm(scene.coord.max(0) - scene.coord.min(0)))
                scene.coord = (scene.coord - scene.coord.min(0)) * (config.normalize_extent / max(extent, 1e-12))
            return scene

        scenes = {"train": read_all(paths, read, skipped)}
        super().__init__(
            "point-files", scenes, grid_size=config.grid_size, task="none", normals=config.normals,
            skipped=skipped, seed=config.seed,
        )
