"""Speech Commands v2 (Warden 2018, arXiv 1804.03209): one-second spoken words, 35 classes.

Layout of the official archive (``speech_commands_v0.02.tar.gz``)::

    root/<word>/<speaker>_nohash_<n>.wav   1 s, 16 kHz, mono, 16-bit
    root/validation_list.txt               relative paths (``right/bb05582b_nohash_0.wav``)
    root/testing_list.txt
    root/_background_noise_/               long noise recordings: not a class, never read

A clip named in ``validation_list.txt`` is ``val``, one in ``testing_list.txt`` is ``test``,
every other clip is ``train`` (the split the dataset's README prescribes; speakers do not
cross splits). Every word folder is a class (35 in v2, as SSAST's
``speechcommands_v2_35`` recipe). Features are padded to ``target_length`` = 128 frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from selfsup.errors import DatasetError

from ..configs import SpeechCommandsConfig
from .source import AudioSource, check_features, data_root, files_with_suffix, load_files, skip_summary

__all__ = ["SpeechCommands", "SpeechCommandsConfig", "LIST_FILES"]

LIST_FILES = {"val": "validation_list.txt", "test": "testing_list.txt"}


def _read_list(path: Path) -> set[str]:
    return {line.strip().replace("\\", "/") for line in path.read_text().splitlines() if line.strip()}


class SpeechCommands(AudioSource):
    def __init__(self, config: SpeechCommandsConfig | None = None) -> None:
        config = config if config is not None else SpeechCommandsConfig()
        check_features(config)
        root = data_root(
            config.root,
            "speech-commands",
            "speech_commands_v0.02.tar.gz (Warden 2018, unpacked)",
            "<word>/*.wav, validation_list.txt, testing_list.txt",
        )
        if not root.is_dir():
            raise DatasetError(
                f"Speech Commands not found at {str(root)!r}. Unpack speech_commands_v0.02.tar.gz there "
                "and set data.root to that folder."
            )
        missing = [name for name in LIST_FILES.values() if not (root / name).is_file()]
        if missing:
            raise DatasetError(
                f"{str(root)!r} lacks {', '.join(missing)}, which define the official splits. "
                "Use the complete speech_commands_v0.02 archive, which ships both lists."
            )
        lists = {split: _read_list(root / name) for split, name in LIST_FILES.items()}
        classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))
        entries: list[tuple[Path, int]] = [
            (path, label) for label, word in enumerate(classes) for path in files_with_suffix(root / word, [".wav"])
        ]
        if not entries:
            raise DatasetError(f"No <word>/*.wav clips in {str(root)!r}. Point data.root at the unpacked archive.")
        if config.max_clips is not None and config.max_clips < len(entries):
            keep = np.sort(np.random.default_rng([config.split_seed, 11]).permutation(len(entries))[: config.max_clips])
            entries = [entries[i] for i in keep]
        paths = [p for p, _ in entries]
        features, frames, kept, skipped = load_files(paths, config)
        if not kept:
            raise DatasetError(f"None of the {len(paths)} clips in {str(root)!r} could be read: {skipped[:3]}")
        relative = [f"{paths[i].parent.name}/{paths[i].name}" for i in kept]
        where = np.array(["test" if r in lists["test"] else "val" if r in lists["val"] else "train" for r in relative])
        y = np.array([entries[i][1] for i in kept])
        self.config = config
        self.build(
            config, features, frames, torch.from_numpy(y),
            {split: np.flatnonzero(where == split) for split in ("train", "val", "test")},
            classes=classes,
            info={"name": "speech-commands-v2", "num_clips": len(kept), **skip_summary(skipped, len(paths))},
        )
