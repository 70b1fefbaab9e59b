"""Scenes, the shared scene data source, and the checks every reader applies.

A :class:`Scene` is one point cloud in numpy (``coord`` metres, ``color`` 0..255,
optional ``normal`` and labels). :class:`SceneSource` grid-samples every scene
once at ``grid_size``, estimates normals where asked, and serves items

``{"coord": float32 [n, 3], "feat": float32 [n, C], "label": int64 [n] (per point) or [] (per scene)}``

which :meth:`SceneSource.collate` concatenates into a batch with ``"batch"``
(long ``[N]``, the scene of each point) and, for per-point labels,
``"eval_mask"`` (label >= 0; -1 marks unlabelled points).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from selfsup.errors import DatasetError
from selfsup.interfaces import Batch, DataSource
from selfsup.progress import track
from selfsup.tasks import declare_task

from ..ops import grid_sample
from ..transforms import normalize_color

__all__ = ["VIEW_KEYS", "Scene", "SceneSplit", "SceneSource", "check_scene", "collate_scenes", "skip_bad"]


@dataclass
class Scene:
    """One point cloud: ``coord`` float ``[n, 3]``; ``color`` 0..255 ``[n, 3]`` or ``None``;
    ``normal`` ``[n, 3]`` or ``None``; ``label`` int ``[n]`` (per point, -1 = unlabelled), an
    int (the scene's class) or ``None``."""

    name: str
    coord: np.ndarray
    color: np.ndarray | None = None
    normal: np.ndarray | None = None
    label: np.ndarray | int | None = None
    #: Posed RGB-D views (see :mod:`selfsup_pointcloud.views`): ``VIEW_KEYS`` -> tensors with a leading view axis.
    views: dict[str, torch.Tensor] | None = None


#: Keys of posed views in items and batches: ``intrinsics [V, 3, 3]``, ``world_to_camera [V, 4, 4]``,
#: ``image [V, 3, H, W]`` (0..1) and ``depth [V, H, W]`` (metres, 0 = no hit); batches stack them to ``[B, V, ...]``.
VIEW_KEYS = ("intrinsics", "world_to_camera", "image", "depth")


def check_scene(scene: Scene) -> Scene:
    """Raise :class:`DatasetError` if a scene is empty, has non-finite values, or arrays of mismatched lengths."""
    n = scene.coord.shape[0] if scene.coord.ndim == 2 else -1
    if scene.coord.ndim != 2 or scene.coord.shape[1] != 3:
        raise DatasetError(
            f"{scene.name}: coordinates have shape {scene.coord.shape}, expected [n, 3]. "
            "Give x, y, z per point."
        )
    if n == 0:
        raise DatasetError(f"{scene.name}: the point cloud is empty. Remove the file or re-export it with its points.")
    if not np.isfinite(scene.coord).all():
        bad = int((~np.isfinite(scene.coord)).any(axis=1).sum())
        raise DatasetError(
            f"{scene.name}: {bad} of {n} points have NaN or infinite coordinates. "
            "Remove those points (e.g. pcd.remove_non_finite_points() in open3d) and save the file again."
        )
    for field_name in ("color", "normal"):
        values = getattr(scene, field_name)
        if values is not None and values.shape != (n, 3):
            raise DatasetError(
                f"{scene.name}: {field_name} has shape {values.shape} but the cloud has {n} points. "
                f"Give one {field_name} per point."
            )
    if isinstance(scene.label, np.ndarray) and scene.label.shape != (n,):
        raise DatasetError(
            f"{scene.name}: the label file has {scene.label.shape[0] if scene.label.ndim else 0} entries but the "
            f"cloud has {n} points. Use the label file that belongs to this cloud (one label per point)."
        )
    return scene


def skip_bad(name: str, error: DatasetError, skipped: list[str]) -> None:
    """Count a bad file as skipped and warn with the reason."""
    skipped.append(name)
    warnings.warn(f"Skipping {name}: {error}", RuntimeWarning, stacklevel=3)


def _estimate_normals(coord: np.ndarray, radius: float) -> np.ndarray:
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(coord.astype(np.float64)))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=radius, max_nn=16))
    return np.asarray(cloud.normals, dtype=np.float32)


class SceneSplit(torch.utils.data.Dataset):
    """A list of prepared scenes: item ``i`` is ``{"coord", "feat"[, "label"]}`` (see the module docstring)."""

    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.items[index]


class RawPointFeatures(nn.Module):
    """A parameter-free "encoder": ``batch -> [coord, feat]`` per point (the raw-feature baseline)."""

    def __init__(self, feature_channels: int) -> None:
        super().__init__()
        self.embed_dim = 3 + int(feature_channels)

    def forward(self, batch: Batch) -> torch.Tensor:
        return torch.cat([batch["coord"].float(), batch["feat"].float()], dim=1)


def collate_scenes(items: Sequence[Batch] | Batch) -> Batch:
    """Concatenate scene items; add ``batch`` and (per-point labels) ``eval_mask``."""
    if isinstance(items, dict):
        return items
    items = list(items)
    batch: Batch = {
        "coord": torch.cat([item["coord"] for item in items]),
        "feat": torch.cat([item["feat"] for item in items]),
        "batch": torch.cat(
            [torch.full((item["coord"].shape[0],), i, dtype=torch.long) for i, item in enumerate(items)]
        ),
    }
    for key in VIEW_KEYS:
        if items and key in items[0]:
            batch[key] = torch.stack([item[key] for item in items])
    if items and "label" in items[0]:
        if items[0]["label"].ndim == 0:
            batch["label"] = torch.stack([item["label"] for item in items])
        else:
            batch["label"] = torch.cat([item["label"] for item in items])
            batch["eval_mask"] = batch["label"] >= 0
    return batch


