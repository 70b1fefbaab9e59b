"""``scannet``: ScanNet v2 scenes in the raw release layout or the common preprocessed layouts.

Raw release (``root/scans/<scene>/``): ``<scene>_vh_clean_2.ply`` (the mesh whose vertices
are the points, with ``red green blue``) and ``<scene>_vh_clean_2.labels.ply`` (the same
vertices with a ``label`` property holding NYU40 ids). Splits come from the official
``root/scannetv2_train.txt`` / ``scannetv2_val.txt`` lists.

Preprocessed (Pointcept): ``root/{train,val,test}/<scene>/coord.npy, color.npy`` (0..255),
optional ``normal.npy`` and ``segment20.npy`` (0..19, -1 ignored); or one
``root/{train,val}/<scene>.pth`` per scene holding a dict with ``coord``, ``color``,
optional ``normal`` and ``semantic_gt20``/``segment20``, or the PointGroup tuple
``(coords, colors in [-1, 1], labels with -100 ignored)``.

Labels are the 20 benchmark classes (NYU40 ids mapped; all others -1). ScanNet's official
``val`` scenes are this source's ``test`` split (the split every paper reports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from selfsup.errors import DatasetError

from ..configs import ScanNetConfig
from ..io import read_ply_vertices
from .base import Scene, SceneSource, check_scene
from .readers import read_all, require_root

__all__ = ["CLASS_NAMES", "NYU40_IDS", "ScanNet", "nyu40_to_scannet20", "read_raw_scene", "load_npy", "read_npy_scene", "read_pth_scene"]

CLASS_NAMES = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "desk", "curtain", "refrigerator", "shower curtain", "toilet", "sink",
    "bathtub", "otherfurniture",
)
#: The NYU40 ids of the 20 benchmark classes, in ``CLASS_NAMES`` order (ScanNet's ``VALID_CLASS_IDS``).
NYU40_IDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39)
_LAYOUT = "root/scans/<scene>/<scene>_vh_clean_2.ply + .labels.ply with scannetv2_{train,val}.txt, or root/{train,val}/<scene>/*.npy or .pth"
_SPLITS = {"train": "train", "val": "test", "test": "test"}


def nyu40_to_scannet20(labels: np.ndarray) -> np.ndarray:
    """NYU40 ids to 0..19 (``CLASS_NAMES`` order); every other id to -1."""
    table = np.full(max(NYU40_IDS) + 2, -1, dtype=np.int64)
    table[list(NYU40_IDS)] = np.arange(len(NYU40_IDS))
    labels = labels.astype(np.int64)
    inside = (labels >= 0) & (labels < table.shape[0])
    return np.where(inside, table[np.clip(labels, 0, table.shape[0] - 1)], -1)


def read_raw_scene(folder: Path) -> Scene:
    """A raw ScanNet scene: mesh vertices, colours and (when the labels file exists) mapped labels."""
    mesh = folder / f"{folder.name}_vh_clean_2.ply"
    vertices = read_ply_vertices(mesh)
    missing = [key for key in ("x", "y", "z", "red", "green", "blue") if key not in vertices]
    if missing:
        raise DatasetError(f"{mesh}: vertex properties {missing} are missing. Use the release's _vh_clean_2.ply.")
    coord = np.stack([vertices["x"], vertices["y"], vertices["z"]], axis=1).astype(np.float32)
    color = np.stack([vertices["red"], vertices["green"], vertices["blue"]], axis=1).astype(np.float32)
    label_file = folder / f"{folder.name}_vh_clean_2.labels.ply"
    label = None
    if label_file.is_file():
        values = read_ply_vertices(label_file)
        if "label" not in values:
            raise DatasetError(f"{label_file}: no 'label' vertex property. Use the release's .labels.ply file.")
        label = nyu40_to_scannet20(values["label"])
    else:
        label = np.full(coord.shape[0], -1, dtype=np.int64)
    return check_scene(Scene(name=folder.name, coord=coord, color=color, label=label))


def load_npy(path: Path) -> np.ndarray:
    """One numeric ``.npy`` array, never unpickled: an object array or a damaged file is a DatasetError."""
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:  # object arrays need pickle; a bad header or truncation
        raise DatasetError(
            f"{path}: not a numeric .npy array ({type(exc).__name__}: {exc}). "
            "Save it again with np.save(path, array) from a numeric (not object) array."
        ) from exc
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: holds dtype {getattr(array, 'dtype', type(array).__name__)}, not numbers. Save a numeric array.")
    return array


def read_npy_scene(folder: Path) -> Scene:
    """A Pointcept-preprocessed scene folder (``coord.npy``, ``color.npy``, optional ``normal.npy``, ``segment20.npy``)."""
    if not (folder / "coord.npy").is_file():
        raise DatasetError(f"{folder}: no coord.npy. Use Pointcept's preprocessed layout (coord.npy, color.npy, segment20.npy).")
    coord = load_npy(folder / "coord.npy").astype(np.float32)
    color = load_npy(folder / "color.npy").astype(np.float32) if (folder / "color.npy").is_file() else None
    normal = load_npy(folder / "normal.npy").astype(np.float32) if (folder / "normal.npy").is_file() else None
    segment = folder / "segment20.npy"
    label = load_npy(segment).reshape(-1).astype(np.int64) if segment.is_file() else np.full(coord.shape[0], -1, np.int64)
    return check_scene(Scene(name=folder.name, coord=coord, color=color, normal=normal, label=np.where(label < 0, -1, label)))


def _load_pth(path: Path) -> Any:
    import torch

    core = getattr(np, "_core", None) or np.core
    dtypes = [type(np.dtype(kind)) for kind in ("f4", "f8", "i8", "i4", "i2", "u1", "u2", "b1")]
    safe = [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray, np.dtype, *dtypes]
    try:
        with torch.serialization.safe_globals(safe):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file here
        raise DatasetError(
            f"{path}: cannot read it as a tensor/numpy .pth file ({type(exc).__name__}: {exc}). "
            "Use the npy layout, or save the scene as a dict of numpy arrays."
        ) from exc


def read_pth_scene(path: Path) -> Scene:
    """A ``.pth`` scene: a dict (``coord``, ``color``, ``normal``, ``semantic_gt20``/``segment20``) or PointGroup's tuple."""
    payload = _load_pth(path)
    as_array = lambda value: np.asarray(value.numpy() if hasattr(value, "numpy") else value)  # noqa: E731
    if isinstance(payload, dict):
        coord = as_array(payload["coord"]).astype(np.float32)
        color = as_array(payload["color"]).astype(np.float32) if "color" in payload else None
        normal = as_array(payload["normal"]).astype(np.float32) if "normal" in payload else None
        key = next((k for k in ("semantic_gt20", "segment20", "segment") if k in payload), None)
        label = as_array(payload[key]).reshape(-1).astype(np.int64) if key else np.full(coord.shape[0], -1, np.int64)
    elif isinstance(payload, (tuple, list)) and len(payload) >= 2:
        coord = as_array(payload[0]).astype(np.float32)
        color = (as_array(payload[1]).astype(np.float32) + 1.0) * 127.5  # PointGroup stores colours in [-1, 1]
        normal = None
        label = as_array(payload[2]).reshape(-1).astype(np.int64) if len(payload) > 2 else np.full(coord.shape[0], -1, np.int64)
    else:
        raise DatasetError(f"{path}: expected a dict or a (coords, colors, labels) tuple, got {type(payload).__name__}.")
    return check_scene(Scene(name=path.stem, coord=coord, color=color, normal=normal, label=np.where(label < 0, -1, label)))


