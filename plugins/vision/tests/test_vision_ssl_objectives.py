"""The joint-embedding objectives' wiring: views, gradients, EMA targets, centring, frozen prototypes."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError, IncompatibleComponentsError
from selfsup_vision.backbone_configs import ResNetConfig
from selfsup_vision.encoders.backbones import build_resnet18
from selfsup_vision.objectives.byol import BYOL
from selfsup_vision.objectives.dino import DINO
from selfsup_vision.objectives.simclr import SimCLR
from selfsup_vision.objectives.swav import SwAV
from selfsup_vision.ssl_configs import BYOLConfig, DINOConfig, SimCLRConfig, SwAVConfig

INFO = {"channels": 3, "height": 16, "width": 16}


def _encoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_resnet18(ResNetConfig(), INFO)


def _batch(n: int = 6) -> dict:
    return {"x": torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1}


def _grad_reaches_encoder(objective: torch.nn.Module, step: int = 1) -> float:
    objective.zero_grad()
    loss = objective.training_step(_batch(), step=step, phase="main")["loss"]
    loss.backward()
    return float(sum(p.grad.abs().sum() for p in objective.encoder.parameters() if p.grad is not None))


def test_simclr_step_trains_the_encoder_and_rejects_multicrop() -> None:
    obj = SimCLR(SimCLRConfig(), _encoder(), INFO)
    assert _grad_reaches_encoder(obj) > 0
    with pytest.raises(ConfigError, match="exactly 2 views"):
        SimCLR(SimCLRConfig(views="dino"), _encoder(), INFO)


def test_simclr_needs_an_image_encoder() -> None:
    with pytest.raises(IncompatibleComponentsError, match="forward_images"):
        SimCLR(SimCLRConfig(), torch.nn.Linear(2, 2), INFO)


def test_byol_target_is_an_ema_without_gradients() -> None:
    obj = BYOL(BYOLConfig(hidden_dim=32, proj_dim=8), _encoder(), INFO)
    assert _grad_reaches_encoder(obj) > 0
    assert all(p.grad is None for p in obj.target.parameters())
    before = [p.clone() for p in obj.target.parameters()]
    with torch.no_grad():
        for p in obj.online.parameters():
            p.add_(1.0)
    obj.on_step_end(step=1, max_steps=10)  # m = 0.996: target moves by 0.004
    moved = [(p - b).abs().max().item() for p, b in zip(obj.target.parameters(), before)]
    assert max(moved) == pytest.approx(0.004, rel=1e-3)


def test_dino_centre_updates_teacher_evaluated_and_last_layer_frozen() -> None:
    cfg = DINOConfig(out_dim=16, hidden_dim=32, bottleneck_dim=8, local_crops=2, freeze_last_layer_steps=1)
    obj = DINO(cfg, _encoder(), INFO)
    assert obj.views.num_views == 4
    assert _grad_reaches_encoder(obj, step=1) > 0
    v = obj.student.head.last_layer.weight_v
    assert v.grad is None  # frozen in step 1
    assert obj.center.abs().sum() > 0
    _grad_reaches_encoder(obj, step=2)
    assert v.grad is not None and v.grad.abs().sum() > 0
    assert obj.evaluation_encoder() is obj.teacher.network.backbone
    assert all(not p.requires_grad for p in obj.evaluation_encoder().parameters())


def test_dino_teacher_is_an_ema_of_the_student_moved_at_step_end() -> None:
    """``on_step_end`` moves every teacher weight by (1 - m) of its gap to the student (m = 0.996 at
    step 1 of a cosine schedule starting at 0.996); kills the mutant that never updates the teacher."""
    cfg = DINOConfig(out_dim=16, hidden_dim=32, bottleneck_dim=8, local_crops=0, momentum_teacher=0.996)
    obj = DINO(cfg, _encoder(), INFO)
    teacher = dict(obj.teacher.network.named_parameters())
    before = {name: p.detach().clone() for name, p in teacher.items()}
    with torch.no_grad():
        for p in obj.student.parameters():
            p.add_(1.0)
    obj.on_step_end(step=1, max_steps=10)
    student = dict(obj.student.named_parameters())
    for name, p in teacher.items():
        gap = student[name].detach() - before[name]
        torch.testing.assert_close(p.detach() - before[name], 0.004 * gap, atol=1e-6, rtol=1e-3)
    assert max((p - before[n]).abs().max().item() for n, p in teacher.items()) == pytest.approx(0.004, rel=1e-3)


def test_dino_teacher_temperature_warmup() -> None:
    cfg = DINOConfig(out_dim=8, hidden_dim=16, bottleneck_dim=4, warmup_teacher_temp=0.04, teacher_temp=0.07,
                     warmup_teacher_temp_steps=4)
    obj = DINO(cfg, _encoder(), INFO)
    assert [obj.teacher_temp(s) for s in (1, 2, 4, 5)] == pytest.approx([0.04, 0.05, 0.07, 0.07])


def test_swav_prototypes_normalised_and_frozen_then_trained() -> None:
    cfg = SwAVConfig(hidden_dim=32, feat_dim=8, prototypes=10, local_crops=2, freeze_prototypes_steps=1, queue_length=12)
    obj = SwAV(cfg, _encoder(), INFO)
    with torch.no_grad():
        obj.prototypes.weight.mul_(5.0)
    assert _grad_reaches_encoder(obj, step=1) > 0
    norms = torch.linalg.vector_norm(obj.prototypes.weight, dim=1)
    assert norms.tolist() == pytest.approx([1.0] * 10, abs=1e-5)
    assert obj.prototypes.weight.grad is None
    assert int(obj.queues[0].filled) == 6  # the assigned crops' embeddings were enqueued
    _grad_reaches_encoder(obj, step=2)
    assert obj.prototypes.weight.grad is not None


def test_swav_rejects_assignment_to_missing_crop() -> None:
    with pytest.raises(ConfigError, match="crops_for_assign"):
        SwAV(SwAVConfig(crops_for_assign=[0, 9], local_crops=0), _encoder(), INFO)
