"""New series files -> a batch, with the run's channels, length, length policy and normalisation.

The ``input_transform`` of every timeseries dataset: ``series_inputs(config, state)`` rebuilds
:class:`SeriesInputs` from the source's ``preprocessing_state()``. ``read`` takes one series
file or a folder of them (searched recursively, sorted): the UCR/UEA formats (``.ts``, ``.arff``,
``.tsv``, ``.txt``; their labels are read and ignored) and CSVs of windows (channel-major values;
the run's label column is dropped when present). Each series becomes one input, id
``"<relative file>:<row>"``. ``batch`` applies what pretraining applied: per-series
z-normalisation when the run used it, then the run's length (resampled or zero-padded only
when the run's ``data.unequal_length`` allowed it).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.errors import CheckpointError, DatasetError

from .readers import MAX_BYTES, READERS, read_csv_windows, read_series
from .sources import to_array

__all__ = ["SeriesInputs", "series_inputs", "SERIES_SUFFIXES"]

#: The file suffixes ``read`` looks for in a folder.
SERIES_SUFFIXES = tuple(f".{name}" for name in READERS) + (".csv",)


def _csv_header(path: Path) -> list[str]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file. Point data.root at a series file or a folder of them.")
    if path.stat().st_size > MAX_BYTES:
        raise DatasetError(f"{path}: larger than {MAX_BYTES >> 20} MiB. Split it, or use a smaller file.")
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return [cell.strip() for cell in next(csv.reader(handle), [])]


class SeriesInputs:
    """``read(path)`` -> ``(f"{file}:{row}", float64 [C, T_i])``; ``batch(series)`` ->
    ``{"x": float32 [B, num_channels, length]}``, as the run's data source built it."""

    def __init__(
        self, *, num_channels: int, length: int, unequal_length: str, znorm: bool, label_column: str = "label"
    ) -> None:
        self.num_channels, self.length = int(num_channels), int(length)
        self.unequal_length, self.znorm, self.label_column = str(unequal_length), bool(znorm), str(label_column)

    def _read_file(self, path: Path) -> list[np.ndarray]:
        if path.suffix.lower() == ".csv":
            label = self.label_column if self.label_column in _csv_header(path) else ""
            return read_csv_windows(path, label_column=label, task="classification", num_channels=self.num_channels).series
        return read_series(path).series

    def read(self, source: Any) -> list[tuple[str, Any]]:
        root = Path(source)
        if root.is_file():
            files, base = [root], root.parent
        elif root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SERIES_SUFFIXES)
            base = root
            if not files:
                raise DatasetError(f"No series files ({', '.join(SERIES_SUFFIXES)}) under {str(root)!r}. "
                                   "Point data.root at a folder of series files.")
        else:
            raise DatasetError(f"data.root={str(root)!r} does not exist. Point it at a series file or a folder of them.")
        pairs: list[tuple[str, Any]] = []
        for path in files:
            name = path.relative_to(base).as_posix()
            pairs += [(f"{name}:{row}", series) for row, series in enumerate(self._read_file(path))]
        return pairs

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        series = [np.asarray(item, dtype=np.float64) for item in items]
        for index, s in enumerate(series):
            if s.ndim != 2 or s.shape[0] != self.num_channels:
                raise DatasetError(f"input {index} has shape {tuple(s.shape)} but the run was trained on "
                                   f"{self.num_channels} channel(s). Give series of [{self.num_channels}, time] values.")
            if self.unequal_length == "refuse" and s.shape[-1] != self.length:
                raise DatasetError(f"input {index} has {s.shape[-1]} steps but the run was trained on {self.length} "
                                   "(data.unequal_length=refuse). Resample the series to that length, or pretrain "
                                   "with data.unequal_length=resample.")
        x = to_array(series, length=self.length, policy=self.unequal_length, znorm=self.znorm, where="new series")
        return {"x": torch.from_numpy(x)}, [1] * len(series)


def series_inputs(config: Any, state: Mapping[str, Any]) -> SeriesInputs:
    """``DatasetSpec.input_transform`` of the timeseries datasets."""
    keys = ("num_channels", "length", "unequal_length", "znorm")
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(f"The run's preprocessing.json lacks {missing}: it predates saved timeseries "
                              "preprocessing. Pretrain it again to embed new series.")
    return SeriesInputs(**{k: state[k] for k in keys}, label_column=str(getattr(config, "label_column", "label")))
