"""The time encoder of frame projections: the official 1-D ResNet, and the integrated inference encoder.

Follows ``eth-siplab/Learning-with-FrameProjections:models/models_nc.py`` (``MyConv1dPadSame``,
``MyMaxPool1dPadSame``, ``BasicBlock``, ``ResNet1D`` with ``backbone=True``, itself Hong et al.'s
``resnet1d``) and ``models/frameworks.py:IntegratedEncoder``. Layer for layer the same; the
inputs here are ``[B, C, T]`` (the official ``ResNet1D.forward`` transposes ``[B, T, C]`` first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError

from ..configs import FrameResNet1DConfig, ResNet1DConfig
from .blocks import BasicBlock, Conv1dPadSame
from .frame_nets import ConvMapping

__all__ = ["ResNet1D", "FrameResNet1D"]


class ResNet1D(nn.Module):
    """``ResNet1D(backbone=True)``: SAME conv → BN → ReLU, ``n_block`` basic blocks, BN → ReLU,
    mean over time, ``dense2`` to ``out_dim``. Reads ``batch["x"]`` ``[B, C, T]``."""

    def __init__(self, config: ResNet1DConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        if min(config.base_filters, config.kernel_size, config.stride, config.n_block, config.out_dim) < 1:
            raise ConfigError(
                f"resnet1d: base_filters, kernel_size, stride, n_block and out_dim must be >= 1, got {config}. "
                "Use e.g. encoder_config.n_block=4."
            )
        self.embed_dim = int(config.out_dim)
        self.use_bn = config.use_bn
        in_channels = int(data_info["num_channels"])
        self.first_block_conv = Conv1dPadSame(in_channels, config.base_filters, config.kernel_size, 1)
        self.first_block_bn = nn.BatchNorm1d(config.base_filters)
        blocks = []
        out_channels = config.base_filters
        for i in range(config.n_block):
            first = i == 0
            downsample = i % config.downsample_gap == 1
            if first:
                block_in = out_channels = config.base_filters
            else:
                block_in = int(config.base_filters * 2 ** ((i - 1) // config.increasefilter_gap))
                out_channels = block_in * 2 if i % config.increasefilter_gap == 0 else block_in
            blocks.append(
                BasicBlock(block_in, out_channels, config.kernel_size, config.stride, downsample=downsample,
                           use_bn=config.use_bn, use_do=config.use_do, is_first_block=first)
            )
        self.basicblock_list = nn.ModuleList(blocks)
        self.final_bn = nn.BatchNorm1d(out_channels)
        self.dense2 = nn.Linear(out_channels, config.out_dim)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = self.first_block_conv(batch["x"].to(torch.float32))
        if self.use_bn:
            out = self.first_block_bn(out)
        out = F.relu(out)
        for block in self.basicblock_list:
            out = block(out)
        if self.use_bn:
            out = self.final_bn(out)
        return self.dense2(F.relu(out).mean(-1))


class FrameResNet1D(nn.Module):
    """``IntegratedEncoder``: h = ResNet1D(x); returns concat[P_f(h), h, P_w(h)] (3·out_dim).

    ``backbone`` is the time encoder that stage 1 trains; ``map_ft``/``map_cwt`` are the stage-2
    mappers (``ConvMapping(hidden_channels=1)``) that the ``frame-projections`` objective trains
    on the frozen model. ``time_embedding(batch)`` is h alone.
    """

    def __init__(self, config: FrameResNet1DConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        self.backbone = ResNet1D(config, data_info)
        dim = self.backbone.embed_dim
        self.map_ft = ConvMapping(dim, config.mapper_hidden, config.mapper_kernel)
        self.map_cwt = ConvMapping(dim, config.mapper_hidden, config.mapper_kernel)
        self.embed_dim = 3 * dim

    def time_embedding(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.backbone(batch)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        h = self.backbone(batch)
        return torch.cat([self.map_ft(h), h, self.map_cwt(h)], dim=1)
