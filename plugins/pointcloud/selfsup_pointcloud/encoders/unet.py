"""``point-unet``: a hierarchical voxel U-Net in pure torch (the scaled-down sparse-conv U-Net of
MSM's HUNet and GaussianCross's SpUNet; methods-3d.md §1.1, §2.2).

Level ``l`` holds the occupied voxels of side ``grid_size * 2**l`` (an octree built by
:func:`~selfsup_pointcloud.ops.build_hierarchy`). The encoder has ``blocks`` residual
blocks of submanifold 3x3x3 convolutions per level and a kernel-2 stride-2 convolution
between levels; the decoder goes back up from the coarsest level with transposed
convolutions and fuses the encoder's feature of each level through a norm + linear
skip, as HUNet does. :meth:`PointUNet.decode` returns the decoder's features at every
level (finest first); ``forward`` returns the finest level's feature of every input
point (the ``embed_dim``-wide representation probes read), and
:meth:`PointUNet.point_levels` samples every level at every point by trilinear
interpolation (MSM's multi-resolution protocol, §1.2).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError, DatasetError
from selfsup.interfaces import Batch

from ..configs import PointUNetConfig
from ..ops import GridHierarchy, build_hierarchy, grid_pool, trilinear_weights
from .layers import DownConv, NormAct, ResBlock, UpConv

__all__ = ["PointUNet", "build_point_unet"]


class _Stage(nn.Module):
    def __init__(self, channels: int, blocks: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([ResBlock(channels) for _ in range(blocks)])

    def forward(self, x: torch.Tensor, level: Any) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, level)
        return x


class PointUNet(nn.Module):
    """See the module docstring. ``embed_dim = decoder_channels[0]``; ``multires_dim = sum(decoder_channels)``."""

    #: ``selfsup export``: only safetensors. Voxelisation packs each voxel into an int64 key with
    #: shifts and bitwise OR (ONNX has no bitwise OR on integers: the exporter refuses it) and
    #: finds the occupied voxels with ``torch.unique``, whose count depends on the cloud, so a
    #: traced TorchScript graph keeps the example cloud's voxel counts and fails on another cloud.
    export_formats = ("safetensors",)
    export_note = (
        "its voxelisation packs voxel keys with int64 bitwise OR (not in ONNX) and counts occupied voxels "
        "with torch.unique, so a traced graph is fixed to the example cloud's voxel counts"
    )

    def __init__(
        self,
        in_channels: int,
        *,
        grid_size: float,
        channels: list[int],
        decoder_channels: list[int],
        blocks: int = 1,
    ) -> None:
        super().__init__()
        if len(channels) != len(decoder_channels) or not channels:
            raise ConfigError(
                f"point-unet: channels {list(channels)} and decoder_channels {list(decoder_channels)} must have one "
                "entry per level (the same non-zero length). Use e.g. channels=[32,64,96] decoder_channels=[48,64,96]."
            )
        if grid_size <= 0 or blocks < 0 or min(channels) < 1 or min(decoder_channels) < 1:
            raise ConfigError(
                f"point-unet: grid_size={grid_size} must be > 0, blocks={blocks} >= 0 and every channel count >= 1. "
                "Use e.g. grid_size=0.08 blocks=1."
            )
        self.in_channels = int(in_channels)
        self.grid_size = float(grid_size)
        self.num_levels = len(channels)
        self.channels = [int(c) for c in channels]
        self.decoder_channels = [int(c) for c in decoder_channels]
        self.embed_dim = self.decoder_channels[0]
        self.multires_dim = sum(self.decoder_channels)
        levels = range(self.num_levels)
        self.stem = nn.Sequential(nn.Linear(self.in_channels, channels[0]), NormAct(channels[0]))
        self.encoder_stages = nn.ModuleList([_Stage(channels[i], blocks) for i in levels])
        self.down = nn.ModuleList([DownConv(channels[i], channels[i + 1]) for i in levels[:-1]])
        self.down_act = nn.ModuleList([NormAct(channels[i + 1]) for i in levels[:-1]])
        self.skip = nn.ModuleList(
            [nn.Sequential(nn.LayerNorm(channels[i]), nn.Linear(channels[i], decoder_channels[i])) for i in levels]
        )
        self.up = nn.ModuleList([UpConv(decoder_channels[i + 1], decoder_channels[i]) for i in levels[:-1]])
        self.up_act = nn.ModuleList([NormAct(decoder_channels[i]) for i in levels])
        self.decoder_stages = nn.ModuleList([_Stage(decoder_channels[i], blocks) for i in levels])

    # -- structure -----------------------------------------------------------------------------
    def voxelize(self, coord: torch.Tensor, batch: torch.Tensor, origin: torch.Tensor | None = None) -> GridHierarchy:
        """The batch's voxel octree with ``num_levels`` levels (level 0 at ``grid_size``)."""
        return build_hierarchy(coord, batch, self.grid_size, self.num_levels, origin=origin)

    def _check(self, batch: Batch) -> None:
        feat = batch["feat"]
        if feat.ndim != 2 or feat.shape[1] != self.in_channels:
            raise DatasetError(
                f"point-unet: point features have shape {tuple(feat.shape)}, expected [N, {self.in_channels}]. "
                "Use the dataset the encoder was built for (data_info['feature_channels'])."
            )

    # -- network ------------------------------------------------------------------------------
    def embed_voxels(self, feat: torch.Tensor, hierarchy: GridHierarchy) -> torch.Tensor:
        """Mean of the point features in every level-0 voxel, through the stem (``[M_0, channels[0]]``)."""
        pooled = grid_pool(feat, hierarchy.point_to_voxel, hierarchy.levels[0].size, "mean")
        return self.stem(pooled)

    def encode(self, x: torch.Tensor, hierarchy: GridHierarchy) -> list[torch.Tensor]:
        """Encoder features of every level, finest first (``[M_l, channels[l]]``)."""
        skips = []
        for index, stage in enumerate(self.encoder_stages):
            level = hierarchy.levels[index]
            if index > 0:
                x = self.down_act[index - 1](self.down[index - 1](x, hierarchy.levels[index - 1], level.size))
            x = stage(x, level)
            skips.append(x)
        return skips

    def decode(self, skips: list[torch.Tensor], hierarchy: GridHierarchy, *, return_inputs: bool = False) -> Any:
        """Decoder features of every level, finest first (``[M_l, decoder_channels[l]]``).

        Runs coarsest first: level ``L-1`` starts from its skip alone; level ``l`` adds the
        transposed convolution of level ``l+1``'s output to its own skip. ``skips[l]`` may hold
        rows the encoder never saw (MSM puts mask tokens there). With ``return_inputs`` it also
        returns each level's fused input before its residual blocks.
        """
        outputs: list[torch.Tensor] = [torch.empty(0)] * self.num_levels
        inputs: list[torch.Tensor] = [torch.empty(0)] * self.num_levels
        x: torch.Tensor | None = None
        for index in reversed(range(self.num_levels)):
            level = hierarchy.levels[index]
            fused = self.skip[index](skips[index])
            if x is not None:
                fused = fused + self.up[index](x, level)
            fused = self.up_act[index](fused)
            inputs[index] = fused
            x = self.decoder_stages[index](fused, level)
            outputs[index] = x
        return (outputs, inputs) if return_inputs else outputs

    def voxel_levels(self, batch: Batch) -> tuple[GridHierarchy, list[torch.Tensor]]:
        """The hierarchy of ``batch`` and the decoder's voxel features at every level."""
        self._check(batch)
        hierarchy = self.voxelize(batch["coord"], batch["batch"])
        return hierarchy, self.decode(self.encode(self.embed_voxels(batch["feat"], hierarchy), hierarchy), hierarchy)

    def forward(self, batch: Batch) -> torch.Tensor:
        """Per-point features ``[N, embed_dim]``: the finest decoder level at each point's voxel."""
        hierarchy, levels = self.voxel_levels(batch)
        return levels[0][hierarchy.point_to_voxel]

    def point_levels(self, batch: Batch) -> list[torch.Tensor]:
        """Every decoder level sampled at every point by trilinear interpolation, finest first."""
        return self._sample_levels(batch, *self.voxel_levels(batch))

    def feature_sets(self, batch: Batch) -> dict[str, torch.Tensor]:
        """``{"last": forward(batch), "multires": multires(batch)}`` from one pass of the network."""
        hierarchy, levels = self.voxel_levels(batch)
        return {
            "last": levels[0][hierarchy.point_to_voxel],
            "multires": torch.cat(self._sample_levels(batch, hierarchy, levels), dim=1),
        }

    def _sample_levels(self, batch: Batch, hierarchy: GridHierarchy, levels: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for index, features in enumerate(levels):
            corner, weight = trilinear_weights(hierarchy, batch["coord"], batch["batch"], index)
            padded = torch.cat([features, features.new_zeros(1, features.shape[1])])
            out.append((padded[corner] * weight[..., None]).sum(dim=1))
        return out

    def multires(self, batch: Batch) -> torch.Tensor:
        """MSM's per-point multi-resolution feature: :meth:`point_levels` concatenated ``[N, multires_dim]``."""
        return torch.cat(self.point_levels(batch), dim=1)


def build_point_unet(config: PointUNetConfig, data_info: Any) -> PointUNet:
    """The registry's factory: input width from ``data_info['feature_channels']`` (6: colour + normal)."""
    return PointUNet(
        int(data_info.get("feature_channels", 6)),
        grid_size=config.grid_size,
        channels=list(config.channels),
        decoder_channels=list(config.decoder_channels),
        blocks=config.blocks,
    )
