"""GaussianCross's unit-cube anchors, patch mask and Gaussian heads."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ComponentError
from selfsup_pointcloud.gaussians.anchors import lattice_anchors, patch_mask, unit_cube, voxel_anchors
from selfsup_pointcloud.gaussians.heads import GaussianHeads


def _two_scenes(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    first = torch.rand(300, 3, generator=generator) * torch.tensor([4.0, 3.0, 2.5])
    second = torch.rand(200, 3, generator=generator) * torch.tensor([2.0, 5.0, 1.0]) + 10.0
    return torch.cat([first, second]), torch.cat([torch.zeros(300, dtype=torch.long), torch.ones(200, dtype=torch.long)])


def test_unit_cube_anchors_do_not_depend_on_scene_scale_or_position() -> None:
    coord, batch = _two_scenes()
    cube = unit_cube(coord, batch, 2)
    scaled = unit_cube(coord * 2.0 + 7.0, batch, 2)
    assert torch.allclose(cube.unit, scaled.unit, atol=1e-5)
    assert cube.unit.min() >= 0 and cube.unit.max() <= 1 + 1e-6
    # one isotropic scale: the longest side spans [0, 1], the others keep their proportions
    assert torch.allclose(cube.unit[:300].amax(0) - cube.unit[:300].amin(0), torch.tensor([1.0, 0.75, 0.625]), atol=0.02)
    a, b = voxel_anchors(cube.unit, batch, 8), voxel_anchors(scaled.unit, batch, 8)
    assert torch.equal(a.grid, b.grid) and torch.equal(a.point_to_anchor, b.point_to_anchor)
    assert torch.allclose(cube.origin[1], coord[300:].amin(0)) and float(cube.extent[1]) == pytest.approx(5.0, abs=0.05)


def test_voxel_anchors_by_hand() -> None:
    unit = torch.tensor([[0.1, 0.1, 0.1], [0.2, 0.05, 0.1], [0.9, 0.6, 0.3], [1.0, 1.0, 1.0], [0.1, 0.1, 0.1]])
    batch = torch.tensor([0, 0, 0, 0, 1])
    anchors = voxel_anchors(unit, batch, 2)
    assert anchors.grid.tolist() == [[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]]
    assert anchors.batch.tolist() == [0, 0, 0, 1]
    assert anchors.point_to_anchor.tolist() == [0, 0, 1, 2, 3]
    assert torch.allclose(anchors.centres[1], torch.tensor([0.75, 0.75, 0.25]))
    assert anchors.flat_index.tolist() == [0, 6, 7, 8]


def test_patch_mask_hides_whole_patches_at_the_ratio() -> None:
    coord, batch = _two_scenes()
    unit = unit_cube(coord, batch, 2).unit
    visible = patch_mask(unit, batch, 2, 4, 0.5, generator=torch.Generator().manual_seed(3))
    patch = ((unit * 4).floor().long().clamp(0, 3) * torch.tensor([16, 4, 1])).sum(1) + batch * 64
    for scene in (0, 1):
        keys = patch[batch == scene]
        seen = visible[batch == scene]
        occupied = keys.unique()
        hidden = [k for k in occupied.tolist() if not seen[keys == k].any()]
        for k in occupied.tolist():  # a patch is wholly visible or wholly hidden
            assert seen[keys == k].all() or not seen[keys == k].any()
        assert len(hidden) == len(occupied) // 2
    with pytest.raises(ComponentError, match="ratio"):
        patch_mask(unit, batch, 2, 4, 1.0)


def test_heads_decode_bounded_gaussians_and_mask_token() -> None:
    torch.manual_seed(0)
    coord, batch = _two_scenes()
    cube = unit_cube(coord, batch, 2)
    anchors = voxel_anchors(cube.unit, batch, 6)
    visible = cube.unit[:, 0] < 0.5  # the right half of each scene is hidden
    heads = GaussianHeads(5, channels=8, dense_layers=1, feature_dim=4, offset_voxels=1.0, max_scale_voxels=1.5)
    features = torch.randn(int(visible.sum()), 5)
    pooled = heads.anchor_features(features, visible, anchors)
    unseen = torch.ones(anchors.grid.shape[0], dtype=torch.bool)
    unseen[anchors.point_to_anchor[visible]] = False
    assert unseen.any() and (~unseen).any()
    assert torch.equal(pooled[unseen, :5], heads.mask_token.detach().expand(int(unseen.sum()), 5))
    assert torch.equal(pooled[:, 5], (~unseen).float())
    first_anchor = int(anchors.point_to_anchor[visible][0])
    members = anchors.point_to_anchor[visible] == first_anchor
    assert torch.allclose(pooled[first_anchor, :5], features[members].mean(0))

    gaussians = heads(features, visible, anchors, 2)
    a = anchors.grid.shape[0]
    assert gaussians.means.shape == (a, 3) and gaussians.features.shape == (a, 4) and gaussians.quats.shape == (a, 4)
    assert ((gaussians.means - anchors.centres).abs() <= 1.0 / 6 + 1e-6).all()
    assert (gaussians.scales > 0).all() and (gaussians.scales <= 1.5 / 6).all()
    assert ((gaussians.opacities > 0) & (gaussians.opacities < 1)).all()
    assert ((gaussians.colors > 0) & (gaussians.colors < 1)).all()
    assert gaussians.keep(0.3).any()  # opacity pruning at tau = 0.3 leaves Gaussians at the start

    world = gaussians.to_world(cube)
    back = (world.means - cube.origin[world.batch]) / cube.extent[world.batch, None]
    assert torch.allclose(back, gaussians.means, atol=1e-5)
    assert torch.allclose(world.scales, gaussians.scales * cube.extent[world.batch, None])


def test_lattice_anchors_cover_every_voxel_and_agree_with_occupied_ones() -> None:
    coord, batch = _two_scenes()
    unit = unit_cube(coord, batch, 2).unit
    lattice = lattice_anchors(unit, batch, 2, 4)
    occupied = voxel_anchors(unit, batch, 4)
    assert lattice.grid.shape == (2 * 64, 3) and lattice.batch.tolist() == [0] * 64 + [1] * 64
    assert torch.equal(lattice.flat_index, torch.arange(128))  # anchor i is voxel i of the dense volume
    # each point lands in the same voxel either way
    assert torch.equal(lattice.grid[lattice.point_to_anchor], occupied.grid[occupied.point_to_anchor])
    assert torch.equal(lattice.batch[lattice.point_to_anchor], batch)
