"""The fused CPU scan kernel (C, compiled on first use) against the sequential reference."""

from __future__ import annotations

import ctypes

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_audio.encoders import cpu_scan, selective_scan as scan_module
from selfsup_audio.encoders.selective_scan import (
    choose_implementation,
    selective_scan,
    selective_scan_reference,
    selective_scan_time_major,
)

TOL = {"atol": 1e-5, "rtol": 1e-5}


def _inputs(batch: int, dim: int, state: int, length: int, *, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "u": torch.randn(batch, dim, length, generator=g),
        "delta": torch.randn(batch, dim, length, generator=g) * 0.5,
        "A": -(torch.arange(1, state + 1).float() * (1 + 0.1 * torch.rand(dim, state, generator=g))),
        "B": torch.randn(batch, state, length, generator=g),
        "C": torch.randn(batch, state, length, generator=g),
        "D": torch.randn(dim, generator=g),
        "z": torch.randn(batch, dim, length, generator=g),
        "delta_bias": torch.log(torch.expm1(torch.linspace(0.01, 0.1, dim))),
    }


def _compare(inputs: dict, **kwargs) -> None:
    """Forward and every input's gradient of the kernel path equal the reference's."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items() if v is not None}
    ref_leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items() if v is not None}
    out = selective_scan(**leaves, impl="cpu-kernel", **kwargs)
    ref = selective_scan_reference(**ref_leaves, **kwargs)
    torch.testing.assert_close(out, ref, **TOL)
    weights = torch.randn_like(ref)
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    for name in leaves:
        torch.testing.assert_close(leaves[name].grad, ref_leaves[name].grad, **TOL, msg=lambda m: f"grad {name}: {m}")


def test_the_kernel_builds_here():
    assert cpu_scan.load_kernel() is not None, cpu_scan.kernel_build_error()


@pytest.mark.parametrize("length", [1, 7, 63, 64, 65, 130, 300])
def test_kernel_equals_reference_forward_and_backward(length):
    """Lengths around the checkpoint interval (64): the backward recomputes each chunk from its start."""
    _compare(_inputs(2, 5, 4, length, seed=length), delta_softplus=True)


def test_kernel_with_mamba_sizes_and_without_the_optional_terms():
    inputs = _inputs(3, 6, 16, 97, seed=1)
    _compare(inputs, delta_softplus=True)
    inputs["delta"] = inputs["delta"].abs() * 0.2
    _compare({**inputs, "D": None, "z": None, "delta_bias": None})


@pytest.mark.parametrize("threads", [1, 2])
def test_kernel_results_do_not_depend_on_the_thread_count(threads):
    """Batch 1 with 2 threads splits the channels into groups whose B/C gradients are summed."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _compare(_inputs(1, 7, 16, 80, seed=2), delta_softplus=True)
    finally:
        torch.set_num_threads(previous)


def test_kernel_on_long_sequences_and_steep_decays():
    inputs = _inputs(1, 2, 16, 8192, seed=4)
    with torch.no_grad():
        out = selective_scan(**inputs, delta_softplus=True, impl="cpu-kernel")
        ref = selective_scan_reference(**inputs, delta_softplus=True)
    torch.testing.assert_close(out, ref, **TOL)
    steep = _inputs(1, 3, 16, 200, seed=5)
    steep["delta"] = steep["delta"].abs() + 2.0  # Δ·|A| up to ~70 per step: decays underflow to 0
    steep["delta_bias"] = None
    steep["A"] = steep["A"] * 2
    _compare(steep)


def test_kernel_keeps_the_input_dtype_and_computes_in_float32():
    inputs = {k: v.to(torch.bfloat16) for k, v in _inputs(1, 4, 8, 33, seed=6).items()}
    out = selective_scan(**inputs, delta_softplus=True, impl="cpu-kernel")
    assert out.dtype == torch.bfloat16
    ref = selective_scan_reference(**{k: v.float() for k, v in inputs.items()}, delta_softplus=True)
    torch.testing.assert_close(out.float(), ref, atol=0.05, rtol=0.02)


def test_loading_the_kernel_keeps_denormal_numbers():
    """The object is compiled with -ffast-math but linked without it: no flush-to-zero for the process."""
    assert cpu_scan.load_kernel() is not None
    assert (torch.tensor(1e-40) * 1.0).item() > 0.0


@pytest.fixture
def fresh_kernel_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFSUP_CACHE_DIR", str(tmp_path))
    cpu_scan.load_kernel.cache_clear()
    yield tmp_path
    cpu_scan.load_kernel.cache_clear()


def test_the_kernel_is_built_once_into_the_cache(fresh_kernel_cache):
    library = cpu_scan.load_kernel()
    assert isinstance(library, ctypes.CDLL)
    built = list((fresh_kernel_cache / "kernels").iterdir())
    assert len(built) == 1 and built[0].suffix == ".so"  # no temporary files left behind
    stamp = built[0].stat().st_mtime_ns
    cpu_scan.load_kernel.cache_clear()
    assert cpu_scan.load_kernel() is not None
    assert built[0].stat().st_mtime_ns == stamp  # loaded, not rebuilt


