"""New point-cloud and mesh files -> a batch, featurised as the run's dataset featurised its scenes.

The ``input_transform`` of every point-cloud dataset: ``point_inputs(config, state)`` rebuilds
:class:`PointInputs` from :meth:`.base.SceneSource.preprocessing_state`. Files are read with
:func:`selfsup_pointcloud.io.read_points_file` (clouds as they are; meshes, e.g. uncoloured
OBJ/OFF/STL or PLY with faces, sampled to ``mesh_points`` surface points with the run's seed);
``normalize_extent`` rescales as ``point-files`` did; ``feat`` is the normalised colour (zeros
without colour) followed, when the run used normals, by the file's normals or open3d estimates
(radius ``2.5 × grid_size``). Every point is kept (no grid sampling: the encoder voxelises
internally and interpolates back to each point), so the embeddings are one row per point, in the
file's order (for meshes, in the order of the sampled points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.errors import CheckpointError, DatasetError

from ..io import MESH_SUFFIXES, POINT_CLOUD_SUFFIXES, read_points_file
from ..transforms import normalize_color
from .base import Scene, _estimate_normals, check_scene, collate_scenes

__all__ = ["PointInputs", "point_inputs", "POINT_SUFFIXES"]

#: Files a folder is searched for.
POINT_SUFFIXES = tuple(sorted(set(POINT_CLOUD_SUFFIXES) | set(MESH_SUFFIXES)))


class PointInputs:
    """``read(path)``: a cloud or mesh file, or a folder searched recursively -> ``(relative path,
    file)``; ``batch(files)`` -> ``{"coord": float32 [N, 3], "feat": float32 [N, C], "batch": int64 [N]}``
    and the point count of each file."""

    def __init__(
        self, *, grid_size: float, normals: bool, mesh_points: int = 20000, seed: int = 0,
        normalize_extent: float | None = None, reader: str = "points", config: Any = None,
    ) -> None:
        self.reader, self.config = reader, config
        self.grid_size, self.normals = float(grid_size), bool(normals)
        self.mesh_points, self.seed = int(mesh_points), int(seed)
        self.normalize_extent = None if normalize_extent is None else float(normalize_extent)

    def read(self, source: Any) -> list[tuple[str, Any]]:
        root = Path(source)
        if root.is_file():
            return [(root.name, root)]
        if not root.is_dir():
            raise DatasetError(f"data.root={str(root)!r} does not exist. Point it at a point-cloud/mesh file or a folder.")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in POINT_SUFFIXES)
        if not files:
            raise DatasetError(f"No point-cloud or mesh files ({' '.join(POINT_SUFFIXES)}) under {str(root)!r}.")
        return [(p.relative_to(root).as_posix(), p) for p in files]

    def _read(self, path: Path) -> Scene:
        if self.reader == "modelnet":
            from .modelnet import ModelNet

            if path.suffix.lower() != ".off":
                raise DatasetError(f"{str(path)!r}: a modelnet run embeds .off meshes, as ModelNet ships them.")
            return ModelNet._read(path, 0, self.config)
        return read_points_file(path, mesh_points=self.mesh_points, seed=self.seed)

    def featurise(self, scene: Scene) -> dict[str, torch.Tensor]:
        """``{"coord", "feat"}`` of one checked scene, every point kept."""
        scene = check_scene(scene)
        coord = np.ascontiguousarray(scene.coord, dtype=np.float32)
        if self.normalize_extent is not None:
            extent = float(np.linalg.norm(coord.max(0) - coord.min(0)))
            coord = ((coord - coord.min(0)) * (self.normalize_extent / max(extent, 1e-12))).astype(np.float32)
        color = scene.color if scene.color is not None else np.zeros((coord.shape[0], 3), np.float32)
        parts = [normalize_color(torch.from_numpy(np.ascontiguousarray(color, dtype=np.float32)))]
        if self.normals:
            normal = scene.normal if scene.normal is not None else _estimate_normals(coord, radius=2.5 * self.grid_size)
            parts.append(torch.from_numpy(np.ascontiguousarray(normal, dtype=np.float32)))
        return {"coord": torch.from_numpy(coord), "feat": torch.cat(parts, dim=1).float()}

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        prepared = [self.featurise(self._read(Path(path))) for path in items]
        return collate_scenes(prepared), [int(p["coord"].shape[0]) for p in prepared]


def point_inputs(config: Any, state: Mapping[str, Any]) -> PointInputs:
    """``DatasetSpec.input_transform`` of the point-cloud datasets."""
    if "grid_size" not in state or "normals" not in state:
        raise CheckpointError(
            "The run's preprocessing.json lacks the point featurisation (grid_size, normals): it predates "
            "saved preprocessing. Pretrain it again to embed new point clouds."
        )
    keys = ("grid_size", "normals", "mesh_points", "seed", "normalize_extent", "reader")
    return PointInputs(**{k: state[k] for k in keys if k in state}, config=config)
