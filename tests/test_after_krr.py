"""KRR-ST's closed form (against a direct solve and scikit-learn) and its gradient path."""

from __future__ import annotations

import json

import pytest
import torch

from selfsup.procedures.krr import krr_predict, krr_st_loss, with_bias


def test_closed_form_equals_a_direct_solve_and_sklearn() -> None:
    g = torch.Generator().manual_seed(0)
    phi_s = with_bias(torch.randn(50, 32, generator=g, dtype=torch.float64))
    phi_r = with_bias(torch.randn(20, 32, generator=g, dtype=torch.float64))
    y_s = torch.randn(50, 7, generator=g, dtype=torch.float64)
    lam = 1e-6 * float(torch.trace(phi_s @ phi_s.T))
    # direct solve of the primal-dual identity: α = (Φ_s Φ_sᵀ + λI)⁻¹ Y_s, Ŷ = Φ_r Φ_sᵀ α
    alpha = torch.linalg.inv(phi_s @ phi_s.T + lam * torch.eye(50, dtype=torch.float64)) @ y_s
    direct = phi_r @ phi_s.T @ alpha
    ours = krr_predict(phi_s, phi_r, y_s)
    torch.testing.assert_close(ours, direct, atol=1e-8, rtol=1e-8)
    kernel_ridge = pytest.importorskip("sklearn.kernel_ridge")
    ref = kernel_ridge.KernelRidge(alpha=lam, kernel="linear").fit(phi_s.numpy(), y_s.numpy()).predict(phi_r.numpy())
    torch.testing.assert_close(ours, torch.from_numpy(ref), atol=1e-5, rtol=1e-5)


def test_ridge_golden_one_dimensional() -> None:
    # Φ_s = [[1],[2]] (no bias here), Y_s = [[1],[2]]: K_ss = [[1,2],[2,4]], tr = 5, λ = 0.5 (ridge 0.1).
    # α = (K + 0.5 I)⁻¹ Y = [[1.5,2],[2,4.5]]⁻¹ [1,2]ᵀ; det = 6.75-4 = 2.75;
    # α = [4.5·1-2·2, -2·1+1.5·2]/2.75 = [0.5, 1]/2.75. Φ_r = [[3]]: K_rs = [3, 6];
    # Ŷ = (3·0.5 + 6·1)/2.75 = 7.5/2.75 = 2.7272...
    out = krr_predict(torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0]]), torch.tensor([[1.0], [2.0]]), ridge=0.1)
    assert out.item() == pytest.approx(7.5 / 2.75, rel=1e-6)


def test_gradients_reach_the_synthetic_set_and_not_the_real_features() -> None:
    g = torch.Generator().manual_seed(1)
    x_s = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y_s = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)  # a "pool model"
    x_r = torch.randn(9, 4, generator=g, dtype=torch.float64)
    y_r = torch.randn(9, 3, generator=g, dtype=torch.float64)
    loss = krr_st_loss(torch.tanh(x_s @ weight), torch.tanh(x_r @ weight), y_s, y_r, ridge=1e-3)
    grad_x, grad_y, grad_w = torch.autograd.grad(loss, (x_s, y_s, weight), allow_unused=True)
    assert grad_x.abs().sum() > 0 and grad_y.abs().sum() > 0
    # the pool model's weight gets gradient only through Φ_s (the real side is detached)
    assert grad_w is not None

    def f(xs: torch.Tensor, ys: torch.Tensor, ridge: float) -> torch.Tensor:
        return krr_st_loss(torch.tanh(xs @ weight.detach()), torch.tanh(x_r @ weight.detach()), ys, y_r, ridge=ridge)

    # λ = ridge·tr(K_ss) is detached (as the official code), so the full derivative w.r.t. X_s
    # matches finite differences only at ridge 0; w.r.t. Y_s λ does not matter.
    xs, ys = x_s.detach().requires_grad_(), y_s.detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: f(a, b, 0.0), (xs, ys))
    assert torch.autograd.gradcheck(lambda b: f(xs.detach(), b, 1e-3), (ys,))


