"""The chunked selective scan against the sequential reference: forward, backward, stability."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_audio.encoders import selective_scan as scan_module
from selfsup_audio.encoders.selective_scan import (
    choose_implementation,
    selective_scan,
    selective_scan_chunked,
    selective_scan_reference,
)

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _inputs(batch: int, dim: int, state: int, length: int, *, seed: int = 0, dt_scale: float = 1.0) -> dict:
    """Mamba-like inputs: A = -(1..N) jittered, Δ pre-activation near softplus⁻¹(0.01..0.1)."""
    g = torch.Generator().manual_seed(seed)
    return {
        "u": torch.randn(batch, dim, length, generator=g),
        "delta": torch.randn(batch, dim, length, generator=g) * 0.5 * dt_scale,
        "A": -(torch.arange(1, state + 1).float() * (1 + 0.1 * torch.rand(dim, state, generator=g))),
        "B": torch.randn(batch, state, length, generator=g),
        "C": torch.randn(batch, state, length, generator=g),
        "D": torch.randn(dim, generator=g),
        "z": torch.randn(batch, dim, length, generator=g),
        "delta_bias": torch.log(torch.expm1(torch.linspace(0.01, 0.1, dim))) * dt_scale,
    }


@pytest.mark.parametrize("length", [1, 7, 16, 17, 50, 130])
def test_chunked_equals_reference_forward_and_backward(length):
    inputs = _inputs(2, 5, 4, length, seed=length)
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    ref_leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = selective_scan_chunked(**leaves, delta_softplus=True, chunk_size=16)
    ref = selective_scan_reference(**ref_leaves, delta_softplus=True)
    torch.testing.assert_close(out, ref, **TOL)
    weights = torch.randn_like(ref)  # a generic upstream gradient
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    for name in inputs:
        torch.testing.assert_close(leaves[name].grad, ref_leaves[name].grad, **TOL, msg=lambda m: f"grad {name}: {m}")


def test_optional_terms_and_no_softplus():
    inputs = _inputs(1, 3, 2, 40, seed=3)
    inputs["delta"] = inputs["delta"].abs() * 0.2  # a positive step size without the softplus
    inputs["delta_bias"] = inputs["delta_bias"].exp()
    for drop in ({"D": None, "z": None}, {"delta_bias": None}, {}):
        args = {**inputs, **drop}
        torch.testing.assert_close(
            selective_scan_chunked(**args, chunk_size=8), selective_scan_reference(**args), **TOL
        )


def test_long_sequences_are_blocked_and_stay_finite(monkeypatch):
    """8,192 steps: several blocks (state carried between them); no overflow; equal to the reference."""
    monkeypatch.setattr(scan_module, "BLOCK_LENGTH", 1000)
    inputs = _inputs(1, 2, 16, 8192, seed=4)
    with torch.no_grad():
        out = selective_scan_chunked(**inputs, delta_softplus=True, chunk_size=64)
        ref = selective_scan_reference(**inputs, delta_softplus=True)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, **TOL)


def test_steep_decays_shrink_the_chunk_instead_of_overflowing():
    """Δ·|A| up to ~60 per step: exp(-Σ Δ A) over a 64-step chunk would be inf in float32."""
    inputs = _inputs(1, 3, 16, 200, seed=5)
    inputs["delta"] = inputs["delta"].abs() + 2.0  # Δ in [2, 4], no bias: every decay < 1
    inputs["delta_bias"] = None
    inputs["A"] = inputs["A"] * 2
    steepest = float((inputs["delta"].abs().amax() * inputs["A"].abs().amax()))
    assert steepest * 64 > 88  # exp overflows float32 above 88.7 without the guard
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items() if v is not None}
    out = selective_scan_chunked(**leaves, chunk_size=64)
    ref = selective_scan_reference(**inputs)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, **TOL)
    out.sum().backward()
    assert all(torch.isfinite(leaf.grad).all() for leaf in leaves.values())


def test_a_decayed_impulse_matches_the_closed_form():
    """u = δ_0, B = C = 1, A = -a, Δ = c: y_t = c·exp(-a c t) (state n=1, d=1)."""
    length, a, c = 300, 0.5, 0.2
    u = torch.zeros(1, 1, length)
    u[..., 0] = 1.0
    ones = torch.ones(1, 1, length)
    y = selective_scan_chunked(u, ones * c, torch.tensor([[-a]]), ones, ones, chunk_size=32)
    expected = c * torch.exp(-a * c * torch.arange(length).float())
    torch.testing.assert_close(y[0, 0], expected, atol=1e-7, rtol=1e-5)


def test_implementation_choice():
    cpu = torch.device("cpu")
    assert choose_implementation("auto", cpu) == "cpu-kernel"  # a C compiler is part of the set-up
    assert choose_implementation("chunked", cpu) == "chunked"
    assert choose_implementation("reference", cpu) == "reference"
    with pytest.raises(ConfigError, match="scan="):
        choose_implementation("fast", cpu)
    with pytest.raises(ConfigError, match="mamba-ssm"):
        choose_implementation("mamba-ssm", cpu)
    with pytest.raises(ConfigError, match="chunk_size"):
        selective_scan_chunked(*(_inputs(1, 1, 1, 4)[k] for k in ("u", "delta", "A", "B", "C")), chunk_size=0)
    inputs = _inputs(1, 2, 3, 9)
    torch.testing.assert_close(selective_scan(**inputs, impl="reference"), selective_scan_reference(**inputs))


def test_auto_uses_the_mamba_ssm_kernel_when_present(monkeypatch):
    """With a kernel importable and CUDA tensors, "auto" resolves to it (device faked here)."""
    monkeypatch.setattr(scan_module, "mamba_ssm_kernel", lambda: (lambda *args: args))
    assert choose_implementation("auto", torch.device("cuda")) == "mamba-ssm"
    assert choose_implementation("auto", torch.device("cpu")) == "cpu-kernel"
