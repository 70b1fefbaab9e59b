"""Point-cloud operations in vectorised torch: voxel keys, grid sampling, grid hierarchies, kNN, FPS.

Every function works on a *batch* of scenes stored as concatenated points with a
``batch`` index (``long [N]``, scene of each point), the layout of Pointcept and
torch-geometric. Nothing loops over points in Python; the only Python loop is
FPS's loop over the samples it picks (as in every CPU FPS).

Voxel keys pack ``(batch, x, y, z)`` into one int64:
``key = batch << 48 | (x + 1) << 32 | (y + 1) << 16 | (z + 1)``, so grid
coordinates must lie in ``[0, 65533]`` and a batch holds at most 32767 scenes
(:func:`pack_keys` raises otherwise). The ``+ 1`` keeps the keys of the 3x3x3
neighbourhood of a voxel at coordinate 0 non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from selfsup.errors import ComponentError

__all__ = [
    "MAX_GRID",
    "grid_coordinates",
    "pack_keys",
    "grid_sample",
    "GridLevel",
    "GridHierarchy",
    "build_hierarchy",
    "hierarchy_from_grid",
    "lookup_keys",
    "scene_origin",
    "trilinear_weights",
    "grid_pool",
    "grid_unpool",
    "knn",
    "farthest_point_sampling",
    "NEIGHBOUR_OFFSETS",
]

MAX_GRID = (1 << 16) - 3
_BITS = 16

#: The 27 offsets of a 3x3x3 neighbourhood, centre at index 13.
NEIGHBOUR_OFFSETS = torch.stack(
    torch.meshgrid(torch.arange(-1, 2), torch.arange(-1, 2), torch.arange(-1, 2), indexing="ij"), dim=-1
).reshape(27, 3)


def grid_coordinates(coord: torch.Tensor, batch: torch.Tensor, grid_size: float) -> torch.Tensor:
    """Integer voxel coordinates ``floor((p - min_b) / grid_size)`` (long ``[N, 3]``), ``min_b`` per scene."""
    if grid_size <= 0:
        raise ComponentError(f"grid_size must be > 0, got {grid_size}. Use e.g. grid_size=0.05 (metres).")
    return torch.floor((coord - scene_origin(coord, batch)[batch]) / grid_size).long()


def pack_keys(batch: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """One int64 key per voxel ``(batch, x, y, z)``; see the module docstring for the layout."""
    if grid.numel() and (int(grid.min()) < -1 or int(grid.max()) > MAX_GRID):
        raise ComponentError(
            f"Voxel coordinates span [{int(grid.min())}, {int(grid.max())}], outside [0, {MAX_GRID}]. "
            "Use a larger grid_size or crop the scene."
        )
    if batch.numel() and int(batch.max()) >= 1 << 15:
        raise ComponentError("A batch holds more than 32767 scenes. Use a smaller batch size.")
    g = grid + 1
    return (batch.long() << 48) | (g[:, 0] << 32) | (g[:, 1] << 16) | g[:, 2]


def grid_sample(
    coord: torch.Tensor,
    batch: torch.Tensor,
    grid_size: float,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep one point per occupied voxel (Pointcept's ``GridSample``, mode ``train``).

    Returns ``(keep, inverse)``: ``keep`` (long ``[M]``) indexes the kept points,
    sorted by voxel key; ``inverse`` (long ``[N]``) maps every input point to the
    position of its voxel in ``keep``. With a ``generator`` the kept point of a
    voxel is uniformly random; without one it is the voxel's first point.
    """
    keys = pack_keys(batch, grid_coordinates(coord, batch, grid_size))
    _, inverse = torch.unique(keys, return_inverse=True)
    n = keys.shape[0]
    order = torch.randperm(n, generator=generator, device=coord.device) if generator is not None else None
    ranked = inverse if order is None else inverse[order]
    sorted_cluster, position = torch.sort(ranked, stable=True)
    first = torch.ones_like(sorted_cluster, dtype=torch.bool)
    first[1:] = sorted_cluster[1:] != sorted_cluster[:-1]
    chosen = position[first]
    keep = chosen if order is None else order[chosen]
    return keep, inverse


@dataclass
class GridLevel:
    """One resolution level of a :class:`GridHierarchy` (voxel side ``grid_size * 2**level``).

    ``grid`` long ``[M, 3]`` and ``batch`` long ``[M]`` describe the occupied
    voxels, sorted by key; ``neighbours`` long ``[M, 27]`` holds the index of each
    voxel's 3x3x3 neighbours (``M`` where the neighbour is empty, i.e. a padding
    row); ``parent`` (long ``[M]``) is the voxel of the next coarser level that
    contains it and ``child_offset`` (long ``[M]``, 0..7) its octant there
    (both ``None`` on the coarsest level).
    """

    grid: torch.Tensor
    batch: torch.Tensor
    keys: torch.Tensor
    neighbours: torch.Tensor
    parent: torch.Tensor | None = None
    child_offset: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return int(self.grid.shape[0])


