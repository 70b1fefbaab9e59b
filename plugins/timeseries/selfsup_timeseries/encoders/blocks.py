"""Building blocks of the official 1-D ResNet (``models/models_nc.py``): SAME-padded conv and max-pool, and
``BasicBlock`` — layer for layer as ``eth-siplab/Learning-with-FrameProjections`` (Hong et al.'s ``resnet1d``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Conv1dPadSame", "MaxPool1dPadSame", "BasicBlock"]


def _same_padding(length: int, stride: int, kernel_size: int) -> tuple[int, int]:
    out = (length + stride - 1) // stride
    total = max(0, (out - 1) * stride + kernel_size - length)
    return total // 2, total - total // 2


class Conv1dPadSame(nn.Module):
    """``MyConv1dPadSame``: Conv1d with TensorFlow-style SAME padding (output length ⌈T/stride⌉)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, groups: int = 1) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size=kernel_size, stride=stride, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, _same_padding(x.shape[-1], self.stride, self.kernel_size)))


class MaxPool1dPadSame(nn.Module):
    """``MyMaxPool1dPadSame``: pads ``kernel_size - 1`` (computed with stride 1) then MaxPool1d(kernel_size)."""

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.pool = nn.MaxPool1d(kernel_size=kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.pad(x, _same_padding(x.shape[-1], 1, self.kernel_size)))


class BasicBlock(nn.Module):
    """``BasicBlock``: (BN →) ReLU (→ Dropout) → conv → (BN →) ReLU (→ Dropout) → conv, plus the
    identity (max-pooled when downsampling, zero-padded on both sides when widening)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        *,
        downsample: bool,
        use_bn: bool,
        use_do: bool,
        is_first_block: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.downsample = downsample
        self.stride = stride if downsample else 1
        self.is_first_block, self.use_bn, self.use_do = is_first_block, use_bn, use_do
        # the official block also builds bn1 in the first block and both norms without use_bn, but never
        # uses them; they are left out here so that every parameter receives a gradient
        self.bn1 = nn.BatchNorm1d(in_channels) if use_bn and not is_first_block else nn.Identity()
        self.do1 = nn.Dropout(p=0.5)
        self.conv1 = Conv1dPadSame(in_channels, out_channels, kernel_size, self.stride)
        self.bn2 = nn.BatchNorm1d(out_channels) if use_bn else nn.Identity()
        self.do2 = nn.Dropout(p=0.5)
        self.conv2 = Conv1dPadSame(out_channels, out_channels, kernel_size, 1)
        self.max_pool = MaxPool1dPadSame(kernel_size=self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = x
        if not self.is_first_block:
            if self.use_bn:
                out = self.bn1(out)
            out = F.relu(out)
            if self.use_do:
                out = self.do1(out)
        out = self.conv1(out)
        if self.use_bn:
            out = self.bn2(out)
        out = F.relu(out)
        if self.use_do:
            out = self.do2(out)
        out = self.conv2(out)
        if self.downsample:
            identity = self.max_pool(identity)
        if self.out_channels != self.in_channels:
            extra = self.out_channels - self.in_channels
            identity = F.pad(identity.transpose(-1, -2), (extra // 2, extra - extra // 2)).transpose(-1, -2)
        return out + identity
