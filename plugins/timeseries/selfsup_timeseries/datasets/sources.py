"""The timeseries data sources: UCR/UEA problems, CSVs of windows, and the embedded synthetic default.

Batches are ``{"x": float32 [rows, channels, length], "label": int64 or float32 [rows]}``; the
task is declared (``binary``/``multiclass`` or ``regression``) so that the core picks the probes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from selfsup.errors import DatasetError
from selfsup.interfaces import DataSource
from selfsup.tasks import declare_task

from ..configs import UNEQUAL_LENGTH_POLICIES, CSVWindowsConfig, SyntheticPulsesConfig, UCRConfig
from .readers import RawSeries, read_csv_windows, read_series

__all__ = ["SeriesSplit", "UCRArchive", "CSVWindows", "SyntheticPulses", "to_array", "make_pulses"]


class SeriesSplit(torch.utils.data.Dataset):
    """One split: items ``{"x": [C, T], "label": []}`` and a vectorised ``__getitems__``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        item = {"x": self.x[index]}
        if self.y is not None:
            item["label"] = self.y[index]
        return item

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        batch = {"x": self.x[index]}
        if self.y is not None:
            batch["label"] = self.y[index]
        return batch


def _resample(series: np.ndarray, length: int) -> np.ndarray:
    old = np.linspace(0.0, 1.0, series.shape[-1])
    new = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(new, old, channel) for channel in series])


def to_array(raw: list[np.ndarray], *, length: int | None, policy: str, znorm: bool, where: str) -> np.ndarray:
    """Series ``[C, T_i]`` → one float32 array ``[N, C, T]`` following ``policy`` (see ``UNEQUAL_LENGTH_POLICIES``)."""
    if policy not in UNEQUAL_LENGTH_POLICIES:
        raise DatasetError(f"data.unequal_length={policy!r} is not one of {list(UNEQUAL_LENGTH_POLICIES)}. "
                           "Use data.unequal_length=resample.")
    lengths = sorted({s.shape[-1] for s in raw})
    if any(np.isnan(s).any() for s in raw):
        raise DatasetError(f"{where}: missing values ('?' or NaN inside a series). Impute them before loading.")
    if lengths[0] < 2:
        raise DatasetError(f"{where}: a series of length {lengths[0]}. Remove series shorter than 2 steps.")
    target = length or lengths[-1]
    if len(lengths) > 1 and policy == "refuse":
        raise DatasetError(f"{where}: unequal lengths ({lengths[0]}-{lengths[-1]}). "
                           "Set data.unequal_length=resample (or pad).")
    out = []
    for s in raw:
        if znorm:  # each series on its own, before padding (the zeros stay zeros)
            std = s.std(axis=-1, keepdims=True)
            s = (s - s.mean(axis=-1, keepdims=True)) / np.where(std > 1e-8, std, 1.0)
        if s.shape[-1] == target:
            pass
        elif policy == "pad" and s.shape[-1] < target:
            s = np.pad(s, ((0, 0), (0, target - s.shape[-1])))
        elif policy == "refuse" and length is not None:
            raise DatasetError(f"{where}: series of length {s.shape[-1]} but data.length={length}. "
                               "Set data.unequal_length=resample, or data.length=null.")
        else:
            s = _resample(s, target)
        out.append(s)
    return np.stack(out).astype(np.float32)


