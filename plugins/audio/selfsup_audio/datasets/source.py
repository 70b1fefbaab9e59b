"""The in-memory feature store shared by every audio dataset.

Features are computed once per dataset build (vectorised, :mod:`.features`),
normalised, and kept as one ``[clips, target_length, num_mel_bins]`` float32
tensor; a split is an index into it, and ``__getitems__`` gathers a whole batch
with one indexing operation, so the data path is never the bottleneck.
A process-wide cache keyed by (files, feature settings) lets repeated builds of
the same dataset (tests, ``pretrain`` then ``evaluate``) skip the decoding.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, DataSource

from ..configs import FeatureConfig
from .features import clip_features, norm_stats, normalise
from .io import AudioReadError, read_audio

__all__ = ["AudioSplit", "AudioSource", "load_files", "data_root", "stratified_split", "check_features"]

NORM_MODES = ("fixed", "train", "none")
_CACHE: OrderedDict[Any, tuple[torch.Tensor, torch.Tensor, list[int], list[str]]] = OrderedDict()
_CACHE_SIZE = 4


def data_root() -> Path:
    """``$SELFSUP_DATA``, defaulting to ``<repo>/../shared/data``."""
    env = os.environ.get("SELFSUP_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[4].parent / "shared" / "data"


def check_features(config: FeatureConfig) -> None:
    if config.norm not in NORM_MODES:
        raise ConfigError(f"data.norm={config.norm!r} is not one of {NORM_MODES}.")
    for name in ("sample_rate", "num_mel_bins", "target_length"):
        if getattr(config, name) < 1:
            raise ConfigError(f"data.{name}={getattr(config, name)} must be at least 1.")
    if config.norm == "fixed" and config.norm_std <= 0:
        raise ConfigError(f"data.norm_std={config.norm_std} must be positive.")


def load_files(
    paths: Sequence[Path], config: FeatureConfig
) -> tuple[torch.Tensor, torch.Tensor, list[int], list[str]]:
    """Decode and featurise ``paths`` (cached). Returns un-normalised features, frame counts,
    the indices of the files that were read, and ``"name: reason"`` for each skipped file."""
    key = (tuple(str(p) for p in paths), config.sample_rate, config.num_mel_bins, config.target_length)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    waves, rates, kept, skipped = [], [], [], []
    for i, path in enumerate(paths):
        try:
            wave, rate = read_audio(path)
        except AudioReadError as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        waves.append(wave)
        rates.append(rate)
        kept.append(i)
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} unreadable audio file(s) of {len(paths)}: {'; '.join(skipped[:3])}"
            + (" ..." if len(skipped) > 3 else ""),
            stacklevel=3,
        )
    feats, frames = clip_features(
        waves, rates, sample_rate=config.sample_rate, num_mel_bins=config.num_mel_bins,
        target_length=config.target_length,
    )
    result = (feats, frames, kept, skipped)
    _CACHE[key] = result
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def stratified_split(labels: np.ndarray, fraction: float, seed: Any) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split: returns ``(held_out, rest)`` index arrays (sorted)."""
    if not 0 <= fraction < 1:
        raise ConfigError(f"A split fraction must be in [0, 1), got {fraction}.")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = rng.permutation(idx)
        held.append(idx[: int(round(fraction * len(idx)))])
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(len(labels)), held_out)
    return held_out, rest


class AudioSplit(torch.utils.data.Dataset):
    """Rows of the shared feature tensor: items ``{"x": [T, F], "label": int64, ...}``."""

    def __init__(self, tensors: Mapping[str, torch.Tensor], index: torch.Tensor) -> None:
        self.tensors = dict(tensors)
        self.index = index

    def __len__(self) -> int:
        return int(self.index.numel())

    def __getitem__(self, i: int) -> Batch:
        row = self.index[i]
        return {k: v[row] for k, v in self.tensors.items()}

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        rows = self.index[torch.as_tensor(indices, dtype=torch.long)]
        return {k: v[rows] for k, v in self.tensors.items()}


class AudioSource(DataSource):
    """Base class: call :meth:`build` with features, labels and split indices."""

    splits = ("train", "val", "test")

    def build(
        self,
        config: FeatureConfig,
        features: torch.Tensor,
        num_frames: torch.Tensor,
        labels: torch.Tensor,
        split_index: Mapping[str, np.ndarray],
        *,
        classes: Sequence[str],
        extra: Mapping[str, torch.Tensor] | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        if config.norm == "fixed":
            mean, std = config.norm_mean, config.norm_std
        elif config.norm == "train":
            mean, std = norm_stats(features[torch.as_tensor(split_index["train"], dtype=torch.long)])
        else:
            mean, std = 0.0, 0.5  # (x - 0) / (2 * 0.5) = x
        x = normalise(features, mean, std).contiguous()
        tensors = {"x": x, "label": labels.long(), "num_frames": num_frames.long(), **(extra or {})}
        self.splits = tuple(name for name in ("train", "val", "test") if name in split_index and len(split_index[name]))
        self._splits = {
            name: AudioSplit(tensors, torch.as_tensor(np.asarray(idx), dtype=torch.long))
            for name, idx in split_index.items()
            if name in self.splits
        }
        self.info = {
            "task": "classification",
            "num_classes": len(classes),
            "classes": list(classes),
            "sample_rate": config.sample_rate,
            "num_mel_bins": config.num_mel_bins,
            "target_length": config.target_length,
            "norm_mean": float(mean),
            "norm_std": float(std),
            "split_sizes": {name: len(split) for name, split in self._splits.items()},
            **dict(info or {}),
        }

    def split(self, name: str) -> AudioSplit:
        if name not in self._splits:
            raise KeyError(name)
        return self._splits[name]


def files_with_suffix(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    allowed = {s.lower() for s in suffixes}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in allowed)


