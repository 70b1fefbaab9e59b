"""Sparse voxel layers in pure torch: submanifold 3x3x3 convolution by neighbour gather, strided
down-convolution (kernel 2, stride 2) by scatter, and its transpose by gather.

Every layer works on the rows of one :class:`~selfsup_pointcloud.ops.GridLevel` (the occupied
voxels of a batch); nothing loops over voxels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..ops import GridLevel

__all__ = ["SubmanifoldConv", "DownConv", "UpConv", "ResBlock", "NormAct"]


class SubmanifoldConv(nn.Module):
    """``out_v = sum_{k in 3x3x3} W_k x_{v+k}`` over occupied neighbours (spconv's ``SubMConv3d``).

    The 27 neighbours of every voxel are gathered at once (a padding row of zeros
    stands in for empty ones) and multiplied by one ``[27 * C_in, C_out]`` matrix.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.linear = nn.Linear(27 * in_channels, out_channels, bias=bias)

    def forward(self, x: torch.Tensor, level: GridLevel) -> torch.Tensor:
        padded = torch.cat([x, x.new_zeros(1, x.shape[1])])
        gathered = padded.index_select(0, level.neighbours.reshape(-1))
        return self.linear(gathered.reshape(x.shape[0], 27 * self.in_channels))


class DownConv(nn.Module):
    """Kernel-2 stride-2 convolution: every child voxel contributes ``W_{octant} x_child`` to its parent."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.weight = nn.Parameter(torch.empty(8, in_channels, out_channels))
        nn.init.uniform_(self.weight, -1 / math.sqrt(in_channels), 1 / math.sqrt(in_channels))

    def forward(self, x: torch.Tensor, fine: GridLevel, num_coarse: int) -> torch.Tensor:
        assert fine.parent is not None and fine.child_offset is not None
        per_octant = torch.einsum("mc,ocd->mod", x, self.weight)  # [M, 8, C_out]
        contribution = per_octant.gather(1, fine.child_offset[:, None, None].expand(-1, 1, self.out_channels))
        out = x.new_zeros(num_coarse, self.out_channels)
        return out.index_add(0, fine.parent, contribution[:, 0])


class UpConv(nn.Module):
    """The transpose of :class:`DownConv`: every child receives ``W_{octant} x_parent``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.weight = nn.Parameter(torch.empty(8, in_channels, out_channels))
        nn.init.uniform_(self.weight, -1 / math.sqrt(in_channels), 1 / math.sqrt(in_channels))

    def forward(self, x_coarse: torch.Tensor, fine: GridLevel) -> torch.Tensor:
        assert fine.parent is not None and fine.child_offset is not None
        per_octant = torch.einsum("mc,ocd->mod", x_coarse, self.weight)  # [M_coarse, 8, C_out]
        return per_octant[fine.parent, fine.child_offset]


class NormAct(nn.Sequential):
    """LayerNorm then GELU (per voxel, so the output does not depend on the rest of the batch)."""

    def __init__(self, channels: int) -> None:
        super().__init__(nn.LayerNorm(channels), nn.GELU())


class ResBlock(nn.Module):
    """``x + norm(conv(GELU(norm(conv(x)))))`` with two submanifold 3x3x3 convolutions (post-norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = SubmanifoldConv(channels, channels)
        self.act1 = NormAct(channels)
        self.conv2 = SubmanifoldConv(channels, channels)
        self.norm2 = nn.LayerNorm(channels)
        self.act2 = nn.GELU()

    def forward(self, x: torch.Tensor, level: GridLevel) -> torch.Tensor:
        y = self.act1(self.conv1(x, level))
        return self.act2(x + self.norm2(self.conv2(y, level)))
