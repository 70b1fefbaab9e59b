"""D-SLA's three losses: hand-computed golden values and loop references of the official formulas."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from selfsup_graph.losses.dsla_discrimination import discrimination_accuracy, graph_discrimination_loss
from selfsup_graph.losses.dsla_edit import edit_distance_loss
from selfsup_graph.losses.dsla_margin import margin_loss


def test_discrimination_golden_value() -> None:
    scores = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    expected = (math.log(1 + 2 * math.exp(-2)) + math.log(2 + math.e)) / 2
    assert graph_discrimination_loss(scores).item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.8954947, abs=1e-6)
    assert discrimination_accuracy(scores).item() == 0.5


def test_discrimination_is_low_when_the_original_wins_clearly() -> None:
    scores = torch.tensor([[20.0, 0.0, 0.0, 0.0, 0.0]])
    assert graph_discrimination_loss(scores).item() < 1e-7
    assert graph_discrimination_loss(torch.zeros(3, 5)).item() == pytest.approx(math.log(5), abs=1e-6)


def _golden_edit_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    h = torch.tensor(
        [
            [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 4.0]],
            [[0.0, 0.0], [0.0, 4.0], [9.0, 9.0], [1.0, 0.0]],
        ]
    )
    e = torch.tensor([[0.0, 1.0, 1.0, 5.0], [0.0, 2.0, 0.0, 1.0]])
    return h, e


def test_edit_loss_golden_value() -> None:
    h, e = _golden_edit_inputs()
    assert edit_distance_loss(h, e).item() == pytest.approx(0.75, abs=1e-6)
    # graph A alone: pairs (1,2) -> 1, (1,3) -> 0, (2,3) -> 1
    assert edit_distance_loss(h[:1], e[:1]).item() == pytest.approx(2 / 3, abs=1e-6)


def test_edit_loss_is_zero_for_proportional_distances_and_matches_official_mean() -> None:
    h = torch.tensor([[[1.0, 1.0], [2.0, 1.0], [1.0, 3.0], [4.0, 5.0]]])  # distances 1, 2, 5
    assert edit_distance_loss(h, torch.tensor([[0.0, 1.0, 2.0, 5.0]])).item() == pytest.approx(0.0, abs=1e-7)
    torch.manual_seed(0)
    h = torch.randn(4, 5, 7)
    e = torch.randint(1, 9, (4, 5)).float()
    ratios = (h[:, 1:] - h[:, :1]).norm(dim=-1) / e[:, 1:]
    pairs = list(itertools.combinations(range(4), 2))
    reference = sum(float((ratios[b, i] - ratios[b, j]) ** 2) for b in range(4) for i, j in pairs) / (4 * len(pairs))
    assert edit_distance_loss(h, e).item() == pytest.approx(reference, rel=1e-5)


def test_edit_loss_without_valid_pairs_is_zero_with_gradient() -> None:
    h = torch.randn(2, 3, 4, requires_grad=True)
    loss = edit_distance_loss(h, torch.zeros(2, 3))
    loss.backward()
    assert loss.item() == 0.0 and h.grad is not None and torch.isfinite(h.grad).all()


def test_margin_loss_golden_value() -> None:
    h = torch.tensor([[[0.0, 0.0], [1.0, 0.0]], [[3.0, 4.0], [3.0, 6.0]]])
    assert margin_loss(h, 6.0).item() == pytest.approx(2.5, abs=1e-6)
    assert margin_loss(h, 3.5).item() == pytest.approx(0.25, abs=1e-6)
    assert margin_loss(h, 1.0).item() == 0.0


def test_margin_loss_matches_loop_reference_and_has_finite_gradients() -> None:
    torch.manual_seed(1)
    h = torch.randn(5, 4, 6)
    h[3] = h[1]  # two identical graphs: a zero distance between originals
    h.requires_grad_(True)
    alpha = 5.0
    reference, g = 0.0, h.detach()
    for b, other, i in itertools.product(range(5), range(5), range(1, 4)):
        if b != other:
            reference += max(0.0, alpha + float((g[b, 0] - g[b, i]).norm()) - float((g[b, 0] - g[other, 0]).norm()))
    loss = margin_loss(h, alpha)
    assert loss.item() == pytest.approx(reference / (5 * 4 * 3), rel=1e-5)
    loss.backward()
    assert torch.isfinite(h.grad).all()


def test_margin_loss_of_one_graph_is_zero() -> None:
    h = torch.randn(1, 4, 3, requires_grad=True)
    loss = margin_loss(h, 5.0)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(h.grad).all()
