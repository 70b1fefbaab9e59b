"""Config dataclasses of the plugin's components.

Torch-free on purpose: ``plugin.py`` imports them to put ``config_cls`` on the
specs, and importing ``plugin.py`` must stay cheap. selfsup turns each field
into a config key (``data.noise``, ``encoder_config.width``,
``objective_config.temperature``) with the field's type checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class SinesConfig:
    """``synthetic-sines``: seeded noisy sinusoids; the class is the base frequency."""

    #: Unused (the data is generated); kept so that ``data.root`` means the same for every dataset.
    root: Optional[str] = None
    num_classes: int = 4
    #: Samples per series.
    length: int = 128
    num_channels: int = 1
    train_size: int = 1024
    val_size: int = 256
    test_size: int = 512
    #: Lowest base frequency (cycles per window); class ``c`` has ``min_cycles + c * cycle_step``.
    min_cycles: float = 3.0
    cycle_step: float = 1.5
    #: Standard deviation of the additive Gaussian noise (the clean signal has amplitude ~1).
    noise: float = 0.8
    #: Standard deviation of the per-series linear trend and offset.
    trend: float = 0.25
    seed: int = 0


@dataclass
class Conv1dConfig:
    """``conv1d``: a stack of strided 1-D convolutions and global average pooling."""

    width: int = 32
    depth: int = 3
    kernel_size: int = 7
    embed_dim: int = 64


@dataclass
class TSSimCLRConfig:
    """``ts-simclr``: NT-Xent over two augmented views of each series."""

    temperature: float = 0.2
    projection_dim: int = 32
    projection_hidden: int = 64
    #: Standard deviation of the Gaussian jitter, relative to each series' std.
    jitter: float = 0.3
    #: Each view is multiplied by ``exp(N(0, scale_log_std))`` per channel.
    scale_log_std: float = 0.3
    #: Largest circular time shift, as a fraction of the length.
    max_shift: float = 0.5
