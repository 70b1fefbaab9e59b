"""Golden values of the frame-projections loss: NT-Xent by hand, the mapper reductions, and the
official code's numbers on one fixed input (``scripts/compare_official.py``)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfsup_timeseries.losses.frame_loss import frame_projection_loss, mapper_loss
from selfsup_timeseries.losses.ntxent import nt_xent


def test_nt_xent_by_hand_for_two_orthogonal_pairs():
    # B = 2, a = b = (e1, e2): positives have cosine 1, negatives: the other row of both views (cosine 0)
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    # each anchor: logits {positive 1/tau, negatives 0/tau (twice)} -> -log(e^2 / (e^2 + 2))
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + 2.0))
    assert nt_xent(a, a.clone(), tau).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_at_random_is_about_log_2b_minus_1():
    torch.manual_seed(0)
    a, b = (F.normalize(torch.randn(256, 128), dim=1) for _ in range(2))
    assert nt_xent(a, b, 100.0).item() == pytest.approx(math.log(2 * 256 - 1), abs=0.01)


def test_l1_terms_are_mean_reduced_then_divided_by_the_batch_again():
    # with zero predictors and constant embeddings, every term is exact
    rows, dim = 4, 8
    e = torch.zeros(rows, dim)
    e[:, 0] = 1.0  # unit vectors: mean |0 - e| = 1 / dim per entry
    zero = lambda z: torch.zeros_like(z)  # noqa: E731
    terms = frame_projection_loss(e, e, e, zero, zero, 0.15)
    assert terms["l1_ft"].item() == pytest.approx((1 / dim) / rows)
    assert terms["l1_cwt"].item() == pytest.approx((1 / dim) / rows)
    # three identical NT-Xent terms: every row is the same vector, so 2B-1 equal logits per anchor
    ntx = math.log(2 * rows - 1)
    assert terms["ntx_time_cwt"].item() == pytest.approx(ntx, rel=1e-6)
    assert terms["loss"].item() == pytest.approx(3 * ntx + 2 / (dim * rows), rel=1e-6)


def test_the_loss_normalises_the_projections_first():
    torch.manual_seed(1)
    z = [torch.randn(6, 16) for _ in range(3)]
    ident = lambda v: v  # noqa: E731
    scaled = frame_projection_loss(*(5 * t for t in z), ident, ident)["loss"]
    assert scaled.item() == pytest.approx(frame_projection_loss(*z, ident, ident)["loss"].item(), rel=1e-6)


def test_mapper_loss_is_the_sum_of_two_mean_l1_terms():
    mapped = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    terms = mapper_loss(mapped, target, mapped, target + 1)
    assert terms["mapper_l1_ft"].item() == pytest.approx(2.5)  # (1+2+3+4)/4
    assert terms["mapper_l1_cwt"].item() == pytest.approx(1.5)  # (0+1+2+3)/4, no division by B
    assert terms["loss"].item() == pytest.approx(4.0)
