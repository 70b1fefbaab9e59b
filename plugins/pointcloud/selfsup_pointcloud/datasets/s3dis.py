"""``s3dis``: the Stanford Large-Scale 3D Indoor Spaces dataset in its released layout.

``root/Area_N/<room>/<room>.txt`` holds ``x y z r g b`` per line; ``root/Area_N/<room>/Annotations/
<class>_<i>.txt`` holds the points of one object of ``<class>`` (the union of a room's
annotation files is the room). Labels come from the annotation file names (13 classes;
``stairs``, which appears in a few rooms, counts as ``clutter`` as in the common
preprocessing scripts). A room without ``Annotations/`` is read from its ``<room>.txt``,
unlabelled. Area ``test_area`` is the test split (the Area-5 protocol).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from selfsup.errors import DatasetError

from ..configs import S3DISConfig
from .base import Scene, SceneSource, check_scene
from .readers import read_all, require_root

__all__ = ["CLASS_NAMES", "S3DIS", "read_s3dis_txt", "read_s3dis_room"]

CLASS_NAMES = (
    "ceiling", "floor", "wall", "beam", "column", "window", "door",
    "table", "chair", "sofa", "bookcase", "board", "clutter",
)
_CLASS_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)} | {"stairs": CLASS_NAMES.index("clutter")}
_LAYOUT = "root/Area_N/<room>/<room>.txt with Annotations/<class>_<i>.txt"


def read_s3dis_txt(path: Path) -> np.ndarray:
    """A ``[n, 6]`` float32 array of ``x y z r g b`` rows (stray non-numeric bytes, as in Area_5/hallway_6, are dropped)."""
    raw = path.read_bytes()
    clean = re.sub(rb"[^0-9eE+\-.\s]", b"", raw)
    values = np.array(clean.split(), dtype=np.float32)
    if values.size == 0 or values.size % 6:
        raise DatasetError(
            f"{path}: expected 6 numbers (x y z r g b) per line, found {values.size} numbers in all. Re-extract the file."
        )
    return values.reshape(-1, 6)


def read_s3dis_room(room: Path) -> Scene:
    """One room, labelled from its ``Annotations/`` folder when there is one."""
    annotations = sorted((room / "Annotations").glob("*.txt")) if (room / "Annotations").is_dir() else []
    if annotations:
        parts, labels = [], []
        for path in annotations:
            kind = path.stem.rsplit("_", 1)[0].lower()
            if kind not in _CLASS_INDEX:
                raise DatasetError(
                    f"{path}: unknown S3DIS class {kind!r}. Expected one of {', '.join(CLASS_NAMES)} (file <class>_<i>.txt)."
                )
            rows = read_s3dis_txt(path)
            parts.append(rows)
            labels.append(np.full(rows.shape[0], _CLASS_INDEX[kind], dtype=np.int64))
        table, label = np.concatenate(parts), np.concatenate(labels)
    else:
        whole = room / f"{room.name}.txt"
        if not whole.is_file():
            raise DatasetError(f"{room}: neither Annotations/ nor {whole.name}. Use the S3DIS layout ({_LAYOUT}).")
        table = read_s3dis_txt(whole)
        label = np.full(table.shape[0], -1, dtype=np.int64)
    return check_scene(Scene(name=f"{room.parent.name}/{room.name}", coord=table[:, :3], color=table[:, 3:6], label=label))


class S3DIS(SceneSource):
    """See the module docstring and :class:`~selfsup_pointcloud.configs.S3DISConfig`."""

    def __init__(self, config: S3DISConfig) -> None:
        root = require_root("s3dis", config.root, _LAYOUT)
        areas = sorted(p for p in root.glob("Area_*") if p.is_dir())
        if not areas:
            raise DatasetError(f"s3dis: no Area_N folders under {root}. Point data.root at the folder holding Area_1..Area_6.")
        rooms: dict[str, list[Path]] = {"train": [], "test": []}
        for area in areas:
            split = "test" if area.name == f"Area_{config.test_area}" else "train"
            rooms[split].extend(sorted(p for p in area.iterdir() if p.is_dir()))
        if config.max_scenes is not None:
            rooms = {split: paths[: config.max_scenes] for split, paths in rooms.items()}
        skipped: list[str] = []
        scenes = {split: read_all(paths, read_s3dis_room, skipped) for split, paths in rooms.items()}
        super().__init__(
            "s3dis", scenes, grid_size=config.grid_size, task="segmentation", class_names=CLASS_NAMES,
            normals=config.normals, skipped=skipped,
        )