def _raw_splits(root: Path) -> dict[str, list[Path]]:
    scans = root / "scans"
    out: dict[str, list[Path]] = {"train": [], "test": []}
    for official, ours in (("train", "train"), ("val", "test")):
        listing = root / f"scannetv2_{official}.txt"
        if listing.is_file():
            names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
            out[ours].extend(scans / name for name in names if (scans / name).is_dir())
    if not out["train"] and not out["test"]:
        raise DatasetError(
            f"scannet: {root} has scans/ but no scannetv2_train.txt / scannetv2_val.txt split lists (or none of "
            "their scenes exist). Copy the official split files next to scans/."
        )
    return out


class ScanNet(SceneSource):
    """See the module docstring and :class:`~selfsup_pointcloud.configs.ScanNetConfig`."""

    def __init__(self, config: ScanNetConfig) -> None:
        root = require_root("scannet", config.root, _LAYOUT)
        skipped: list[str] = []
        scenes: dict[str, list[Scene]] = {"train": [], "test": []}
        if (root / "scans").is_dir():
            for split, folders in _raw_splits(root).items():
                folders = folders[: config.max_scenes] if config.max_scenes is not None else folders
                scenes[split] = read_all(folders, read_raw_scene, skipped)
        else:
            for official, ours in _SPLITS.items():
                folder = root / official
                if not folder.is_dir() or scenes[ours]:
                    continue
                entries = sorted(p for p in folder.iterdir() if p.is_dir() or p.suffix == ".pth")
                entries = entries[: config.max_scenes] if config.max_scenes is not None else entries
                reader = lambda p: read_pth_scene(p) if p.suffix == ".pth" else read_npy_scene(p)  # noqa: E731
                scenes[ours] = read_all(entries, reader, skipped)
            if not any(scenes.values()) and not skipped:
                raise DatasetError(f"scannet: nothing under {root} in a known layout. Use one of: {_LAYOUT}.")
        super().__init__(
            "scannet", scenes, grid_size=config.grid_size, task="segmentation", class_names=CLASS_NAMES,
            normals=config.normals, skipped=skipped,
        )
