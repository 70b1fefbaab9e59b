"""Grid sampling, the voxel octree, pooling/unpooling, trilinear sampling, kNN and FPS."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ComponentError
from selfsup_pointcloud.ops import (
    build_hierarchy,
    farthest_point_sampling,
    grid_coordinates,
    grid_pool,
    grid_sample,
    grid_unpool,
    knn,
    trilinear_weights,
)


def _two_scenes(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    coord = torch.cat([torch.rand(500, 3, generator=g) * 2.0, torch.rand(300, 3, generator=g) * 1.5 + 5.0])
    batch = torch.cat([torch.zeros(500, dtype=torch.long), torch.ones(300, dtype=torch.long)])
    return coord, batch


def test_grid_sample_keeps_one_point_per_occupied_voxel() -> None:
    coord, batch = _two_scenes()
    keep, inverse = grid_sample(coord, batch, 0.25, generator=torch.Generator().manual_seed(1))
    voxel = torch.cat([batch[:, None], grid_coordinates(coord, batch, 0.25)], dim=1)
    distinct = torch.unique(voxel, dim=0)
    assert keep.shape[0] == distinct.shape[0]
    # every kept point is in a different voxel, and every point's inverse names the kept point of its own voxel
    assert torch.unique(voxel[keep], dim=0).shape[0] == keep.shape[0]
    assert torch.equal(voxel[keep][inverse], voxel)


def test_grid_sample_draws_a_random_representative_with_a_generator() -> None:
    coord, batch = _two_scenes()
    first, _ = grid_sample(coord, batch, 0.5)
    a, _ = grid_sample(coord, batch, 0.5, generator=torch.Generator().manual_seed(1))
    b, _ = grid_sample(coord, batch, 0.5, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(a, b) and not torch.equal(a, first)


def test_hierarchy_parents_contain_their_children() -> None:
    coord, batch = _two_scenes()
    hierarchy = build_hierarchy(coord, batch, 0.1, num_levels=4)
    sizes = [level.size for level in hierarchy.levels]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0]
    for fine, coarse in zip(hierarchy.levels[:-1], hierarchy.levels[1:]):
        assert torch.equal(torch.div(fine.grid, 2, rounding_mode="floor"), coarse.grid[fine.parent])
        assert torch.equal(fine.batch, coarse.batch[fine.parent])
        octant = fine.grid - 2 * coarse.grid[fine.parent]
        assert torch.equal(fine.child_offset, octant[:, 0] * 4 + octant[:, 1] * 2 + octant[:, 2])
    # points map to the level-l voxel containing them
    for level in range(4):
        voxel = hierarchy.voxel_of_points(level)
        expected = torch.div(grid_coordinates(coord, batch, 0.1), 2**level, rounding_mode="floor")
        assert torch.equal(hierarchy.levels[level].grid[voxel], expected)


def test_neighbour_table_finds_exactly_the_occupied_neighbours() -> None:
    coord, batch = _two_scenes()
    level = build_hierarchy(coord, batch, 0.3, num_levels=1).levels[0]
    lookup = {(int(b), *map(int, g)): i for i, (b, g) in enumerate(zip(level.batch, level.grid))}
    for row in range(0, level.size, 7):
        b, g = int(level.batch[row]), level.grid[row]
        offsets = torch.stack(torch.meshgrid(*[torch.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(27, 3)
        expected = [lookup.get((b, *map(int, g + o)), level.size) for o in offsets]
        assert level.neighbours[row].tolist() == expected
    assert torch.equal(level.neighbours[:, 13], torch.arange(level.size))


def test_pool_then_unpool_inverts_for_voxel_constant_features() -> None:
    coord, batch = _two_scenes()
    hierarchy = build_hierarchy(coord, batch, 0.1, num_levels=3)
    fine = hierarchy.levels[0]
    coarse_values = torch.randn(hierarchy.levels[1].size, 5)
    children = grid_unpool(coarse_values, fine.parent)
    for reduce in ("mean", "amax", "sum"):
        pooled = grid_pool(children, fine.parent, hierarchy.levels[1].size, reduce)
        counts = torch.bincount(fine.parent, minlength=hierarchy.levels[1].size)[:, None].float()
        expected = coarse_values * counts if reduce == "sum" else coarse_values
        torch.testing.assert_close(pooled, expected)
    # and pooling is a true average over the children
    values = torch.randn(fine.size, 2)
    pooled = grid_pool(values, fine.parent, hierarchy.levels[1].size, "mean")
    torch.testing.assert_close(pooled[fine.parent[0]], values[fine.parent == fine.parent[0]].mean(0))


def test_trilinear_sampling_reproduces_linear_fields_inside_full_grids() -> None:
    # a dense block of points: every voxel around an interior point is occupied
    axis = torch.arange(0.0, 1.0, 0.05) + 0.025
    coord = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    batch = torch.zeros(coord.shape[0], dtype=torch.long)
    hierarchy = build_hierarchy(coord, batch, 0.1, num_levels=2)
    level = hierarchy.levels[1]
    centres = hierarchy.origin[0] + (level.grid.float() + 0.5) * 0.2
    field = centres @ torch.tensor([1.0, -2.0, 0.5]) + 3.0
    index, weight = trilinear_weights(hierarchy, coord, batch, 1)
    sampled = (torch.cat([field, field.new_zeros(1)])[index] * weight).sum(1)
    interior = ((coord > 0.1 + 1e-6) & (coord < 0.9 - 1e-6)).all(1)
    torch.testing.assert_close(sampled[interior], (coord @ torch.tensor([1.0, -2.0, 0.5]) + 3.0)[interior])
    torch.testing.assert_close(weight.sum(1), torch.ones(coord.shape[0]))


def test_knn_matches_brute_force_and_fps_spreads_points() -> None:
    g = torch.Generator().manual_seed(0)
    points, queries = torch.rand(300, 3, generator=g), torch.rand(40, 3, generator=g)
    d2, idx = knn(queries, points, 5, chunk=16)
    full = ((queries[:, None] - points[None]) ** 2).sum(-1)
    torch.testing.assert_close(d2, full.sort(1).values[:, :5], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(full.gather(1, idx), d2, atol=1e-5, rtol=1e-5)
    chosen = farthest_point_sampling(points, 20)
    assert chosen.unique().numel() == 20
    # FPS's picks are at least as spread as the first 20 points: a larger minimum pairwise distance
    def min_gap(p: torch.Tensor) -> float:
        d = torch.cdist(p, p) + torch.eye(p.shape[0]) * 1e9
        return float(d.min())

    assert min_gap(points[chosen]) > min_gap(points[:20])
    with pytest.raises(ComponentError):
        knn(queries, points[:3], 5)


def test_empty_batch_and_bad_grid_size_are_named_errors() -> None:
    with pytest.raises(ComponentError, match="empty"):
        build_hierarchy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), 0.1, 2)
    with pytest.raises(ComponentError, match="grid_size"):
        build_hierarchy(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), 0.0, 2)


def test_random_crop_keeps_a_box_of_the_asked_fraction_inside_the_scene() -> None:
    from selfsup_pointcloud.transforms import random_crop

    g = torch.Generator().manual_seed(0)
    coord = torch.rand(20000, 3, generator=g) * torch.tensor([4.0, 2.0, 1.0])
    batch = torch.zeros(20000, dtype=torch.long)
    for seed in range(5):
        keep = random_crop(coord, batch, 0.5, 0.5, torch.Generator().manual_seed(seed))
        kept = coord[keep]
        # a 2 x 1 box (half of each side) inside the 4 x 2 scene keeps a quarter of the points
        assert abs(keep.float().mean().item() - 0.25) < 0.02
        extent = kept.amax(0) - kept.amin(0)
        assert abs(extent[0].item() - 2.0) < 0.05 and abs(extent[1].item() - 1.0) < 0.05
