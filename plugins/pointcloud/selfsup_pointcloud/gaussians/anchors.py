r"""GaussianCross's cuboid-normalised anchors (arXiv 2508.02172, sec. 3.2 "Cuboid-normalised
Gaussian initialisation"; methods-3d.md §2.1 step 2) and its patch mask (step 1).

Each scene b is mapped into the unit cube by one isotropic scale,
:math:`u = (p - \min_b) / e_b` with :math:`e_b = \max_{axis}(\max_b - \min_b)`, so the
anchors do not depend on the scene's size; the cube is cut into ``R``³ voxels and every
occupied voxel (by the full, unmasked scene) becomes one Gaussian anchor ν at its centre
(:func:`voxel_anchors`), or, as in the paper, every voxel of the lattice does
(:func:`lattice_anchors`).
Everything is vectorised over the concatenated points of a batch (``batch`` ids).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from selfsup.errors import ComponentError

__all__ = ["UnitCube", "Anchors", "unit_cube", "voxel_anchors", "lattice_anchors", "patch_mask"]


@dataclass
class UnitCube:
    """Per-scene normalisation: ``unit = (coord - origin[batch]) / extent[batch]``."""

    unit: torch.Tensor  # [N, 3] in [0, 1]
    origin: torch.Tensor  # [B, 3]
    extent: torch.Tensor  # [B]


@dataclass
class Anchors:
    """The occupied voxels of the ``resolution``³ lattice, sorted by (scene, x, y, z)."""

    resolution: int
    grid: torch.Tensor  # long [A, 3]
    batch: torch.Tensor  # long [A], scene of each anchor
    point_to_anchor: torch.Tensor  # long [N]

    @property
    def centres(self) -> torch.Tensor:
        """Voxel centres ν in unit-cube coordinates ``[A, 3]``."""
        return (self.grid.to(torch.float32) + 0.5) / self.resolution

    @property
    def flat_index(self) -> torch.Tensor:
        """Index of each anchor in a dense ``[B, R, R, R]`` volume flattened (for scatter/gather)."""
        r = self.resolution
        return ((self.batch * r + self.grid[:, 0]) * r + self.grid[:, 1]) * r + self.grid[:, 2]


def unit_cube(coord: torch.Tensor, batch: torch.Tensor, num_scenes: int) -> UnitCube:
    """Map every scene into the unit cube with one isotropic scale per scene (see the module docstring)."""
    if coord.ndim != 2 or coord.shape[1] != 3 or coord.shape[0] == 0:
        raise ComponentError(f"unit_cube: coordinates have shape {tuple(coord.shape)}, expected non-empty [N, 3].")
    index = batch[:, None].expand(-1, 3)
    low = coord.new_full((num_scenes, 3), float("inf")).scatter_reduce(0, index, coord, "amin")
    high = coord.new_full((num_scenes, 3), float("-inf")).scatter_reduce(0, index, coord, "amax")
    extent = (high - low).amax(dim=1).clamp_min(1e-6)
    return UnitCube(unit=(coord - low[batch]) / extent[batch, None], origin=low, extent=extent)


def voxel_anchors(unit: torch.Tensor, batch: torch.Tensor, resolution: int) -> Anchors:
    """One anchor per occupied voxel of the ``resolution``³ lattice; ``point_to_anchor`` maps points to them."""
    if resolution < 1:
        raise ComponentError(f"voxel_anchors: resolution={resolution} must be >= 1. Use e.g. 24.")
    grid = (unit * resolution).floor().long().clamp(0, resolution - 1)
    r = resolution
    keys = ((batch * r + grid[:, 0]) * r + grid[:, 1]) * r + grid[:, 2]
    unique, inverse = torch.unique(keys, sorted=True, return_inverse=True)
    z = unique % r
    y = (unique // r) % r
    x = (unique // (r * r)) % r
    return Anchors(resolution=r, grid=torch.stack((x, y, z), dim=1), batch=unique // (r**3), point_to_anchor=inverse)


def lattice_anchors(unit: torch.Tensor, batch: torch.Tensor, num_scenes: int, resolution: int) -> Anchors:
    """Every voxel of every scene's ``resolution``³ lattice is an anchor (the paper's full lattice)."""
    if resolution < 1:
        raise ComponentError(f"lattice_anchors: resolution={resolution} must be >= 1. Use e.g. 16.")
    r = resolution
    cells = torch.arange(r**3, device=unit.device)
    grid = torch.stack((cells // (r * r), (cells // r) % r, cells % r), dim=1).repeat(num_scenes, 1)
    scenes = torch.arange(num_scenes, device=unit.device).repeat_interleave(r**3)
    point_grid = (unit * r).floor().long().clamp(0, r - 1)
    point_to_anchor = ((batch * r + point_grid[:, 0]) * r + point_grid[:, 1]) * r + point_grid[:, 2]
    return Anchors(resolution=r, grid=grid, batch=scenes, point_to_anchor=point_to_anchor)


def patch_mask(unit: torch.Tensor, batch: torch.Tensor, num_scenes: int, cells: int, ratio: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Boolean ``[N]``: True where a point is *visible*.

    The unit cube is cut into ``cells``³ patches; in every scene ``floor(ratio · occupied)``
    of its occupied patches, drawn uniformly without replacement, are hidden (at least one
    patch stays visible).
    """
    if not 0.0 <= ratio < 1.0 or cells < 1:
        raise ComponentError(f"patch_mask: ratio={ratio} must be in [0, 1) and cells={cells} >= 1. Use 0.5 and 4.")
    grid = (unit * cells).floor().long().clamp(0, cells - 1)
    keys = ((batch * cells + grid[:, 0]) * cells + grid[:, 1]) * cells + grid[:, 2]
    patches, inverse = torch.unique(keys, sorted=True, return_inverse=True)
    patch_scene = patches // cells**3
    per_scene = torch.zeros(num_scenes, dtype=torch.long, device=unit.device).index_add_(
        0, patch_scene, torch.ones_like(patch_scene))
    score = torch.rand(patches.shape[0], generator=generator, device=unit.device)
    order = torch.argsort(patch_scene.double() * 2.0 + score.double())  # scenes in order, random inside each
    start = torch.cumsum(per_scene, 0) - per_scene
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.shape[0], device=unit.device) - start[patch_scene[order]]
    hidden = rank < torch.minimum((per_scene.double() * ratio).floor().long(), per_scene - 1)[patch_scene]
    return ~hidden[inverse]
