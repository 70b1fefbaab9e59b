"""``conv1d``: a small 1-D convolutional encoder for ``[rows, channels, length]`` series."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError

from .configs import Conv1dConfig

__all__ = ["Conv1dEncoder"]


class Conv1dEncoder(nn.Module):
    """``depth`` blocks of Conv1d (stride 2 after the first) + GroupNorm + GELU,
    global average pooling over time, then a linear map to ``embed_dim``.

    Built by selfsup as ``Conv1dEncoder(config, data_info)``; reads
    ``data_info["num_channels"]``. ``forward(batch)`` reads ``batch["x"]`` and
    returns ``[rows, embed_dim]`` float32 embeddings.
    """

    def __init__(self, config: Conv1dConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        if config.depth < 1 or config.width < 1 or config.embed_dim < 1 or config.kernel_size < 1:
            raise ConfigError(
                f"conv1d: depth, width, kernel_size and embed_dim must be >= 1, got {config}. "
                "Use e.g. encoder_config.depth=3."
            )
        #: Required by selfsup: the width of the embeddings the probes read.
        self.embed_dim = config.embed_dim
        channels = int(data_info["num_channels"])
        layers: list[nn.Module] = []
        for index in range(config.depth):
            layers += [
                nn.Conv1d(
                    channels if index == 0 else config.width,
                    config.width,
                    config.kernel_size,
                    stride=1 if index == 0 else 2,
                    padding=config.kernel_size // 2,
                ),
                nn.GroupNorm(1, config.width),
                nn.GELU(),
            ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(config.width, config.embed_dim)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        x = batch["x"].to(torch.float32)
        return self.head(self.features(x).mean(dim=-1))