def _finish(source: DataSource, name: str, train: RawSeries, test: RawSeries | None, cfg, where: str) -> None:
    parts = [train] + ([test] if test is not None else [])
    length = cfg.length
    if length is None and cfg.unequal_length != "refuse":
        length = max(s.shape[-1] for part in parts for s in part.series)
    arrays = [to_array(p.series, length=length, policy=cfg.unequal_length, znorm=cfg.znorm, where=where) for p in parts]
    if len(arrays) == 2 and arrays[0].shape[1:] != arrays[1].shape[1:]:
        raise DatasetError(f"{where}: train series are {arrays[0].shape[1:]} (channels, length) but test series "
                           f"{arrays[1].shape[1:]}. Set data.length (and data.unequal_length=resample).")
    info: dict = {"name": name, "num_channels": int(arrays[0].shape[1]), "length": int(arrays[0].shape[2])}
    labels: list[torch.Tensor | None] = []
    if train.task == "classification":
        names = list(train.class_names or sorted(set(train.labels)))
        index = {n: i for i, n in enumerate(names)}
        for part in parts:
            unknown = sorted({str(v) for v in part.labels} - set(index))
            if unknown:
                raise DatasetError(f"{where}: test labels {unknown[:10]} do not occur in the training file. "
                                   "Use the same classes in both files.")
            labels.append(torch.tensor([index[str(v)] for v in part.labels], dtype=torch.long))
        info.update(task="classification", num_classes=len(names), class_names=names)
        declare_task(info, "multiclass", num_classes=len(names))
    elif train.task == "regression":
        labels = [torch.tensor(p.labels, dtype=torch.float32) for p in parts]
        info.update(task="regression")
        declare_task(info, "regression")
    else:
        labels = [None for _ in parts]
        declare_task(info, "none")
    source.info = info
    source.preprocessing = {"num_channels": info["num_channels"], "length": info["length"],
                            "unequal_length": cfg.unequal_length, "znorm": bool(cfg.znorm)}
    source.splits = ("train", "test") if test is not None else ("train",)
    source._splits = {s: SeriesSplit(torch.from_numpy(a), y) for s, a, y in zip(source.splits, arrays, labels)}


class _SeriesSource(DataSource):
    """What every timeseries source shares: its splits, and the preprocessing ``embed`` re-applies."""

    _splits: dict[str, SeriesSplit]
    #: ``{"num_channels", "length", "unequal_length", "znorm"}`` (see :mod:`.inputs`)
    preprocessing: dict[str, object]

    def split(self, name: str) -> torch.utils.data.Dataset:
        return self._splits[name]

    def preprocessing_state(self) -> dict[str, object]:
        return dict(self.preprocessing)

    def raw_feature_encoder(self) -> torch.nn.Module:
        """The raw-feature baseline (:class:`selfsup.tasks.RawFeatureSource`): the series values, flattened."""
        from .raw import SeriesValues

        return SeriesValues(int(self.preprocessing["num_channels"]), int(self.preprocessing["length"]))


class UCRArchive(_SeriesSource):
    """A UCR/UEA problem from ``<root>/<name>/<name>_TRAIN.<ext>`` and ``_TEST.<ext>`` (splits train, test)."""

    def __init__(self, config: UCRConfig) -> None:
        if not config.root or not config.name:
            raise DatasetError("ucr needs data.root (the archive folder) and data.name (e.g. GunPoint). "
                               "Set both, e.g. data.root=data/ucr-uea data.name=GunPoint.")
        root = Path(config.root).expanduser()
        folder = root / config.name if (root / config.name).is_dir() else root
        formats = ("ts", "arff", "tsv", "txt") if config.format == "auto" else (config.format,)
        train_path = next((folder / f"{config.name}_TRAIN.{f}" for f in formats
                           if (folder / f"{config.name}_TRAIN.{f}").is_file()), None)
        if train_path is None:
            raise DatasetError(f"no {config.name}_TRAIN.{{{','.join(formats)}}} in {folder}. "
                               "Check data.root and data.name (and data.format).")
        test_path = train_path.with_name(f"{config.name}_TEST{train_path.suffix}")
        train = read_series(train_path)
        test = read_series(test_path) if test_path.is_file() else None
        _finish(self, config.name, train, test, config, str(train_path.parent / config.name))


