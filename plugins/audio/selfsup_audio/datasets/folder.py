"""A generic folder of labelled audio (WAV or FLAC), labelled in one of two ways:

* **sub-folders**: ``root/<class>/<file>.{wav,flac}``; with ``root/train/<class>/...`` and
  ``root/test/<class>/...`` those are the splits;
* **a CSV** (``labels_csv``): rows ``file,label`` with ``file`` relative to ``root`` (or absolute)
  and an optional ``split`` column (``train``, ``val`` or ``test``) that fixes the splits.

Without fixed splits a seeded, class-stratified ``test_fraction`` is held out; without a
fixed ``val`` split, ``val_fraction`` of train becomes ``val``. Unreadable files (and CSV rows
whose file is missing) are skipped with one warning and counted in ``info["skipped"]``
(names and reasons in ``info["skipped_reasons"]``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from selfsup.errors import ConfigError, DatasetError

from ..configs import AudioFolderConfig
from .source import AudioSource, check_features, files_with_suffix, load_files, skip_summary, stratified_split

__all__ = ["AudioFolder", "AudioFolderConfig", "read_labels_csv"]

SPLIT_NAMES = ("train", "val", "test")


def _scan(folder: Path, suffixes: list[str]) -> dict[str, list[Path]]:
    return {
        d.name: files_with_suffix(d, suffixes)
        for d in sorted(folder.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    }


def read_labels_csv(csv_path: Path, root: Path) -> tuple[list[Path], list[str], list[str] | None]:
    """``(paths, labels, splits or None)`` of a ``file,label[,split]`` CSV; bad content is a DatasetError."""
    if not csv_path.is_file():
        raise DatasetError(f"data.labels_csv={str(csv_path)!r} does not exist. Give a CSV with file,label columns.")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in reader.fieldnames or []]
        if "file" not in fields or "label" not in fields:
            raise DatasetError(
                f"{str(csv_path)!r} has columns {fields}; it needs a header with 'file' and 'label' "
                "(and optionally 'split'), e.g. 'file,label' then 'dog/1.wav,dog'."
            )
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    if not rows:
        raise DatasetError(f"{str(csv_path)!r} has a header but no rows. Add one row per audio file.")
    for number, row in enumerate(rows, start=2):
        if not row["file"] or not row["label"]:
            raise DatasetError(f"{str(csv_path)!r} line {number}: empty 'file' or 'label'. Fill both or drop the row.")
        if "split" in fields and row.get("split") not in SPLIT_NAMES:
            raise DatasetError(
                f"{str(csv_path)!r} line {number}: split={row.get('split')!r} is not one of {SPLIT_NAMES}. "
                "Fix the value, or drop the 'split' column for seeded splits."
            )
    paths = [Path(r["file"]) if Path(r["file"]).is_absolute() else root / r["file"] for r in rows]
    splits = [r["split"] for r in rows] if "split" in fields else None
    return paths, [r["label"] for r in rows], splits


class AudioFolder(AudioSource):
    def __init__(self, config: AudioFolderConfig | None = None) -> None:
        config = config if config is not None else AudioFolderConfig()
        check_features(config)
        if config.root is None:
            raise ConfigError(
                "data.root is not set: point it at a folder with one sub-folder per class (or a CSV's files)."
            )
        root = Path(config.root)
        if not root.is_dir():
            raise DatasetError(f"Audio folder {str(root)!r} does not exist. Set data.root to an existing folder.")
        if config.labels_csv is not None:
            csv_path = Path(config.labels_csv)
            paths, names, origin_list = read_labels_csv(csv_path if csv_path.is_absolute() else root / csv_path, root)
            classes = sorted(set(names))
            labels = [classes.index(n) for n in names]
            origin = origin_list or ["all"] * len(paths)
        else:
            paths, labels, origin, classes = _from_subfolders(root, config.extensions)
        features, frames, kept, skipped = load_files(paths, config)
        if not kept:
            raise DatasetError(f"None of the {len(paths)} audio files in {str(root)!r} could be read: {skipped[:3]}")
        y = np.array([labels[i] for i in kept])
        where = np.array([origin[i] for i in kept])
        fixed = bool((where != "all").any())
        if fixed:
            test, val, train_all = (np.flatnonzero(where == name) for name in ("test", "val", "train"))
        else:
            test, train_all = stratified_split(y, config.test_fraction, [config.split_seed, 2])
            val = np.zeros(0, dtype=np.int64)
        if not len(val):
            val_rel, train_rel = stratified_split(y[train_all], config.val_fraction, [config.split_seed, 1])
            val, train_all = train_all[val_rel], train_all[train_rel]
        splits = {"train": train_all, "val": val, "test": test}
        self.config = config
        self.build(
            config, features, frames, torch.from_numpy(y), splits, classes=classes,
            info={"name": f"audio-folder:{root.name}", "num_clips": len(kept), "labels": (
                "csv" if config.labels_csv is not None else "sub-folders"), **skip_summary(skipped, len(paths))},
        )


def _from_subfolders(root: Path, extensions: str) -> tuple[list[Path], list[int], list[str], list[str]]:
    suffixes = [e.strip() if e.strip().startswith(".") else "." + e.strip() for e in extensions.split(",") if e.strip()]
    has_splits = (root / "train").is_dir() and (root / "test").is_dir()
    parts = {"train": _scan(root / "train", suffixes), "test": _scan(root / "test", suffixes)} if has_splits else {
        "all": _scan(root, suffixes)
    }
    classes = sorted({c for part in parts.values() for c, files in part.items() if files})
    if not classes:
        raise DatasetError(
            f"No audio files ({', '.join(suffixes)}) in class sub-folders of {str(root)!r}. "
            "Put them in root/<class>/, or list them in a CSV and set data.labels_csv."
        )
    paths, labels, origin = [], [], []
    for part, by_class in parts.items():
        for cls, files in by_class.items():
            if cls in classes:
                paths += files
                labels += [classes.index(cls)] * len(files)
                origin += [part] * len(files)
    return paths, labels, origin, classes
