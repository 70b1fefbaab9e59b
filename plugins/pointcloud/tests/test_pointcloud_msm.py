"""MSM's masking, cross-view targets and teacher: the student never sees a masked point, the loss
reads exactly the masked voxels that have a target, and the EMA teacher follows the student."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_pointcloud.configs import MSMConfig, PointUNetConfig, ProceduralRoomsConfig
from selfsup_pointcloud.datasets.procedural import ProceduralRooms
from selfsup_pointcloud.encoders.unet import build_point_unet
from selfsup_pointcloud.objectives.msm import MSM, cross_view_targets, mask_voxels

TINY_UNET = PointUNetConfig(grid_size=0.2, channels=[8, 16, 16], decoder_channels=[8, 8, 16])


@pytest.fixture(scope="module")
def scenes():
    data = ProceduralRooms(ProceduralRoomsConfig(train_scenes=2, val_scenes=0, test_scenes=0, points_per_m2=80, grid_size=0.15))
    return data, data.collate([data.split("train")[0], data.split("train")[1]])


def _objective(data, **overrides) -> MSM:
    torch.manual_seed(0)
    encoder = build_point_unet(TINY_UNET, data.info)
    return MSM(MSMConfig(**overrides), encoder, data.info)


def test_mask_voxels_masks_exactly_the_ratio() -> None:
    mask = mask_voxels(200, 0.4, torch.Generator().manual_seed(0))
    assert int(mask.sum()) == 80
    assert int(mask_voxels(3, 0.99).sum()) == 2  # one voxel always stays visible


def test_student_input_excludes_every_point_of_a_masked_patch(scenes) -> None:
    data, batch = scenes
    objective = _objective(data, mask_ratio=0.5)
    torch.manual_seed(1)
    view = objective.make_view(batch)
    coarsest = objective.mask_level
    patch_of_point = view.hierarchy.voxel_of_points(coarsest)
    masked_patch = view.masked[coarsest]
    assert 0 < int(masked_patch.sum()) < masked_patch.numel()
    visible = torch.zeros(view.coord.shape[0], dtype=torch.bool)
    visible[view.visible_points] = True
    assert torch.equal(visible, ~masked_patch[patch_of_point])
    # at every level, "masked" is exactly "inside a masked patch"
    for level in range(len(view.masked)):
        patch = view.hierarchy.descend(torch.arange(view.hierarchy.levels[level].size), level, coarsest)
        assert torch.equal(view.masked[level], masked_patch[patch])
    # the student's output does not depend on the features of masked points
    torch.manual_seed(2)
    before = [x.detach() for x in objective.student_levels(view)]
    view.feat = view.feat.clone()
    view.feat[~visible] += 10.0
    after = [x.detach() for x in objective.student_levels(view)]
    for a, b in zip(before, after):
        assert torch.equal(a, b)


def test_loss_gradient_reaches_only_masked_voxels_with_targets(scenes) -> None:
    data, batch = scenes
    objective = _objective(data, loss_levels=[0])
    torch.manual_seed(3)
    view_a, view_b = objective.make_view(batch), objective.make_view(batch)
    student = [x.detach().requires_grad_(True) for x in objective.student_levels(view_a)]
    teacher = objective.teacher_levels(view_b)
    loss, _, _ = objective._view_loss(batch["coord"].shape[0], view_a, student, view_b, teacher)
    loss.backward()
    _, has_target = cross_view_targets(
        batch["coord"].shape[0], view_a.index, view_a.hierarchy.voxel_of_points(0), view_a.hierarchy.levels[0].size,
        view_b.index, view_b.hierarchy.voxel_of_points(0), teacher[0],
    )
    expected = view_a.masked[0] & has_target
    assert expected.any() and (~expected).any()
    assert torch.equal(student[0].grad.abs().sum(1) > 0, expected)
    assert student[1].grad is None


def test_cross_view_targets_average_the_other_views_voxels() -> None:
    # source points 0..4; view A holds 0, 1, 2, 3 in voxels [0, 0, 1, 2]; view B holds 1, 2, 4 in voxels [0, 1, 1]
    features_b = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    targets, has = cross_view_targets(
        5, torch.tensor([0, 1, 2, 3]), torch.tensor([0, 0, 1, 2]), 3, torch.tensor([1, 2, 4]), torch.tensor([0, 1, 1]), features_b
    )
    torch.testing.assert_close(targets, torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
    assert has.tolist() == [True, True, False]


def test_ema_teacher_moves_toward_the_student(scenes) -> None:
    data, _ = scenes
    objective = _objective(data, momentum=0.9, momentum_end=1.0)
    with torch.no_grad():
        for p in objective.encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in objective.teacher.parameters()]
    objective.on_step_end(step=1, max_steps=10)  # the first step's momentum is `momentum`
    for old, new, student in zip(before, objective.teacher.parameters(), objective.encoder.parameters()):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * student)
    torch.testing.assert_close(objective.momentum, torch.tensor(0.91))  # linear: step 2 of 10
    before = [p.clone() for p in objective.teacher.parameters()]
    objective.on_step_end(step=6, max_steps=10)  # 0.9 + 0.1 * 5/10
    for old, new, student in zip(before, objective.teacher.parameters(), objective.encoder.parameters()):
        torch.testing.assert_close(new, 0.95 * old + 0.05 * student)
    teacher_buffers = dict(objective.teacher.named_buffers())
    for name, buffer in objective.encoder.named_buffers():  # buffers are copied (tests/test_engine.py)
        assert torch.equal(teacher_buffers[name], buffer), name
    assert not any(p.requires_grad for p in objective.teacher.parameters())


def test_bad_settings_are_config_errors(scenes) -> None:
    data, _ = scenes
    with pytest.raises(ConfigError, match="mask_ratio"):
        _objective(data, mask_ratio=1.0)
    with pytest.raises(ConfigError, match="loss_levels"):
        _objective(data, loss_levels=[7])


def test_targets_come_from_the_ema_teacher_not_the_student(scenes) -> None:
    """The targets are the EMA teacher's features: moving only the teacher's weights moves them and
    moving only the student's does not (kills the mutant ``msm-teacher-is-the-student``, which the
    quality test does not: with a stop-gradient, student-as-teacher still learns, SimSiam-style)."""
    data, batch = scenes
    objective = _objective(data, loss_levels=[0])
    torch.manual_seed(3)
    view = objective.make_view(batch)
    reference = [t.clone() for t in objective.teacher_levels(view)]
    with torch.no_grad():
        for p in objective.encoder.parameters():
            p.mul_(-2.0)
    assert all(torch.equal(a, b) for a, b in zip(reference, objective.teacher_levels(view)))
    with torch.no_grad():
        for p in objective.teacher.parameters():
            p.mul_(-2.0)
    assert not torch.allclose(reference[0], objective.teacher_levels(view)[0])