class CSVWindows(_SeriesSource):
    """Windows from a CSV (see :func:`.readers.read_csv_windows`); test from ``test_path`` or a seeded split."""

    def __init__(self, config: CSVWindowsConfig) -> None:
        if not config.path:
            raise DatasetError("csv-windows needs data.path. Set data.path=windows.csv.")
        if config.task not in ("classification", "regression"):
            raise DatasetError(f"data.task={config.task!r}: use classification or regression.")
        read = lambda p: read_csv_windows(Path(p).expanduser(), label_column=config.label_column,  # noqa: E731
                                          task=config.task, num_channels=config.num_channels)
        train = read(config.path)
        if config.test_path:
            test: RawSeries | None = read(config.test_path)
        elif 0.0 < config.test_fraction < 1.0 and len(train.series) >= 4:
            order = np.random.default_rng(config.seed).permutation(len(train.series))
            cut = max(1, int(round(len(order) * config.test_fraction)))
            pick = lambda idx: RawSeries([train.series[i] for i in idx],  # noqa: E731
                                         [train.labels[i] for i in idx] if train.labels else [],
                                         train.task, train.class_names)
            train, test = pick(order[cut:]), pick(order[:cut])
        else:
            test = None
        _finish(self, Path(config.path).stem, train, test, config, config.path)


def make_pulses(n: int, cfg: SyntheticPulsesConfig, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Quasi-periodic pulse trains (PPG-like) at a rate in [min_rate, max_rate] Hz, with noise and artefacts.

    x(t) = A·Σ_k g(t; phase of a slowly drifting rate) + b·step(t − t₀)·[artefact] + noise·ε(t);
    the target is the mean rate (Hz): the research notes' synthetic check (methods-audio.md §4).
    """
    t = torch.arange(cfg.length, dtype=torch.float64) / cfg.sampling_rate
    rate = cfg.min_rate + (cfg.max_rate - cfg.min_rate) * torch.rand(n, generator=generator, dtype=torch.float64)
    drift = 0.05 * torch.randn(n, 1, generator=generator, dtype=torch.float64) * t  # slow rate drift
    phase0 = 2 * math.pi * torch.rand(n, 1, generator=generator, dtype=torch.float64)
    phase = 2 * math.pi * (rate[:, None] + drift) * t + phase0
    pulse = torch.exp(2.0 * (torch.cos(phase) - 1.0)) + 0.3 * torch.exp(2.0 * (torch.cos(phase - 2.0) - 1.0))
    amplitude = torch.exp(0.3 * torch.randn(n, 1, generator=generator, dtype=torch.float64))
    x = amplitude * pulse
    onset = torch.randint(0, cfg.length, (n, 1), generator=generator)
    has = (torch.rand(n, 1, generator=generator) < cfg.artefact_probability).double()
    size = 2.0 * torch.randn(n, 1, generator=generator, dtype=torch.float64)
    x = x + has * size * (torch.arange(cfg.length)[None, :] >= onset).double()
    x = x[:, None, :].repeat(1, cfg.num_channels, 1)
    x = x + cfg.noise * torch.randn(n, cfg.num_channels, cfg.length, generator=generator, dtype=torch.float64)
    return x.float(), rate.float()


class SyntheticPulses(_SeriesSource):
    """The embedded default (no files): :func:`make_pulses`, a regression of the pulse rate (train, test)."""

    splits = ("train", "test")

    def __init__(self, config: SyntheticPulsesConfig) -> None:
        if config.train_size < 8 or config.test_size < 1 or config.length < 16 or config.num_channels < 1:
            raise DatasetError(
                f"synthetic-pulses cannot generate train_size={config.train_size}, test_size={config.test_size}, "
                f"length={config.length}, num_channels={config.num_channels}. "
                "Use train_size >= 8, test_size >= 1, length >= 16, num_channels >= 1."
            )
        if not 0 < config.min_rate < config.max_rate:
            raise DatasetError(f"synthetic-pulses: need 0 < min_rate < max_rate, got {config.min_rate}, "
                               f"{config.max_rate}. Use data.min_rate=0.8 data.max_rate=3.0.")
        generator = torch.Generator().manual_seed(config.seed)
        self._splits = {
            "train": SeriesSplit(*make_pulses(config.train_size, config, generator)),
            "test": SeriesSplit(*make_pulses(config.test_size, config, generator)),
        }
        self.info = {"name": "synthetic-pulses", "task": "regression", "num_channels": config.num_channels,
                     "length": config.length, "sampling_rate": config.sampling_rate}
        declare_task(self.info, "regression")
        self.preprocessing = {"num_channels": config.num_channels, "length": config.length,
                              "unequal_length": "refuse", "znorm": False}