@dataclass
class GridHierarchy:
    """The voxel octree of a batch: ``point_to_voxel`` maps input points to level-0 voxels."""

    levels: list[GridLevel]
    point_to_voxel: torch.Tensor
    #: Lattice origin per scene ``[B, 3]`` and level-0 voxel side (set by :func:`build_hierarchy`).
    origin: torch.Tensor | None = None
    grid_size: float = 0.0

    def voxel_of_points(self, level: int) -> torch.Tensor:
        """The level-``level`` voxel of every input point (long ``[N]``)."""
        index = self.point_to_voxel
        for lower in self.levels[:level]:
            assert lower.parent is not None
            index = lower.parent[index]
        return index

    def descend(self, index: torch.Tensor, from_level: int, to_level: int) -> torch.Tensor:
        """Map level-``from_level`` voxel indices to the level-``to_level`` voxels that contain them."""
        for lower in self.levels[from_level:to_level]:
            assert lower.parent is not None
            index = lower.parent[index]
        return index


def _neighbour_map(keys: torch.Tensor, batch: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    offsets = NEIGHBOUR_OFFSETS.to(grid.device)
    query = pack_keys(batch[:, None].expand(-1, 27).reshape(-1), (grid[:, None, :] + offsets).reshape(-1, 3))
    return lookup_keys(keys, query).reshape(-1, 27)


def lookup_keys(keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Position of every ``query`` key in the sorted ``keys``, or ``len(keys)`` where it is absent."""
    if keys.numel() == 0:
        return torch.zeros_like(query)
    position = torch.searchsorted(keys, query).clamp_(max=keys.shape[0] - 1)
    return torch.where(keys[position] == query, position, torch.full_like(position, keys.shape[0]))


def scene_origin(coord: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """The per-scene minimum corner ``[B, 3]`` that :func:`grid_coordinates` measures from."""
    num_scenes = int(batch.max()) + 1 if batch.numel() else 0
    low = torch.full((num_scenes, 3), float("inf"), dtype=coord.dtype, device=coord.device)
    return low.scatter_reduce(0, batch[:, None].expand(-1, 3), coord, reduce="amin", include_self=True)


def build_hierarchy(
    coord: torch.Tensor,
    batch: torch.Tensor,
    grid_size: float,
    num_levels: int,
    *,
    origin: torch.Tensor | None = None,
) -> GridHierarchy:
    """Voxelise the points at ``grid_size`` and pool the voxels ``num_levels - 1`` times by 2 in every axis.

    ``origin`` (``[B, 3]``, default: each scene's minimum corner) fixes the lattice, so that a
    subset of the points (a masked view) lands on the same voxels as the whole.
    """
    if grid_size <= 0:
        raise ComponentError(f"grid_size must be > 0, got {grid_size}. Use e.g. grid_size=0.05 (metres).")
    if coord.shape[0] == 0:
        raise ComponentError("Cannot voxelise an empty batch of points. Give every scene at least one point.")
    if origin is None:
        origin = scene_origin(coord, batch)
    grid0 = torch.floor((coord - origin[batch]) / grid_size).long()
    hierarchy = hierarchy_from_grid(grid0, batch, num_levels)
    hierarchy.origin, hierarchy.grid_size = origin, float(grid_size)
    return hierarchy


def hierarchy_from_grid(grid0: torch.Tensor, batch: torch.Tensor, num_levels: int) -> GridHierarchy:
    """The voxel octree of points with integer level-0 coordinates ``grid0`` (long ``[N, 3]``)."""
    if num_levels < 1:
        raise ComponentError(f"num_levels must be >= 1, got {num_levels}.")
    if grid0.shape[0] == 0:
        raise ComponentError("Cannot voxelise an empty batch of points. Give every scene at least one point.")
    n = grid0.shape[0]
    keys, point_to_voxel = torch.unique(pack_keys(batch, grid0), return_inverse=True)
    first = torch.full((keys.shape[0],), n, dtype=torch.long, device=grid0.device)
    first = first.scatter_reduce(0, point_to_voxel, torch.arange(n, device=grid0.device), reduce="amin")
    grid, vbatch = grid0[first], batch[first].long()
    levels: list[GridLevel] = []
    for index in range(num_levels):
        level = GridLevel(grid=grid, batch=vbatch, keys=keys, neighbours=_neighbour_map(keys, vbatch, grid))
        levels.append(level)
        if index == num_levels - 1:
            break
        coarse = torch.div(grid, 2, rounding_mode="floor")
        octant = grid - 2 * coarse
        level.child_offset = octant[:, 0] * 4 + octant[:, 1] * 2 + octant[:, 2]
        coarse_keys, level.parent = torch.unique(pack_keys(vbatch, coarse), return_inverse=True)
        rep = torch.full((coarse_keys.shape[0],), grid.shape[0], dtype=torch.long, device=grid.device)
        rep = rep.scatter_reduce(0, level.parent, torch.arange(grid.shape[0], device=grid.device), reduce="amin")
        grid, vbatch, keys = coarse[rep], vbatch[rep], coarse_keys
    return GridHierarchy(levels=levels, point_to_voxel=point_to_voxel)


def trilinear_weights(
    hierarchy: GridHierarchy, coord: torch.Tensor, batch: torch.Tensor, level: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Trilinear interpolation of level-``level`` voxel features at points: ``(index [N, 8], weight [N, 8])``.

    Voxel centres sit at ``origin + (g + 0.5) * side`` with ``side = grid_size * 2**level``.
    A point's 8 surrounding centres are looked up among the occupied voxels; empty corners
    get weight 0 and the remaining weights are renormalised (a point's own voxel is always
    occupied, so some corner always is). Features are then ``(feat[index] * weight[..., None]).sum(1)``;
    ``index`` is ``M`` (a padding row) at empty corners.
    """
    if hierarchy.origin is None:
        raise ComponentError("trilinear_weights needs a hierarchy built by build_hierarchy (with an origin).")
    side = hierarchy.grid_size * (2**level)
    table = hierarchy.levels[level]
    u = (coord - hierarchy.origin[batch]) / side - 0.5
    base = torch.floor(u)
    frac = u - base
    corners = NEIGHBOUR_OFFSETS.new_tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]).to(coord.device)
    grid = base.long()[:, None, :] + corners  # [N, 8, 3]
    index = lookup_keys(table.keys, pack_keys(batch[:, None].expand(-1, 8).reshape(-1), grid.reshape(-1, 3)))
    index = index.reshape(-1, 8)
    c = corners.to(coord.dtype)
    weight = (c * frac[:, None, :] + (1 - c) * (1 - frac[:, None, :])).prod(dim=2)
    weight = torch.where(index < table.size, weight, torch.zeros_like(weight))
    weight = weight / weight.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return index, weight


def grid_pool(features: torch.Tensor, parent: torch.Tensor, num_parents: int, reduce: str = "mean") -> torch.Tensor:
    """Pool child rows into their parents (``reduce`` is ``mean``, ``sum`` or ``amax``)."""
    out = torch.zeros(num_parents, features.shape[1], dtype=features.dtype, device=features.device)
    index = parent[:, None].expand(-1, features.shape[1])
    return out.scatter_reduce(0, index, features, reduce=reduce, include_self=False)


def grid_unpool(features: torch.Tensor, parent: torch.Tensor) -> torch.Tensor:
    """Copy every parent row to its children (the inverse of pooling for voxel-constant features)."""
    return features[parent]


def knn(queries: torch.Tensor, points: torch.Tensor, k: int, *, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest ``points`` of every query: ``(squared distances [M, k], indices [M, k])``, ascending.

    Exact, by ``torch.cdist`` over query chunks of ``chunk`` rows (memory ``chunk * N`` floats).
    """
    if not 1 <= k <= points.shape[0]:
        raise ComponentError(f"knn: k={k} must be in [1, {points.shape[0]}] (the number of points). Lower k.")
    distances, indices = [], []
    for start in range(0, queries.shape[0], chunk):
        d = torch.cdist(queries[start : start + chunk], points).pow_(2)
        value, index = d.topk(k, dim=1, largest=False)
        distances.append(value)
        indices.append(index)
    return torch.cat(distances), torch.cat(indices)


def farthest_point_sampling(points: torch.Tensor, num_samples: int, *, start: int = 0) -> torch.Tensor:
    """Indices of ``num_samples`` points picked by farthest-point sampling (PointNet++), starting at ``start``.

    Keeps the running squared distance to the picked set, d <- min(d, |p - p_last|^2),
    and picks ``argmax d`` next: O(N * num_samples), one vectorised update per sample.
    """
    n = points.shape[0]
    if not 1 <= num_samples <= n:
        raise ComponentError(f"farthest_point_sampling: num_samples={num_samples} must be in [1, {n}].")
    chosen = torch.empty(num_samples, dtype=torch.long, device=points.device)
    distance = torch.full((n,), float("inf"), dtype=points.dtype, device=points.device)
    last = int(start)
    for i in range(num_samples):
        chosen[i] = last
        distance = torch.minimum(distance, (points - points[last]).pow(2).sum(dim=1))
        last = int(distance.argmax())
    return chosen
