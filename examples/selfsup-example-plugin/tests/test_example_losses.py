"""The NT-Xent loss (golden values, a loop reference) and the augmentations."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup_example.augment import augment, jitter, scale, time_shift
from selfsup_example.losses import nt_xent


def _nt_xent_loops(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> float:
    """The docstring's formula, term by term, in float64."""
    u = torch.cat([z1, z2]).double()
    u = u / u.norm(dim=1, keepdim=True)
    n2 = u.shape[0]
    total = 0.0
    for i in range(n2):
        positive = (i + n2 // 2) % n2
        sims = [float(u[i] @ u[k]) / temperature for k in range(n2)]
        denominator = sum(math.exp(sims[k]) for k in range(n2) if k != i)
        total += -math.log(math.exp(sims[positive]) / denominator)
    return total / n2


def test_example_nt_xent_golden_value_orthogonal_pair():
    eye = torch.eye(2)
    assert nt_xent(eye, eye, temperature=1.0).item() == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    # tau = 0.5 doubles every similarity: s_pos = 2, negatives 0.
    assert nt_xent(eye, eye, temperature=0.5).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)), abs=1e-6)


def test_example_nt_xent_golden_value_recorded():
    torch.manual_seed(0)
    z1, z2 = torch.randn(4, 3), torch.randn(4, 3)
    # Recorded from the loop reference; guards against silent formula changes.
    assert nt_xent(z1, z2, temperature=0.5).item() == pytest.approx(_nt_xent_loops(z1, z2, 0.5), abs=1e-5)
    assert _nt_xent_loops(z1, z2, 0.5) == pytest.approx(3.0346, abs=1e-4)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0])
def test_example_nt_xent_matches_loop_reference(temperature):
    generator = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(6, 5, generator=generator), torch.randn(6, 5, generator=generator)
    assert nt_xent(z1, z2, temperature).item() == pytest.approx(_nt_xent_loops(z1, z2, temperature), rel=1e-5)


def test_example_nt_xent_is_scale_invariant_and_symmetric():
    generator = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(5, 4, generator=generator), torch.randn(5, 4, generator=generator)
    base = nt_xent(z1, z2, 0.3)
    assert nt_xent(3.0 * z1, 0.5 * z2, 0.3).item() == pytest.approx(base.item(), rel=1e-5)
    assert nt_xent(z2, z1, 0.3).item() == pytest.approx(base.item(), rel=1e-5)


def test_example_nt_xent_lower_for_aligned_views():
    generator = torch.Generator().manual_seed(3)
    z = torch.randn(8, 16, generator=generator)
    aligned = nt_xent(z, z + 0.01 * torch.randn(8, 16, generator=generator), 0.2)
    unrelated = nt_xent(z, torch.randn(8, 16, generator=generator), 0.2)
    assert aligned < unrelated
    # A cross-entropy over 2N - 1 > 1 candidates is never zero.
    assert aligned > 0


def test_example_nt_xent_gradients_are_finite():
    z1 = torch.randn(4, 3, requires_grad=True)
    z2 = torch.randn(4, 3, requires_grad=True)
    nt_xent(z1, z2, 0.2).backward()
    assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()


def test_example_nt_xent_rejects_bad_input():
    with pytest.raises(ValueError, match="both be \\[N, D\\]"):
        nt_xent(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nt_xent(torch.ones(2, 2), torch.ones(2, 2), temperature=0.0)


def test_example_time_shift_is_a_per_row_circular_roll():
    torch.manual_seed(0)
    x = torch.arange(2 * 1 * 10, dtype=torch.float32).reshape(2, 1, 10)
    shifted = time_shift(x, 0.5)
    for row in range(2):
        rolls = [torch.roll(x[row], k, dims=-1) for k in range(10)]
        assert any(torch.equal(shifted[row], r) for r in rolls)
    assert torch.equal(time_shift(x, 0.0), x)


def test_example_scale_and_jitter_keep_shape_and_are_seeded():
    x = torch.randn(4, 2, 16)
    assert torch.equal(scale(x, 0.0), x) and torch.equal(jitter(x, 0.0), x)
    ratio = scale(x, 0.3) / x
    assert torch.allclose(ratio, ratio[..., :1].expand_as(ratio), rtol=1e-4)  # one factor per channel
    torch.manual_seed(5)
    a = augment(x, jitter_std=0.1, scale_log_std=0.3, max_shift=0.5)
    torch.manual_seed(5)
    b = augment(x, jitter_std=0.1, scale_log_std=0.3, max_shift=0.5)
    assert a.shape == x.shape and torch.equal(a, b)
