"""Free Spoken Digit Dataset (Jakobovski/free-spoken-digit-dataset; CC BY-SA 4.0).

``recordings/{digit}_{speaker}_{index}.wav``: 3,000 clips (10 digits × 6 speakers × 50),
8 kHz mono int16, resampled to 16 kHz for the SSAST features. Splits:

* ``official`` (the dataset README): index 0-4 → test (300 clips), 5-49 → train (2,700);
* ``speaker``: all 500 clips of ``held_out_speaker`` (default ``theo``) → test,
  the other speakers' clips → train.

A seeded, digit-stratified ``val_fraction`` of train becomes ``val``. Items:
``{"x": [target_length, 128], "label": digit, "speaker": speaker index, "num_frames"}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from selfsup.errors import ConfigError, DatasetError

from ..configs import FSDDConfig
from .source import AudioSource, check_features, data_root, load_files, skip_summary, stratified_split

__all__ = ["FSDD", "FSDDConfig", "parse_name"]

SPLITS = ("official", "speaker")


def parse_name(path: Path) -> tuple[int, str, int] | None:
    """``"7_theo_12.wav"`` → ``(7, "theo", 12)``; ``None`` for other names."""
    parts = path.stem.split("_")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[0]), parts[1], int(parts[2])


class FSDD(AudioSource):
    def __init__(self, config: FSDDConfig | None = None) -> None:
        config = config if config is not None else FSDDConfig()
        check_features(config)
        if config.split not in SPLITS:
            raise ConfigError(f"data.split={config.split!r} is not one of {SPLITS}.")
        root = data_root(
            config.root, "fsdd", "github.com/Jakobovski/free-spoken-digit-dataset", "recordings/{digit}_{speaker}_{index}.wav"
        )
        folder = root / "recordings" if (root / "recordings").is_dir() else root
        if not folder.is_dir():
            raise DatasetError(
                f"FSDD not found at {str(folder)!r}. Put the recordings in <root>/recordings "
                "(from github.com/Jakobovski/free-spoken-digit-dataset) and set data.root to <root>."
            )
        entries = [(p, parse_name(p)) for p in sorted(folder.glob("*.wav"))]
        entries = [(p, meta) for p, meta in entries if meta is not None]
        if not entries:
            raise DatasetError(f"No {{digit}}_{{speaker}}_{{index}}.wav files in {str(folder)!r}.")
        if config.max_clips is not None and config.max_clips < len(entries):
            keep = np.sort(np.random.default_rng([config.split_seed, 11]).permutation(len(entries))[: config.max_clips])
            entries = [entries[i] for i in keep]
        features, frames, kept, skipped = load_files([p for p, _ in entries], config)
        if not kept:
            raise DatasetError(f"None of the {len(entries)} FSDD recordings in {str(folder)!r} could be read: {skipped[:3]}")
        metas = [entries[i][1] for i in kept]
        digits = np.array([m[0] for m in metas])
        speakers_all = sorted({m[1] for m in metas})
        speaker = np.array([speakers_all.index(m[1]) for m in metas])
        index = np.array([m[2] for m in metas])
        if config.split == "official":
            is_test = index < 5
        else:
            if config.held_out_speaker not in speakers_all:
                raise ConfigError(
                    f"data.held_out_speaker={config.held_out_speaker!r} is not one of {speakers_all}."
                )
            is_test = speaker == speakers_all.index(config.held_out_speaker)
        test = np.flatnonzero(is_test)
        train_all = np.flatnonzero(~is_test)
        val_rel, train_rel = stratified_split(digits[train_all], config.val_fraction, [config.split_seed, 1])
        splits = {"train": train_all[train_rel], "val": train_all[val_rel], "test": test}
        self.config = config
        self.build(
            config, features, frames, torch.from_numpy(digits), splits,
            classes=[str(d) for d in range(10)],
            extra={"speaker": torch.from_numpy(speaker)},
            info={
                "name": f"fsdd-{config.split}",
                "speakers": speakers_all,
                "num_clips": len(metas),
                **skip_summary(skipped, len(entries)),
                "held_out_speaker": config.held_out_speaker if config.split == "speaker" else None,
            },
        )
