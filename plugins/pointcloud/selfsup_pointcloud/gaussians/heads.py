r"""GaussianCross's Gaussian decoder (arXiv 2508.02172, sec. 3.2–3.3; methods-3d.md §2.1 steps 2–3).

From per-point backbone features F_s of the *visible* points:

1. mean-pool them into their anchors (occupied voxels of the unit-cube lattice); anchors
   whose points are all masked get a learned mask token; an occupancy channel marks which
   anchors saw points;
2. scatter the anchors into a dense ``[B, C, R, R, R]`` volume and refine it with a dense
   3-D CNN (E_θ^den, 3x3x3 convolutions), then read the volume back at the anchors: F_d;
3. MLP heads 𝒢 decode, per anchor ν (unit-cube units, voxel side 1/R):

   * offset :math:`\delta = \tanh(\mathcal G_\delta)\,\Delta`, mean :math:`\mu = \nu + \delta`;
   * rotation q (normalised in the renderer; initialised at the identity);
   * scale :math:`s = \operatorname{sigmoid}(\mathcal G_s) \cdot s_{max}/R`;
   * colour :math:`c = \operatorname{sigmoid}(\mathcal G_c)`, opacity :math:`\sigma = \operatorname{sigmoid}(\mathcal G_\sigma)`;
   * a low-dimensional semantic feature f.

:meth:`GaussianSet.to_world` maps means and scales back to metres with the scene's unit cube.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .anchors import Anchors, UnitCube

__all__ = ["GaussianSet", "GaussianHeads"]


@dataclass
class GaussianSet:
    """Gaussians of a batch of scenes, one per anchor; ``batch`` gives each one's scene."""

    means: torch.Tensor  # [A, 3]
    quats: torch.Tensor  # [A, 4] (w, x, y, z), unnormalised
    scales: torch.Tensor  # [A, 3]
    opacities: torch.Tensor  # [A]
    colors: torch.Tensor  # [A, 3] in 0..1
    features: torch.Tensor  # [A, F]
    batch: torch.Tensor  # long [A]

    def to_world(self, cube: UnitCube) -> GaussianSet:
        """Means and scales in the scene's metres (the inverse of the unit-cube map)."""
        extent = cube.extent[self.batch]
        return GaussianSet(
            means=cube.origin[self.batch] + self.means * extent[:, None],
            quats=self.quats, scales=self.scales * extent[:, None], opacities=self.opacities,
            colors=self.colors, features=self.features, batch=self.batch,
        )

    def keep(self, threshold: float) -> torch.Tensor:
        """Boolean ``[A]``: the Gaussians that survive opacity pruning (σ > τ)."""
        return self.opacities > threshold


class GaussianHeads(nn.Module):
    """Anchor features → Gaussians (see the module docstring)."""

    def __init__(
        self,
        in_dim: int,
        *,
        channels: int = 32,
        dense_layers: int = 2,
        feature_dim: int = 16,
        offset_voxels: float = 1.0,
        max_scale_voxels: float = 1.5,
    ) -> None:
        super().__init__()
        self.mask_token = nn.Parameter(torch.zeros(in_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.inp = nn.Linear(in_dim + 1, channels)
        self.dense = nn.ModuleList(
            [nn.Conv3d(channels, channels, kernel_size=3, padding=1) for _ in range(dense_layers)]
        )
        self.norms = nn.ModuleList([nn.GroupNorm(min(8, channels), channels) for _ in range(dense_layers)])
        self.trunk = nn.Sequential(nn.Linear(channels, channels), nn.GELU())
        self.offset = nn.Linear(channels, 3)
        self.rotation = nn.Linear(channels, 4)
        self.scale = nn.Linear(channels, 3)
        self.color = nn.Linear(channels, 3)
        self.opacity = nn.Linear(channels, 1)
        self.feature = nn.Linear(channels, feature_dim)
        with torch.no_grad():
            self.rotation.weight.mul_(0.1)
            self.rotation.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
            self.opacity.bias.fill_(1.0)  # σ ≈ 0.73 at the start: above the pruning threshold
        self.offset_voxels = float(offset_voxels)
        self.max_scale_voxels = float(max_scale_voxels)
        self.feature_dim = int(feature_dim)

    def anchor_features(self, point_features: torch.Tensor, visible: torch.Tensor, anchors: Anchors) -> torch.Tensor:
        """Mean of the visible points' features per anchor, the mask token elsewhere, plus occupancy: ``[A, D + 1]``."""
        num_anchors = anchors.grid.shape[0]
        index = anchors.point_to_anchor[visible]
        sums = point_features.new_zeros(num_anchors, point_features.shape[1]).index_add_(0, index, point_features)
        counts = point_features.new_zeros(num_anchors).index_add_(0, index, torch.ones_like(index, dtype=sums.dtype))
        seen = counts > 0
        pooled = torch.where(seen[:, None], sums / counts.clamp_min(1.0)[:, None], self.mask_token.expand_as(sums))
        return torch.cat((pooled, seen[:, None].to(pooled.dtype)), dim=1)

    def refine(self, features: torch.Tensor, anchors: Anchors, num_scenes: int) -> torch.Tensor:
        """The dense 3-D CNN over the ``R``³ lattice, read back at the anchors: ``[A, channels]``."""
        r = anchors.resolution
        x = self.inp(features)
        flat = anchors.flat_index
        volume = x.new_zeros(num_scenes * r**3, x.shape[1]).index_copy(0, flat, x)
        volume = volume.reshape(num_scenes, r, r, r, -1).permute(0, 4, 1, 2, 3)
        for conv, norm in zip(self.dense, self.norms):
            volume = volume + nn.functional.gelu(norm(conv(volume)))
        return volume.permute(0, 2, 3, 4, 1).reshape(num_scenes * r**3, -1)[flat]

    def forward(self, point_features: torch.Tensor, visible: torch.Tensor, anchors: Anchors, num_scenes: int) -> GaussianSet:
        """Gaussians in unit-cube coordinates, one per anchor."""
        hidden = self.trunk(self.refine(self.anchor_features(point_features, visible, anchors), anchors, num_scenes))
        voxel = 1.0 / anchors.resolution
        return GaussianSet(
            means=anchors.centres.to(hidden.dtype) + torch.tanh(self.offset(hidden)) * (self.offset_voxels * voxel),
            quats=self.rotation(hidden),
            scales=torch.sigmoid(self.scale(hidden)) * (self.max_scale_voxels * voxel),
            opacities=torch.sigmoid(self.opacity(hidden)).squeeze(-1),
            colors=torch.sigmoid(self.color(hidden)),
            features=self.feature(hidden),
            batch=anchors.batch,
        )
