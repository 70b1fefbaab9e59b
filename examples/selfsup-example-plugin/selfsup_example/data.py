"""``synthetic-sines``: a seeded, labelled time-series data source.

Each series has ``num_channels`` channels of ``length`` samples over the window
``t in [0, 1)``. Class ``c`` sets the base frequency
``f_c = min_cycles + c * cycle_step`` cycles per window; everything else is a
per-series nuisance drawn from one seeded generator:

.. code-block:: text

    x_k(t) = g_k * A * [ sin(2 pi f t + phi + d_k) + a2 * sin(4 pi f t + phi2) ]
             + b * (t - 1/2) + o + noise * eps(t)

    f   = f_c * U(0.92, 1.08)      frequency jitter
    A   = exp(N(0, 0.4))           amplitude
    phi, phi2 ~ U(0, 2 pi)         phases
    a2  ~ U(0, 0.5)                second harmonic
    b, o ~ N(0, trend)             linear trend and offset
    g_k ~ U(0.5, 1.5), d_k ~ U(0, pi/2)    per-channel gain and phase lag
    eps ~ N(0, 1)                  white noise

So the label is in the frequency content only: amplitude, phase, trend and
offset carry no information, which is what a good representation should
learn to ignore (and what the objective's augmentations encourage).

Batches are ``{"x": float32 [rows, channels, length], "label": int64 [rows]}``.
"""

from __future__ import annotations

import math

import torch

from selfsup.errors import DatasetError
from selfsup.interfaces import DataSource
from selfsup.tasks import declare_task

from .configs import SinesConfig

__all__ = ["SyntheticSines", "SeriesSplit", "make_sines"]


class SeriesSplit(torch.utils.data.Dataset):
    """One split: items ``{"x": [C, L], "label": []}``, and a vectorised ``__getitems__``."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "label": self.y[index]}

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        # The DataLoader calls this with a whole batch of indices: one gather
        # instead of len(indices) item lookups, and the result is already a batch
        # (DataSource.collate passes a dict through unchanged).
        index = torch.as_tensor(indices, dtype=torch.long)
        return {"x": self.x[index], "label": self.y[index]}


def make_sines(
    n: int, config: SinesConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` series and their labels (see the module docstring for the model)."""
    c, length = config.num_channels, config.length
    y = torch.randint(0, config.num_classes, (n,), generator=generator)

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=generator)

    def normal(std: float, *shape: int) -> torch.Tensor:
        return std * torch.randn(*shape, generator=generator)

    t = torch.arange(length, dtype=torch.float64) / length  # [L]
    cycles = (config.min_cycles + config.cycle_step * y.double()) * uniform(0.92, 1.08, n).double()
    phase = uniform(0.0, 2 * math.pi, n).double()
    phase2 = uniform(0.0, 2 * math.pi, n).double()
    amplitude = torch.exp(normal(0.4, n)).double()
    harmonic = uniform(0.0, 0.5, n).double()
    slope, offset = normal(config.trend, n).double(), normal(config.trend, n).double()
    gain = uniform(0.5, 1.5, n, c).double()
    lag = uniform(0.0, math.pi / 2, n, c).double()

    angle = 2 * math.pi * cycles[:, None, None] * t  # [N, 1, L]
    wave = torch.sin(angle + phase[:, None, None] + lag[:, :, None])
    wave = wave + harmonic[:, None, None] * torch.sin(2 * angle + phase2[:, None, None])
    x = gain[:, :, None] * amplitude[:, None, None] * wave
    x = x + slope[:, None, None] * (t - 0.5) + offset[:, None, None]
    x = x + config.noise * torch.randn(n, c, length, generator=generator).double()
    return x.float(), y


class SyntheticSines(DataSource):
    """Train, validation and test splits of :func:`make_sines`, from one seed."""

    splits = ("train", "val", "test")

    def __init__(self, config: SinesConfig) -> None:
        sizes = {"train": config.train_size, "val": config.val_size, "test": config.test_size}
        problems = [f"data.{k}_size={v}" for k, v in sizes.items() if v < 1]
        if config.num_classes < 2:
            problems.append(f"data.num_classes={config.num_classes}")
        if config.length < 8 or config.num_channels < 1:
            problems.append(f"data.length={config.length}, data.num_channels={config.num_channels}")
        if problems:
            # Expected runtime problems are ComponentError subclasses: the CLI
            # prints them as one line instead of a traceback.
            raise DatasetError(
                f"synthetic-sines cannot generate {', '.join(problems)}. "
                "Use sizes >= 1, num_classes >= 2, length >= 8 and num_channels >= 1."
            )
        generator = torch.Generator().manual_seed(config.seed)
        self._splits = {name: SeriesSplit(*make_sines(size, config, generator)) for name, size in sizes.items()}
        self.info = {
            "name": "synthetic-sines",
            "task": "classification",
            "num_classes": config.num_classes,
            "num_channels": config.num_channels,
            "length": config.length,
        }
        # The task of the "label" key: default evaluators and compatibility checks read it.
        declare_task(self.info, "multiclass", num_classes=config.num_classes)

    def split(self, name: str) -> torch.utils.data.Dataset:
        if name not in self._splits:
            raise KeyError(name)  # the evaluators turn this into a DatasetError naming the splits
        return self._splits[name]
