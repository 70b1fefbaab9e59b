"""The in-memory feature store shared by every audio dataset.

Features are computed once per dataset build (vectorised, :mod:`.features`),
normalised, and kept as one ``[clips, target_length, num_mel_bins]`` float32
tensor; a split is an index into it, and ``__getitems__`` gathers a whole batch
with one indexing operation, so the data path is never the bottleneck.
A process-wide cache keyed by (files, feature settings) lets repeated builds of
the same dataset (tests, ``pretrain`` then ``evaluate``) skip the decoding; with
``data.cache_dir`` the decoded features are also stored on disk, keyed by the files'
paths, sizes and modification times and the feature settings, so a new process
skips the per-file decoding as well.

Normalisation: ``norm="fixed"`` uses ``norm_mean``/``norm_std`` (SSAST's AudioSet constants
by default) or the statistics in ``norm_file`` (written by ``selfsup audio-stats``);
``norm="train"`` computes them on the train split at build time.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.errors import ConfigError, DatasetError
from selfsup.interfaces import Batch, DataSource
from selfsup.progress import track
from selfsup.tasks import declare_task

from ..configs import FeatureConfig
from .features import clip_features, norm_stats, normalise
from .io import AudioReadError, read_audio

__all__ = [
    "AudioSplit",
    "AudioSource",
    "load_files",
    "data_root",
    "stratified_split",
    "check_features",
    "read_norm_file",
    "skip_summary",
    "files_with_suffix",
]

NORM_MODES = ("fixed", "train", "none")
_CACHE: OrderedDict[Any, tuple[torch.Tensor, torch.Tensor, list[int], list[str]]] = OrderedDict()
_CACHE_SIZE = 4
#: Bumped whenever the stored features would change for the same files and settings.
_DISK_CACHE_VERSION = 1
#: Feature settings a ``norm_file`` must have been computed with.
NORM_FILE_KEYS = ("sample_rate", "num_mel_bins", "target_length")


def data_root(root: str | None, dataset: str, source: str, layout: str) -> Path:
    """``data.root`` as a path; unset is a :class:`DatasetError` saying where the files come from.

    Nothing is looked up anywhere else (no environment variable, no folder beside the
    package): a run's data is exactly what its ``config.yaml`` records.
    """
    if root is None or not str(root).strip():
        raise DatasetError(
            f"data.root is not set: dataset '{dataset}' reads local files ({layout}) from {source}. "
            f"Download them and set data.root=<that folder>."
        )
    return Path(root)


def check_features(config: FeatureConfig) -> None:
    if config.norm not in NORM_MODES:
        raise ConfigError(f"data.norm={config.norm!r} is not one of {NORM_MODES}.")
    for name in ("sample_rate", "num_mel_bins", "target_length"):
        if getattr(config, name) < 1:
            raise ConfigError(f"data.{name}={getattr(config, name)} must be at least 1.")
    if config.norm == "fixed" and config.norm_std <= 0:
        raise ConfigError(f"data.norm_std={config.norm_std} must be positive.")
    if config.norm_file is not None:
        if config.norm != "fixed":
            raise ConfigError(f"data.norm_file is set but data.norm={config.norm!r}; set data.norm=fixed to use it.")
        read_norm_file(config)


def read_norm_file(config: FeatureConfig) -> tuple[float, float]:
    """``(mean, std)`` from ``config.norm_file``, checked against the config's feature settings."""
    path = Path(str(config.norm_file))
    if not path.is_file():
        raise ConfigError(
            f"data.norm_file={str(path)!r} does not exist. Write it with "
            "'selfsup audio-stats --dataset <name> --out <file> root=<data root>'."
        )
    try:
        stats = json.loads(path.read_text())
        mean, std = float(stats["mean"]), float(stats["std"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"data.norm_file={str(path)!r} is not a stats JSON with 'mean' and 'std' ({exc}). "
            "Rewrite it with selfsup audio-stats."
        ) from exc
    if not std > 0:
        raise ConfigError(f"data.norm_file={str(path)!r} has std={std}; it must be positive. Recompute it.")
    for key in NORM_FILE_KEYS:
        if key in stats and int(stats[key]) != int(getattr(config, key)):
            raise ConfigError(
                f"data.norm_file={str(path)!r} was computed with {key}={stats[key]} but data.{key}="
                f"{getattr(config, key)}. Recompute it with the same {key}, or set data.{key}={stats[key]}."
            )
    return mean, std


def skip_summary(skipped: Sequence[str], total: int) -> dict[str, Any]:
    """The ``info`` entries every file dataset records about unreadable files."""
    return {"skipped": len(skipped), "skipped_reasons": list(skipped[:20]), "files_found": total}


def _disk_key(paths: Sequence[Path], config: FeatureConfig) -> str:
    digest = hashlib.sha256()
    digest.update(repr((_DISK_CACHE_VERSION, config.sample_rate, config.num_mel_bins, config.target_length)).encode())
    for path in paths:
        try:
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()[:24]


def load_files(
    paths: Sequence[Path], config: FeatureConfig
) -> tuple[torch.Tensor, torch.Tensor, list[int], list[str]]:
    """Decode and featurise ``paths`` (cached). Returns un-normalised features, frame counts,
    the indices of the files that were read, and ``"name: reason"`` for each skipped file."""
    key = (tuple(str(p) for p in paths), config.sample_rate, config.num_mel_bins, config.target_length)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        result = _CACHE[key]
        _warn_skipped(result[3], len(paths))
        return result
    disk = Path(config.cache_dir) / f"audio-features-{_disk_key(paths, config)}.pt" if config.cache_dir else None
    if disk is not None and disk.is_file():
        result = _read_disk_cache(disk)
        _warn_skipped(result[3], len(paths))
        _remember(key, result)
        return result
    waves, rates, kept, skipped = [], [], [], []
    for i, path in enumerate(track(paths, "data: reading audio", unit="files")):
        try:
            wave, rate = read_audio(path)
        except AudioReadError as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        waves.append(wave)
        rates.append(rate)
        kept.append(i)
    _warn_skipped(skipped, len(paths))
    feats, frames = clip_features(
        waves, rates, sample_rate=config.sample_rate, num_mel_bins=config.num_mel_bins,
        target_length=config.target_length,
    )
    result = (feats, frames, kept, skipped)
    if disk is not None:
        disk.parent.mkdir(parents=True, exist_ok=True)
        partial = disk.with_suffix(f".{os.getpid()}.tmp")
        torch.save({"features": feats, "frames": frames, "kept": kept, "skipped": skipped}, partial)
        os.replace(partial, disk)  # atomic: a killed run never leaves half a cache file
    _remember(key, result)
    return result


def _read_disk_cache(disk: Path) -> tuple[torch.Tensor, torch.Tensor, list[int], list[str]]:
    """A feature cache file, loaded with ``weights_only=True`` (tensors and plain containers only)."""
    try:
        stored = torch.load(disk, map_location="cpu", weights_only=True)
        result = (stored["features"], stored["frames"], [int(i) for i in stored["kept"]], [str(s) for s in stored["skipped"]])
        if not isinstance(result[0], torch.Tensor) or not isinstance(result[1], torch.Tensor):
            raise TypeError("'features' and 'frames' are not tensors")
    except Exception as exc:  # an unpickling failure has many types; each means "not our cache file"
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise DatasetError(
            f"Audio feature cache {str(disk)!r} is not a valid cache file ({type(exc).__name__}: {first_line}). "
            "Delete it; it is rebuilt from the audio files on the next run."
        ) from exc
    return result


def _remember(key: Any, result: tuple[torch.Tensor, torch.Tensor, list[int], list[str]]) -> None:
    _CACHE[key] = result
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def _warn_skipped(skipped: Sequence[str], total: int) -> None:
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} unreadable audio file(s) of {total} (counted in data_info.json "
            f"'skipped'): {'; '.join(skipped[:3])}" + (" ..." if len(skipped) > 3 else ""),
            stacklevel=4,
        )


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
            mean, std = read_norm_file(config) if config.norm_file else (config.norm_mean, config.norm_std)
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
            "norm_source": config.norm_file if config.norm_file else config.norm,
            "split_sizes": {name: len(split) for name, split in self._splits.items()},
            **dict(info or {}),
        }
        declare_task(self.info, "multiclass", num_classes=len(classes))

    def preprocessing_state(self) -> dict[str, Any]:
        """Feature settings and normalisation statistics new clips get (``selfsup embed``)."""
        keys = ("sample_rate", "num_mel_bins", "target_length", "norm_mean", "norm_std")
        return {key: self.info[key] for key in keys}

    def raw_feature_encoder(self) -> torch.nn.Module:
        """The raw-feature baseline (:class:`selfsup.tasks.RawFeatureSource`): fbank mean/std per mel bin."""
        from .raw import FbankStats

        return FbankStats(int(self.info["num_mel_bins"]))

    def split(self, name: str) -> AudioSplit:
        if name not in self._splits:
            raise KeyError(name)
        return self._splits[name]


def files_with_suffix(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """The files directly in ``folder`` whose extension is one of ``suffixes`` (case-insensitive), sorted."""
    allowed = {s.lower() for s in suffixes}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in allowed)