def test_distill_moves_the_inputs_lowers_the_loss_and_writes_png_and_manifest(tmp_path, make_eval_source) -> None:
    """A tiny image source ([N, 1, 4, 4] in [-1, 1]) and a linear+tanh encoder: the distilled set
    is written as PNGs + safetensors + manifest; the outer loss falls; the pool never trains the target."""
    import json

    from torch import nn

    from selfsup.procedures.distill import DistillSettings, distill
    from selfsup.procedures.distill_io import write_distilled
    from selfsup.safe_files import load_weights

    class Tiny(nn.Module):
        embed_dim = 6

        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(16, 6)

        def forward(self, batch):
            return torch.tanh(self.lin(batch["x"].flatten(1)))

    g = torch.Generator().manual_seed(0)
    x = torch.rand(200, 1, 4, 4, generator=g) * 2 - 1
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    data = make_eval_source({"train": (x, y), "test": (x[:50], y[:50])})
    torch.manual_seed(0)
    target = Tiny()
    before = {k: v.clone() for k, v in target.state_dict().items()}

    def make_encoder(seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return Tiny()

    settings = DistillSettings(size=10, steps=60, lr=1e-2, batch_size=64, pool_size=2, online_iteration=5)
    result = distill(target, data, make_encoder, settings)
    assert result.keys == ["x"]
    init = x[torch.randperm(200, generator=torch.Generator().manual_seed(0))[:10]]
    assert not torch.allclose(result.inputs["x"], init)
    # the KRR fit of g's representations of all real rows, on the features of an unseen fresh model,
    # is better from the distilled set than from the initial real rows with their targets
    probe, real = make_encoder(999), {"x": x}
    with torch.no_grad():
        y_real = target(real)
        start = krr_st_loss(probe({"x": init}), probe(real), target({"x": init}), y_real)
        end = krr_st_loss(probe({"x": result.inputs["x"]}), probe(real), result.targets, y_real)
    assert end < start
    assert float(result.inputs["x"].min()) >= -1 and float(result.inputs["x"].max()) <= 1  # kept in the data's range
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in before.items())
    # official pool counter: slots re-initialised at 5 steps and never reset -> most draws are fresh
    assert result.fresh_draws > 0.5
    manifest = write_distilled(tmp_path / "out", result, {}, {"run_dir": "x"})
    record = json.loads(manifest.read_text())
    assert record["formats"] == ["png"] and record["size"] == 10
    assert len(list((tmp_path / "out" / "images").glob("*.png"))) == 10
    saved = load_weights(tmp_path / "out" / "distilled.safetensors")
    torch.testing.assert_close(saved["targets"], result.targets)
    assert set(record["sha256"]) >= {"distilled.safetensors", "images/00000.png"}


def _tiny_tabular_run(tmp_path):
    pytest.importorskip("selfsup_tabular")
    from selfsup import pretrain

    run_dir = tmp_path / "run"
    pretrain(modality="tabular", evaluators=[], run_dir=str(run_dir), trainer={"max_steps": 2, "progress": "off"})
    return run_dir


def test_distill_command_writes_the_set_and_its_transfer_scores(tmp_path) -> None:
    from selfsup.cli import main

    run_dir = _tiny_tabular_run(tmp_path)
    out = tmp_path / "distilled"
    assert main(["distill", f"run_dir={run_dir}", "size=8", "steps=2", "transfer=true", "transfer_steps=2", f"out={out}"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "rows.csv").is_file() and manifest["size"] == 8
    assert manifest["transfer"] and all(isinstance(v, float) for v in manifest["transfer"].values())


def test_a_failing_transfer_keeps_the_distilled_set(tmp_path, monkeypatch) -> None:
    """Distilling can take many minutes: the transfer comparison runs after the set is on disk."""
    from selfsup.cli import main
    from selfsup.procedures import distill as distill_module

    def broken(*args, **kwargs):
        raise RuntimeError("transfer failed")

    monkeypatch.setattr(distill_module, "transfer_scores", broken)
    run_dir = _tiny_tabular_run(tmp_path)
    out = tmp_path / "distilled"
    with pytest.raises(RuntimeError, match="transfer failed"):
        main(["distill", f"run_dir={run_dir}", "size=8", "steps=2", "transfer=true", f"out={out}"])
    assert (out / "distilled.safetensors").is_file() and (out / "rows.csv").is_file()
    assert json.loads((out / "manifest.json").read_text())["size"] == 8
