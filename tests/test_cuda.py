"""Every CUDA branch of the code, run on a GPU: ``pytest -m cuda`` (``benchmarks/gpu/run.sh`` runs it).

Without CUDA every test here skips. The branches: the fused optimisers, bf16 autocast and fp16
with a ``GradScaler``, ``channels_last``, ``torch.compile``, the engine's step without host
reads, the selective scan's CUDA paths (chunked, and mamba-ssm's kernel when it imports) and
the Gaussian renderer's gsplat path (when gsplat imports) against the pure-torch reference.
"""

from __future__ import annotations

import importlib.util
import warnings

import pytest
import torch
from selfsup.config import TrainerConfig
from selfsup.engine.optim import build_optimizer
from selfsup.engine.trainer import Trainer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/gpu/run.sh)"),
]
CUDA = torch.device("cuda")


def _toy(objective: str = "denoise"):
    import selfsup_toy

    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    torch.manual_seed(0)
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    cls = {"denoise": selfsup_toy.Denoise, "two-player": selfsup_toy.TwoPlayer}[objective]
    return data, cls(selfsup_toy.DenoiseConfig(), encoder, data.info)


def _fit(objective_name: str = "denoise", **trainer):
    data, objective = _toy(objective_name)
    before = [p.detach().clone() for p in objective.parameters()]
    history = Trainer(TrainerConfig(max_steps=6, batch_size=16, log_every=3, device="cuda", **trainer), seed=0).fit(
        objective, data
    )
    moved = any(not torch.equal(a, b.detach().cpu()) for a, b in zip(before, objective.parameters()))
    return history, objective, moved


def test_fused_optimisers_on_cuda():
    model = torch.nn.Linear(4, 3).to(CUDA)
    for name in ("adamw", "adam", "sgd"):
        settings = {**TrainerConfig().__dict__, "optimizer": name, "lr": 1e-2}
        optimizer = build_optimizer(list(model.parameters()), settings, device=CUDA)
        assert all(group.get("fused") for group in optimizer.param_groups), name
        model(torch.randn(8, 4, device=CUDA)).pow(2).mean().backward()
        optimizer.step()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_training_moves_the_weights(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    history, objective, moved = _fit(precision=precision)
    assert moved and all(torch.isfinite(torch.tensor(row["loss"])) for row in history)
    assert all(p.device.type == "cuda" and p.dtype == torch.float32 for p in objective.parameters())


def test_two_phase_objective_on_cuda_with_fp16_scalers():
    history, _, moved = _fit("two-player", precision="fp16")
    assert moved and {"loss/critic", "loss/encoder"} <= set(history[-1])


def test_channels_last_and_compile_on_cuda():
    history, _, moved = _fit(channels_last=True, compile=True)
    assert moved and len(history) == 6


def test_a_cuda_step_does_not_synchronise(monkeypatch):
    """No host-device synchronisation inside a step on CUDA (torch's sync debug mode warns on each)."""
    syncs: list[str] = []
    update = Trainer._phase_update

    def watched(self, *args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                return update(self, *args, **kwargs)
            finally:
                torch.cuda.set_sync_debug_mode("default")
                syncs.extend(str(w.message) for w in caught if "synchroniz" in str(w.message))

    monkeypatch.setattr(Trainer, "_phase_update", watched)
    _fit()
    assert syncs == []


@pytest.mark.parametrize("impl", ["chunked", "mamba-ssm"])
def test_selective_scan_on_cuda_equals_the_reference(impl):
    from selfsup_audio.encoders.selective_scan import mamba_ssm_kernel, selective_scan

    if impl == "mamba-ssm" and mamba_ssm_kernel() is None:
        pytest.skip("mamba-ssm is not importable on this machine")
    torch.manual_seed(0)
    b, d, n, length = 2, 32, 16, 300
    args = [torch.randn(b, d, length), torch.rand(b, d, length) * 0.1, -torch.rand(d, n) - 0.5,
            torch.randn(b, n, length), torch.randn(b, n, length), torch.randn(d), torch.randn(b, d, length),
            torch.randn(d) * 0.1]
    reference = selective_scan(*args, delta_softplus=True, impl="reference")
    on_gpu = selective_scan(*[a.to(CUDA) for a in args], delta_softplus=True, impl=impl)
    torch.testing.assert_close(on_gpu.cpu(), reference, atol=2e-4, rtol=1e-3)


def test_gsplat_renderer_equals_the_torch_renderer():
    if importlib.util.find_spec("gsplat") is None:
        pytest.skip("gsplat is not importable on this machine")
    from selfsup_pointcloud.gaussians.renderer import render_gaussians

    torch.manual_seed(0)
    count = 200
    means = torch.randn(count, 3) * 0.5 + torch.tensor([0.0, 0.0, 3.0])
    quats = torch.nn.functional.normalize(torch.randn(count, 4), dim=1)
    scales, opacities, colors = torch.rand(count, 3) * 0.05 + 0.01, torch.rand(count) * 0.8 + 0.1, torch.rand(count, 3)
    intrinsics = torch.tensor([[[60.0, 0, 32], [0, 60.0, 24], [0, 0, 1]]])
    world_to_camera = torch.eye(4)[None]
    inputs = (means, quats, scales, opacities, colors, intrinsics, world_to_camera, 48, 64)
    torch_out = render_gaussians(*[x.to(CUDA) if torch.is_tensor(x) else x for x in inputs], backend="torch")
    gsplat_out = render_gaussians(*[x.to(CUDA) if torch.is_tensor(x) else x for x in inputs], backend="gsplat")
    torch.testing.assert_close(gsplat_out.color, torch_out.color, atol=2e-3, rtol=1e-2)