def test_without_a_compiler_auto_falls_back_and_cpu_kernel_says_why(fresh_kernel_cache, monkeypatch):
    monkeypatch.setenv("CC", "/bin/false")
    assert cpu_scan.load_kernel() is None
    assert "false" in (cpu_scan.kernel_build_error() or "")
    cpu = torch.device("cpu")
    assert choose_implementation("auto", cpu) == "chunked"
    with pytest.raises(ConfigError, match="scan='cpu-kernel' is not available.*apt-get install gcc"):
        choose_implementation("cpu-kernel", cpu)
    inputs = _inputs(1, 2, 3, 20)
    torch.testing.assert_close(
        selective_scan(**inputs, delta_softplus=True), selective_scan_reference(**inputs, delta_softplus=True), **TOL
    )


def test_cpu_kernel_is_refused_for_accelerator_tensors():
    with pytest.raises(ConfigError, match="not on the CPU"):
        choose_implementation("cpu-kernel", torch.device("cuda"))
    assert "cpu-kernel" in scan_module.IMPLEMENTATIONS


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("impl", ["cpu-kernel", "chunked"])
def test_time_major_scan_reads_views_and_runs_backwards(reverse, impl):
    """[b, l, d] views into wider projections (as the Mamba mixer has them), 40 channels (3 vector
    blocks, the last one partial), 2 threads over 1 batch row (2 channel groups); ``reverse`` equals
    flipping time around the reference scan."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        g = torch.Generator().manual_seed(7)
        batch, length, dim, state = 1, 150, 40, 16
        xz = torch.randn(batch, length, 2 * dim, generator=g).requires_grad_(True)  # in_proj output
        dbc = torch.randn(batch, length, 3 + 2 * state, generator=g).requires_grad_(True)  # x_proj output
        delta = (torch.randn(batch, length, dim, generator=g) * 0.5).requires_grad_(True)
        A = (-(torch.arange(1, state + 1).float() * (1 + 0.1 * torch.rand(dim, state, generator=g)))).requires_grad_(True)
        D, bias = torch.randn(dim, generator=g).requires_grad_(True), torch.zeros(dim).requires_grad_(True)
        leaves = (xz, dbc, delta, A, D, bias)

        def run(scan):
            u, z = xz[..., :dim], xz[..., dim:]
            B, C = dbc[..., 3:3 + state], dbc[..., 3 + state:]
            return scan(u, delta, A, B, C, D, z, bias)

        out = run(lambda *a: selective_scan_time_major(*a, delta_softplus=True, reverse=reverse, impl=impl))

        def reference(u, delta, A, B, C, D, z, bias):
            flip = (lambda t: t.flip(1)) if reverse else (lambda t: t)
            cf = [flip(t).transpose(1, 2) for t in (u, delta, B, C, z)]
            y = selective_scan_reference(cf[0], cf[1], A, cf[2], cf[3], D, cf[4], bias, delta_softplus=True)
            return flip(y.transpose(1, 2))

        weights = torch.randn(batch, length, dim, generator=g)
        grads = torch.autograd.grad((out * weights).sum(), leaves)
        ref = run(reference)
        ref_grads = torch.autograd.grad((ref * weights).sum(), leaves)
        torch.testing.assert_close(out, ref, **TOL)
        for name, grad, ref_grad in zip(("xz", "dbc", "delta", "A", "D", "bias"), grads, ref_grads):
            # A, D and bias sum 150 steps: float32 summation order alone moves them by ~2e-5
            tol = TOL if name in ("xz", "dbc", "delta") else {"atol": 1e-4, "rtol": 1e-4}
            torch.testing.assert_close(grad, ref_grad, **tol, msg=lambda m: f"grad {name}: {m}")
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_causal_conv_silu_equals_torch(reverse, threads):
    """The C convolution + SiLU against nn.Conv1d on the (flipped) sequence, forward and gradients,
    reading x as a view into a wider projection."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(8)
        conv = torch.nn.Conv1d(20, 20, 4, groups=20, padding=3)
        xz = torch.randn(3, 50, 40, generator=g, requires_grad=True)

        def torch_path(x):
            seq = x.flip(1) if reverse else x
            out = torch.nn.functional.silu(conv(seq.transpose(1, 2))[..., :50]).transpose(1, 2)
            return out.flip(1) if reverse else out

        out = cpu_scan.causal_conv1d_silu(xz[..., :20], conv.weight, conv.bias, reverse=reverse)
        weights = torch.randn(3, 50, 20, generator=g)
        grads = torch.autograd.grad((out * weights).sum(), (xz, conv.weight, conv.bias))
        ref = torch_path(xz[..., :20])
        ref_grads = torch.autograd.grad((ref * weights).sum(), (xz, conv.weight, conv.bias))
        torch.testing.assert_close(out, ref, **TOL)
        for name, grad, ref_grad in zip(("x", "weight", "bias"), grads, ref_grads):
            torch.testing.assert_close(grad, ref_grad, atol=1e-4, rtol=1e-4, msg=lambda m: f"grad {name}: {m}")
    finally:
        torch.set_num_threads(previous)
