"""The frame-view encoders, projectors and mappers of frame projections.

Follows ``eth-siplab/Learning-with-FrameProjections``:

* :class:`ConvMapping` — ``models/models_nc.py:ConvMapping``: the vector as a 1-channel sequence,
  Conv1d(1→hidden, k, stride 2, pad k//2) → ReLU → ConvTranspose1d(hidden→1, k, stride 2, pad k//2,
  output_padding 1), which restores an even length exactly (an odd one is cropped back: deviation,
  the official code only uses 128);
* :class:`CWTEncoder` — ``UNET_2D_simp`` (the encoder half that the official forward uses):
  conv-BN-ReLU blocks with 32/64/96/128 filters, strides 1/2/2/2, the input average-pooled by 2
  and 4 concatenated before blocks 3 and 4, then ``fc`` over the remaining time steps and ``fc2``
  over the remaining scales. Deviation: the official ``fc`` sizes are hard-coded per input
  length (T 100/128/200/480/1000); here they are computed from the length, and the pools use
  ``ceil_mode=True`` so that odd sizes line up with the strided convolutions (identical to the
  official pools whenever the official code runs at all);
* :class:`FourierEncoder` — ``FourierEncoder``: amplitude and phase branches, each Conv1d(C→16)
  → ReLU → two ``BasicBlock`` (16→32→64, stride 2, no BN, no dropout) → ``fc`` over the
  remaining bins; the branches concatenated (64 + 64 = 128). ``FourierAutoencoder``'s decoders
  are not used by the loss (the official ``IsoAlign`` keeps only its latent), so they are left out;
* :class:`Projector` — ``models/backbones.py:Projector(model='IsoAlign')``.

When the time encoder's width differs from 128 (the official out_dim), a Linear adapter maps the
CWT and FT embeddings to it (deviation; identity at the official sizes).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import BasicBlock

__all__ = ["ConvMapping", "CWTEncoder", "FourierEncoder", "Projector", "conv_out"]


def conv_out(length: int, kernel_size: int, stride: int, padding: int) -> int:
    """The output length of a convolution."""
    return (length + 2 * padding - kernel_size) // stride + 1


class ConvMapping(nn.Module):
    """``[B, D]`` → ``[B, D]`` through a strided conv and a transposed conv (see the module docstring)."""

    def __init__(self, dim: int, hidden_channels: int = 64, kernel_size: int = 3) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.dim = dim
        self.conv1 = nn.Conv1d(1, hidden_channels, kernel_size=kernel_size, stride=2, padding=padding)
        self.deconv = nn.ConvTranspose1d(hidden_channels, 1, kernel_size=kernel_size, stride=2, padding=padding,
                                         output_padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.deconv(F.relu(self.conv1(x.unsqueeze(1))))
        return out.squeeze(1)[:, : self.dim]


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int) -> nn.Sequential:
    # conbr_block_2d wrapped in down_layer_2d's Sequential: the state-dict keys are layerN.0.{0,1}
    return nn.Sequential(nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=stride, padding=kernel_size // 2),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ))


class CWTEncoder(nn.Module):
    """``UNET_2D_simp``'s encoder on ``[B, C, S, T]`` scalograms → ``[B, 4·filters]``."""

    def __init__(self, in_channels: int, num_scales: int, length: int, filters: int = 32, kernel_size: int = 5) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.pool2 = nn.AvgPool2d(kernel_size=2, stride=2, ceil_mode=True)
        self.pool4 = nn.AvgPool2d(kernel_size=4, stride=4, ceil_mode=True)
        self.layer1 = _conv_bn_relu(in_channels, filters, kernel_size, 1)
        self.layer2 = _conv_bn_relu(filters, filters * 2, kernel_size, 2)
        self.layer3 = _conv_bn_relu(filters * 2 + in_channels, filters * 3, kernel_size, 2)
        self.layer4 = _conv_bn_relu(filters * 3 + in_channels, filters * 4, kernel_size, 2)
        scales, steps = num_scales, length
        for _ in range(3):
            scales, steps = conv_out(scales, kernel_size, 2, pad), conv_out(steps, kernel_size, 2, pad)
        self.fc = nn.Linear(steps, 1)
        self.fc2 = nn.Linear(scales, 1)
        self.out_dim = filters * 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer2(self.layer1(x))
        out = self.layer3(torch.cat([out, self.pool2(x)], dim=1))
        out = self.layer4(torch.cat([out, self.pool4(x)], dim=1))
        return self.fc2(self.fc(out).squeeze(-1)).squeeze(-1)


class FourierEncoder(nn.Module):
    """``FourierEncoder`` on the complex one-sided spectrum ``[B, C, F]`` → ``[B, 128]``."""

    def __init__(self, in_channels: int, length: int, kernel_size: int = 3) -> None:
        super().__init__()
        def branch() -> tuple[nn.Conv1d, nn.Module, nn.Module]:
            conv = nn.Conv1d(in_channels, 16, kernel_size=kernel_size, stride=1, padding=kernel_size // 2)
            block1 = BasicBlock(16, 32, kernel_size, 2, downsample=True, use_bn=False, use_do=False, is_first_block=True)
            block2 = BasicBlock(32, 64, kernel_size, 2, downsample=True, use_bn=False, use_do=False)
            return conv, block1, block2

        self.abs_conv, self.abs_block1, self.abs_block2 = branch()
        self.ang_conv, self.ang_block1, self.ang_block2 = branch()
        bins = conv_out(length // 2 + 1, kernel_size, 1, kernel_size // 2)
        bins = math.ceil(math.ceil(bins / 2) / 2)
        self.fc_abs = nn.Linear(bins, 1)
        self.fc_angle = nn.Linear(bins, 1)
        self.out_dim = 128

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        a = self.abs_block2(self.abs_block1(F.relu(self.abs_conv(spectrum.abs().float()))))
        p = self.ang_block2(self.ang_block1(F.relu(self.ang_conv(spectrum.angle().float()))))
        return torch.cat([self.fc_abs(a).squeeze(-1), self.fc_angle(p).squeeze(-1)], dim=1)


class Projector(nn.Module):
    """``Projector(model='IsoAlign')``: Linear(bb, bb) → ReLU → Linear(bb, dim)."""

    def __init__(self, bb_dim: int, dim: int = 128) -> None:
        super().__init__()
        self.projector = nn.Sequential(nn.Linear(bb_dim, bb_dim), nn.ReLU(), nn.Linear(bb_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(x)
