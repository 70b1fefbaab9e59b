"""Batched scene augmentations and normalisations in torch (every point of a scene shares its draw).

All functions take concatenated points with a ``batch`` index (long ``[N]``) and
draw their random parameters per scene from the global torch RNG (which the
engine seeds and checkpoints) or from a given ``generator``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "normalize_color",
    "center_shift",
    "random_rotate_z",
    "random_scale",
    "random_flip",
    "random_jitter",
    "random_crop",
    "color_jitter",
    "ViewAugmentation",
    "augmented_view",
]


def normalize_color(color: torch.Tensor) -> torch.Tensor:
    """Colours 0..255 to [-1, 1] (Pointcept's ``NormalizeColor``: ``c / 127.5 - 1``)."""
    return color / 127.5 - 1.0


def _per_scene(batch: torch.Tensor) -> int:
    return int(batch.max()) + 1 if batch.numel() else 0


def center_shift(coord: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Move each scene's x/y bounding-box centre to 0 and its lowest z to 0 (Pointcept ``CenterShift(apply_z)``)."""
    n = _per_scene(batch)
    index = batch[:, None].expand(-1, 3)
    low = coord.new_full((n, 3), float("inf")).scatter_reduce(0, index, coord, "amin")
    high = coord.new_full((n, 3), float("-inf")).scatter_reduce(0, index, coord, "amax")
    shift = (low + high) / 2
    shift[:, 2] = low[:, 2]
    return coord - shift[batch]


def random_rotate_z(
    coord: torch.Tensor, batch: torch.Tensor, max_degrees: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate each scene about z by an angle uniform in [-max_degrees, max_degrees]; returns (coord, rotations [B, 3, 3])."""
    n = _per_scene(batch)
    angle = (torch.rand(n, generator=generator, device=coord.device) * 2 - 1) * math.radians(max_degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.zeros(n, 3, 3, device=coord.device, dtype=coord.dtype)
    rotation[:, 0, 0], rotation[:, 0, 1], rotation[:, 1, 0], rotation[:, 1, 1] = cos, -sin, sin, cos
    rotation[:, 2, 2] = 1.0
    return torch.einsum("nij,nj->ni", rotation[batch], coord), rotation


def random_scale(
    coord: torch.Tensor, batch: torch.Tensor, low: float, high: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Scale each scene isotropically by a factor uniform in [low, high]."""
    factor = low + (high - low) * torch.rand(_per_scene(batch), generator=generator, device=coord.device)
    return coord * factor[batch, None]


def random_flip(
    coord: torch.Tensor, batch: torch.Tensor, probability: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror x (and independently y) of each scene with ``probability``; returns (coord, signs [B, 3])."""
    n = _per_scene(batch)
    flips = torch.rand(n, 2, generator=generator, device=coord.device) < probability
    signs = torch.ones(n, 3, device=coord.device, dtype=coord.dtype)
    signs[:, :2] = torch.where(flips, -1.0, 1.0)
    return coord * signs[batch], signs


def random_jitter(coord: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``sigma`` to every coordinate."""
    if sigma <= 0:
        return coord
    return coord + sigma * torch.randn(coord.shape, generator=generator, device=coord.device, dtype=coord.dtype)


def random_crop(
    coord: torch.Tensor,
    batch: torch.Tensor,
    low: float,
    high: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A boolean mask keeping, per scene, the points inside a random x/y box.

    The box's sides are a fraction uniform in [low, high] of the scene's x/y
    extent. Its centre is a random point of the scene moved (by at most half a side)
    so that the box lies inside the scene's x/y bounds: the box keeps that point, so
    no crop is empty, and it covers the chosen fraction of the extent.
    """
    n = _per_scene(batch)
    index = batch[:, None].expand(-1, 3)
    low_xyz = coord.new_full((n, 3), float("inf")).scatter_reduce(0, index, coord, "amin")
    high_xyz = coord.new_full((n, 3), float("-inf")).scatter_reduce(0, index, coord, "amax")
    fraction = low + (high - low) * torch.rand(n, 1, generator=generator, device=coord.device)
    half = (high_xyz - low_xyz)[:, :2] * fraction / 2
    # a random point of each scene as the centre: the point with the largest random key
    key = torch.rand(coord.shape[0], generator=generator, device=coord.device)
    best = key.new_full((n,), -1.0).scatter_reduce(0, batch, key, "amax")
    is_centre = key == best[batch]
    centre = coord.new_zeros(n, 3)
    centre[batch[is_centre]] = coord[is_centre]
    centre_xy = torch.maximum(torch.minimum(centre[:, :2], high_xyz[:, :2] - half), low_xyz[:, :2] + half)
    centre = torch.cat([centre_xy, centre[:, 2:]], dim=1)
    inside = ((coord[:, :2] - centre[batch, :2]).abs() <= half[batch]).all(dim=1)
    return inside


def color_jitter(feat: torch.Tensor, sigma: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``sigma`` to the first 3 (normalised colour) channels."""
    if sigma <= 0:
        return feat
    noise = sigma * torch.randn(feat.shape[0], 3, generator=generator, device=feat.device, dtype=feat.dtype)
    return torch.cat([feat[:, :3] + noise, feat[:, 3:]], dim=1)


@dataclass(frozen=True)
class ViewAugmentation:
    """Settings of :func:`augmented_view` (MSM's and Pointcept's scene augmentations)."""

    crop_fraction: tuple[float, float] = (0.6, 0.9)
    rotation: float = 180.0
    scale: tuple[float, float] = (0.9, 1.1)
    flip: float = 0.5
    jitter: float = 0.005
    color_jitter: float = 0.05


def augmented_view(
    coord: torch.Tensor,
    feat: torch.Tensor,
    batch: torch.Tensor,
    settings: ViewAugmentation,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One random view of every scene: ``(index, coord, feat, batch)``, ``index`` (long) naming the source points.

    Crops each scene to a random x/y box, then rotates it about z, scales, mirrors and
    jitters it; colours (channels 0-2) get noise and normals (channels 3-5, when present)
    are rotated and mirrored with the points.
    """
    keep = random_crop(coord, batch, settings.crop_fraction[0], settings.crop_fraction[1], generator)
    index = keep.nonzero()[:, 0]
    view_coord, view_feat, view_batch = coord[index], feat[index], batch[index]
    view_coord, rotation = random_rotate_z(view_coord, view_batch, settings.rotation, generator)
    view_coord = random_scale(view_coord, view_batch, settings.scale[0], settings.scale[1], generator)
    view_coord, signs = random_flip(view_coord, view_batch, settings.flip, generator)
    view_coord = random_jitter(view_coord, settings.jitter, generator)
    if view_feat.shape[1] >= 6:
        normal = torch.einsum("nij,nj->ni", rotation[view_batch], view_feat[:, 3:6]) * signs[view_batch]
        view_feat = torch.cat([view_feat[:, :3], normal, view_feat[:, 6:]], dim=1)
    view_feat = color_jitter(view_feat, settings.color_jitter, generator)
    return index, view_coord, view_feat, view_batch
