"""Heads and pieces: the DINO head's weight normalisation, the queue, the EMA teacher, MLPs."""

from __future__ import annotations

import pytest
import torch

from selfsup_vision.heads.dino_head import DINOHead
from selfsup_vision.heads.mlp import mlp
from selfsup_vision.heads.queue import FeatureQueue
from selfsup_vision.heads.teacher import EMATeacher


def test_dino_head_prototypes_are_unit_norm_with_fixed_gain() -> None:
    torch.manual_seed(0)
    head = DINOHead(8, 5, hidden_dim=16, bottleneck_dim=4)
    with torch.no_grad():
        head.last_layer.weight_v.mul_(7.0)  # scale V: W must not change
    w = head.last_layer.weight
    assert torch.linalg.vector_norm(w, dim=1).tolist() == pytest.approx([1.0] * 5, abs=1e-6)
    g = head.last_layer.weight_g
    assert not g.requires_grad
    out = head(torch.randn(3, 8))
    assert out.abs().max() <= 1.0 + 1e-6  # cosine similarities to the prototypes


def test_dino_head_gain_trainable_when_not_normalised() -> None:
    head = DINOHead(8, 5, hidden_dim=16, bottleneck_dim=4, norm_last_layer=False)
    assert head.last_layer.weight_g.requires_grad


def test_queue_keeps_the_newest_rows_in_order() -> None:
    q = FeatureQueue(4, 2)
    q.push(torch.tensor([[1.0, 1], [2, 2], [3, 3]]))
    assert q.contents()[:, 0].tolist() == [1, 2, 3]
    q.push(torch.tensor([[4.0, 4], [5, 5]]))
    assert q.contents()[:, 0].tolist() == [2, 3, 4, 5]
    assert int(q.filled) == 4
    state = q.state_dict()
    assert set(state) == {"bank", "pointer", "filled"}  # resumable


def test_ema_teacher_cosine_momentum_and_update() -> None:
    online = torch.nn.Linear(2, 1, bias=False)
    teacher = EMATeacher(online, base=0.9, final=1.0)
    assert teacher.momentum(0, 10) == pytest.approx(0.9)
    assert teacher.momentum(5, 10) == pytest.approx(0.95)
    assert teacher.momentum(10, 10) == pytest.approx(1.0)
    with torch.no_grad():
        online.weight.fill_(1.0)
        teacher.network.weight.fill_(0.0)
    teacher.update(online, 0, 10)  # m = 0.9: 0.9*0 + 0.1*1
    assert teacher.network.weight.flatten().tolist() == pytest.approx([0.1, 0.1])
    assert not any(p.requires_grad for p in teacher.network.parameters())


def test_mlp_layout() -> None:
    head = mlp(4, 8, 3, layers=3, last_bn=True)
    kinds = [type(m).__name__ for m in head]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d"]
    assert head[-1].affine is False
