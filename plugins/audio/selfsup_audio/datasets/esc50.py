"""ESC-50: 2,000 five-second environmental recordings, 50 classes, 5 folds (Piczak, ACM MM 2015).

Layout of the official release (github.com/karolpiczak/ESC-50)::

    root/meta/esc50.csv    filename,fold,target,category,esc10,src_file,take
    root/audio/<filename>  5 s, 44.1 kHz, mono, 16-bit WAV

Clips are resampled to 16 kHz and turned into SSAST features padded or cut to
``target_length`` (512 frames = 5.12 s by default, as SSAST's ESC-50 recipe). Splits:
``fold`` is ``test``; ``val_fold`` is ``val`` when given, otherwise a seeded,
class-stratified ``val_fraction`` of the remaining folds; the rest is ``train``.
The five-fold protocol runs ``fold=1..5`` and averages. Items:
``{"x": [target_length, 128], "label": target, "fold": fold, "num_frames"}``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from selfsup.errors import ConfigError, DatasetError

from ..configs import ESC50Config
from .source import AudioSource, check_features, data_root, load_files, skip_summary, stratified_split

__all__ = ["ESC50", "ESC50Config", "read_meta"]

COLUMNS = ("filename", "fold", "target", "category")


def read_meta(csv_path: Path, *, esc10: bool = False) -> list[dict[str, str]]:
    """The rows of ``esc50.csv`` (only the ESC-10 ones with ``esc10``), checked for the needed columns."""
    try:
        with csv_path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(
                    f"{str(csv_path)!r} lacks the column(s) {missing}; ESC-50's meta/esc50.csv has "
                    f"{', '.join(COLUMNS)}, esc10, src_file, take. Use the file from the official release."
                )
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{str(csv_path)!r} is not a text CSV ({exc}). Use ESC-50's meta/esc50.csv.") from exc
    if esc10:
        rows = [r for r in rows if str(r.get("esc10", "")).strip().lower() == "true"]
    for number, row in enumerate(rows, start=2):
        if not (row["fold"].strip().isdigit() and row["target"].strip().isdigit()):
            raise DatasetError(
                f"{str(csv_path)!r} line {number}: fold={row['fold']!r} and target={row['target']!r} "
                "must be whole numbers. Fix or replace the file."
            )
    return rows


class ESC50(AudioSource):
    def __init__(self, config: ESC50Config | None = None) -> None:
        config = config if config is not None else ESC50Config()
        check_features(config)
        root = data_root(config.root, "esc50", "the ESC-50 release (github.com/karolpiczak/ESC-50)", "meta/esc50.csv and audio/*.wav")
        csv_path = root / "meta" / "esc50.csv"
        if not csv_path.is_file():
            raise DatasetError(
                f"ESC-50 not found: {str(csv_path)!r} does not exist. Unpack the release "
                "(github.com/karolpiczak/ESC-50) so that data.root holds meta/esc50.csv and audio/."
            )
        rows = read_meta(csv_path, esc10=config.esc10)
        if not rows:
            raise DatasetError(f"{str(csv_path)!r} lists no clips{' of ESC-10' if config.esc10 else ''}.")
        folds_present = sorted({int(r["fold"]) for r in rows})
        if config.fold not in folds_present:
            raise ConfigError(f"data.fold={config.fold} is not one of the folds in {str(csv_path)!r}: {folds_present}.")
        if config.val_fold is not None and (config.val_fold == config.fold or config.val_fold not in folds_present):
            raise ConfigError(
                f"data.val_fold={config.val_fold} must be another of the folds {folds_present} than data.fold="
                f"{config.fold}, or null for a seeded part of the training folds."
            )
        targets = sorted({int(r["target"]) for r in rows})
        names = {int(r["target"]): r["category"] for r in rows}
        paths = [root / "audio" / r["filename"] for r in rows]
        features, frames, kept, skipped = load_files(paths, config)
        if not kept:
            raise DatasetError(
                f"None of the {len(paths)} clips listed in {str(csv_path)!r} could be read from "
                f"{str(root / 'audio')!r}: {skipped[:3]}"
            )
        y = np.array([targets.index(int(rows[i]["target"])) for i in kept])
        fold = np.array([int(rows[i]["fold"]) for i in kept])
        test = np.flatnonzero(fold == config.fold)
        if config.val_fold is not None:
            val = np.flatnonzero(fold == config.val_fold)
            train = np.flatnonzero((fold != config.fold) & (fold != config.val_fold))
        else:
            rest = np.flatnonzero(fold != config.fold)
            val_rel, train_rel = stratified_split(y[rest], config.val_fraction, [config.split_seed, 1])
            val, train = rest[val_rel], rest[train_rel]
        self.config = config
        self.build(
            config, features, frames, torch.from_numpy(y), {"train": train, "val": val, "test": test},
            classes=[names[t] for t in targets],
            extra={"fold": torch.from_numpy(fold)},
            info={
                "name": f"esc{'10' if config.esc10 else '50'}-fold{config.fold}",
                "num_clips": len(kept),
                "test_fold": config.fold,
                "val_fold": config.val_fold,
                **skip_summary(skipped, len(paths)),
            },
        )