class SceneSource(DataSource):
    """Named splits of :class:`Scene` objects, grid-sampled once at ``grid_size``.

    ``task`` is ``"segmentation"`` (per-point labels), ``"classification"``
    (one label per scene) or ``"none"``. ``feat`` is the normalised colour
    (``color / 127.5 - 1``, zeros when a scene has none), followed by the
    normal when ``normals`` is true (open3d estimates missing ones).
    """

    def __init__(
        self,
        name: str,
        scenes: dict[str, list[Scene]],
        *,
        grid_size: float,
        task: str,
        class_names: Sequence[str] = (),
        normals: bool = True,
        skipped: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        if grid_size <= 0:
            raise DatasetError(f"{name}: grid_size={grid_size} must be > 0 (metres). Set data.grid_size, e.g. 0.05.")
        if not scenes.get("train"):
            raise DatasetError(
                f"{name}: no usable scenes for the train split"
                f"{f' ({len(skipped)} skipped as unreadable)' if skipped else ''}. "
                "Point data.root at the dataset folder (see the plugin README for the layout)."
            )
        self.splits = tuple(split for split in ("train", "val", "test") if scenes.get(split))
        self.name = name
        self.normals = normals
        generator = torch.Generator().manual_seed(seed)
        self._splits = {
            split: SceneSplit(
                [self._prepare(scene, grid_size, generator) for scene in track(items, f"data: featurising {split} clouds", unit="clouds")]
            )
            for split, items in scenes.items()
            if items
        }
        self.info: dict[str, Any] = {
            "name": name,
            "task": task,
            "grid_size": grid_size,
            "feature_channels": 6 if normals else 3,
            "num_scenes": {split: len(ds) for split, ds in self._splits.items()},
            "skipped": len(skipped),
        }
        if class_names:
            self.info["num_classes"] = len(class_names)
            self.info["class_names"] = list(class_names)
        if task in ("segmentation", "classification") and class_names:
            # per-point labels (segmentation) or one label per cloud (classification)
            declare_task(self.info, "multiclass", num_classes=len(class_names), level="point" if task == "segmentation" else "shape")
        elif task == "none":
            declare_task(self.info, "none")

    def _prepare(self, scene: Scene, grid_size: float, generator: torch.Generator) -> dict[str, torch.Tensor]:
        coord = torch.from_numpy(np.ascontiguousarray(scene.coord, dtype=np.float32))
        keep, _ = grid_sample(coord, torch.zeros(coord.shape[0], dtype=torch.long), grid_size, generator=generator)
        keep = keep.numpy()
        color = scene.color[keep] if scene.color is not None else np.zeros((keep.shape[0], 3), np.float32)
        parts = [normalize_color(torch.from_numpy(np.ascontiguousarray(color, dtype=np.float32)))]
        if self.normals:
            if scene.normal is not None:
                normal = scene.normal[keep].astype(np.float32)
            else:
                normal = _estimate_normals(scene.coord[keep], radius=2.5 * grid_size)
            parts.append(torch.from_numpy(np.ascontiguousarray(normal)))
        item = {"coord": coord[keep].contiguous(), "feat": torch.cat(parts, dim=1).float()}
        if scene.views is not None:
            item.update({key: scene.views[key] for key in VIEW_KEYS})
        if isinstance(scene.label, np.ndarray):
            item["label"] = torch.from_numpy(scene.label[keep].astype(np.int64))
        elif scene.label is not None:
            item["label"] = torch.tensor(int(scene.label), dtype=torch.long)
        return item

    #: How new files are read for ``selfsup embed``: ``"points"`` (``read_points_file``) or
    #: ``"modelnet"`` (OFF meshes sampled, farthest-point reduced and scaled as ``modelnet`` does).
    input_reader = "points"

    def preprocessing_state(self) -> dict[str, Any]:
        """The featurisation new files get (``selfsup embed``): grid size, normals, and the
        mesh sampling and rescaling of sources that set ``mesh_points`` / ``normalize_extent``."""
        state: dict[str, Any] = {"grid_size": self.info["grid_size"], "normals": self.normals, "reader": self.input_reader}
        config = getattr(self, "config", None)
        for key in ("mesh_points", "seed", "normalize_extent"):
            if hasattr(config, key):
                state[key] = getattr(config, key)
        return state

    def split(self, name: str) -> SceneSplit:
        if name not in self._splits:
            raise KeyError(name)
        return self._splits[name]

    def collate(self, items: Sequence[Batch] | Batch) -> Batch:
        return collate_scenes(items)

    def raw_feature_encoder(self) -> nn.Module:
        """The raw-feature baseline (:class:`selfsup.tasks.RawFeatureSource`): each point's
        coordinates and input features (colour, normal), ``[points, 3 + feature_channels]``."""
        return RawPointFeatures(int(self.info["feature_channels"]))
