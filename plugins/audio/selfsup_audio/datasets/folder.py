"""A generic folder of labelled audio: ``root/<class>/<file>.{wav,flac}``.

With ``root/train/<class>/...`` and ``root/test/<class>/...`` those are the splits;
otherwise a seeded stratified ``test_fraction`` is held out. ``val_fraction`` of train
becomes ``val``. Unreadable files are skipped with one warning and counted in
``info["skipped_files"]`` (names and reasons in ``info["skipped"]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from selfsup.errors import ConfigError, DatasetError

from ..configs import AudioFolderConfig
from .source import AudioSource, check_features, files_with_suffix, load_files, stratified_split

__all__ = ["AudioFolder", "AudioFolderConfig"]


def _scan(folder: Path, suffixes: list[str]) -> dict[str, list[Path]]:
    return {
        d.name: files_with_suffix(d, suffixes)
        for d in sorted(folder.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    }


class AudioFolder(AudioSource):
    def __init__(self, config: AudioFolderConfig | None = None) -> None:
        config = config if config is not None else AudioFolderConfig()
        check_features(config)
        if config.root is None:
            raise ConfigError("data.root is not set: point it at a folder with one sub-folder per class.")
        root = Path(config.root)
        if not root.is_dir():
            raise DatasetError(f"Audio folder {str(root)!r} does not exist.")
        suffixes = [s.strip() if s.strip().startswith(".") else "." + s.strip() for s in config.extensions.split(",")]
        has_splits = (root / "train").is_dir() and (root / "test").is_dir()
        parts = {"train": _scan(root / "train", suffixes), "test": _scan(root / "test", suffixes)} if has_splits else {
            "all": _scan(root, suffixes)
        }
        classes = sorted({c for part in parts.values() for c, files in part.items() if files})
        if not classes:
            raise DatasetError(f"No audio files ({', '.join(suffixes)}) in class sub-folders of {str(root)!r}.")
        paths, labels, origin = [], [], []
        for part, by_class in parts.items():
            for cls, files in by_class.items():
                if cls in classes:
                    paths += files
                    labels += [classes.index(cls)] * len(files)
                    origin += [part] * len(files)
        features, frames, kept, skipped = load_files(paths, config)
        if not kept:
            raise DatasetError(f"None of the {len(paths)} audio files in {str(root)!r} could be read: {skipped[:3]}")
        y = np.array([labels[i] for i in kept])
        where = np.array([origin[i] for i in kept])
        if has_splits:
            test = np.flatnonzero(where == "test")
            train_all = np.flatnonzero(where == "train")
        else:
            test, train_all = stratified_split(y, config.test_fraction, [config.split_seed, 2])
        val_rel, train_rel = stratified_split(y[train_all], config.val_fraction, [config.split_seed, 1])
        splits = {"train": train_all[train_rel], "val": train_all[val_rel], "test": test}
        self.config = config
        self.build(
            config, features, frames, torch.from_numpy(y), splits, classes=classes,
            info={"name": f"audio-folder:{root.name}", "num_clips": len(kept), "skipped_files": len(skipped),
                  "skipped": skipped[:20]},
        )
