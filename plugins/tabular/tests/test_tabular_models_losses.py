"""Golden values and bounds of the T-JEPA and CLAN losses (hand-computed numbers)."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup_tabular.losses import clan_loss, cosine_half_distance, jepa_latent_mse


# --------------------------------------------------------------------------- T-JEPA


def test_jepa_latent_mse_golden_value() -> None:
    # M·B = 2 rows, T = 1 target token, h = 2:
    # squared differences (1-0)², (2-0)², (0-1)², (0-1)² = 1, 4, 1, 1 → mean 7/4.
    predictions = torch.tensor([[[1.0, 2.0]], [[0.0, 0.0]]])
    targets = torch.tensor([[[0.0, 0.0]], [[1.0, 1.0]]])
    assert jepa_latent_mse(predictions, targets).item() == pytest.approx(1.75)


def test_jepa_latent_mse_is_mean_over_masks() -> None:
    # (1/M) Σ_k MSE_k equals the mean over the concatenation for equal-size masks.
    generator = torch.Generator().manual_seed(0)
    predictions = torch.randn(4 * 3, 5, 8, generator=generator)
    targets = torch.randn(4 * 3, 5, 8, generator=generator)
    per_mask = [torch.mean((p - t) ** 2) for p, t in zip(predictions.chunk(4), targets.chunk(4))]
    assert jepa_latent_mse(predictions, targets).item() == pytest.approx(torch.stack(per_mask).mean().item(), rel=1e-6)


def test_jepa_latent_mse_stops_gradient_into_targets() -> None:
    predictions = torch.tensor([[[1.0, 2.0]]], requires_grad=True)
    targets = torch.tensor([[[0.0, 0.0]]], requires_grad=True)
    jepa_latent_mse(predictions, targets).backward()
    # d/dp mean((p - t)²) = 2 (p - t) / 2 = p - t
    assert torch.allclose(predictions.grad, torch.tensor([[[1.0, 2.0]]]))
    assert targets.grad is None


def test_jepa_latent_mse_rejects_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        jepa_latent_mse(torch.zeros(2, 3, 4), torch.zeros(2, 3, 5))


def test_jepa_latent_mse_bf16_inputs_give_float32() -> None:
    loss = jepa_latent_mse(torch.ones(2, 1, 2, dtype=torch.bfloat16), torch.zeros(2, 1, 2, dtype=torch.bfloat16))
    assert loss.dtype == torch.float32 and loss.item() == 1.0


# --------------------------------------------------------------------------- CLAN


def test_cosine_half_distance_values() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[3.0, 0.0], [-1.0, 0.0]])
    expected = torch.tensor([[0.0, 1.0], [0.5, 0.5]])  # cos 1 → 0, cos −1 → 1, cos 0 → 0.5
    assert torch.allclose(cosine_half_distance(a, b), expected, atol=1e-7)


def test_clan_loss_golden_value() -> None:
    # z = e1, e2; ẑ = e1, −e1; m = 0.75, α = 0.3, ε = 1e-6.
    # d(z, z)  = [[0, .5], [.5, 0]]       → 2 active pairs, L_sim = 1.0 / (2 + ε)
    # d(z, ẑ)  = [[0, 1], [.5, .5]]
    # hinge    = [[.75, 0], [.25, .25]]   → 3 active pairs, L_dis = 1.25 / (3 + ε)
    # L = 0.3 · L_sim + 0.7 · L_dis = 0.15 + 0.291666… ; active negative fraction = 3/4
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_augmented = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    out = clan_loss(z, z_augmented, margin=0.75, alpha=0.3, eps=1e-6)
    eps = 1e-6
    assert out.similar_loss.item() == pytest.approx(1.0 / (2 + eps), rel=1e-6)
    assert out.dissimilar_loss.item() == pytest.approx(1.25 / (3 + eps), rel=1e-6)
    assert out.loss.item() == pytest.approx(0.3 / (2 + eps) + 0.7 * 1.25 / (3 + eps), rel=1e-6)
    assert out.loss.item() == pytest.approx(0.441667, abs=1e-5)
    assert out.active_negative_fraction.item() == pytest.approx(0.75)


def test_clan_loss_defaults_golden_value() -> None:
    # Same vectors with the train_clan.py defaults m = 0.5, α = 0.5:
    # hinge = [[.5, 0], [0, 0]] → L_dis = 0.5 / (1 + ε); L_sim = 1 / (2 + ε); fraction 1/4.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_augmented = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    out = clan_loss(z, z_augmented)
    assert out.loss.item() == pytest.approx(0.5 / (2 + 1e-6) + 0.5 * 0.5 / (1 + 1e-6), rel=1e-6)
    assert out.active_negative_fraction.item() == pytest.approx(0.25)


def test_clan_loss_squared_golden_value() -> None:
    # squared: L_sim = 2·0.25 / 2 = 0.25; hinge² = [[.5625, 0], [.0625, .0625]] → 0.6875 / 3.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_augmented = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    out = clan_loss(z, z_augmented, margin=0.75, alpha=0.5, squared=True)
    assert out.similar_loss.item() == pytest.approx(0.25, rel=1e-5)
    assert out.dissimilar_loss.item() == pytest.approx(0.6875 / 3, rel=1e-5)


def test_clan_loss_row_mask_keeps_pairs_of_selected_rows() -> None:
    # Only row 0 selected: sim pair (0,0) has d = 0 (inactive) → L_sim = 0;
    # dis pair (0,0) has hinge 0.75 → L_dis = 0.75 / (1 + ε); fraction 1/1.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_augmented = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    out = clan_loss(z, z_augmented, margin=0.75, alpha=0.5, row_mask=torch.tensor([True, False]))
    assert out.similar_loss.item() == 0.0
    assert out.dissimilar_loss.item() == pytest.approx(0.75, rel=1e-5)
    assert out.active_negative_fraction.item() == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("margin", [0.25, 0.5, 1.0])
def test_clan_loss_bounds(seed: int, margin: float) -> None:
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(64, 16, generator=generator)
    z_augmented = z + torch.randn(64, 16, generator=generator) * (seed / 2)
    out = clan_loss(z, z_augmented, margin=margin)
    assert 0.0 <= out.similar_loss.item() <= 1.0
    assert 0.0 <= out.dissimilar_loss.item() <= margin
    assert 0.0 <= out.active_negative_fraction.item() <= 1.0


def test_clan_loss_collapsed_batch_is_zero_similarity() -> None:
    # Identical rows and no augmentation: L_sim = 0 and every negative is active with hinge m.
    z = torch.randn(1, 8).repeat(256, 1)
    out = clan_loss(z, z.clone(), margin=0.5)
    assert out.similar_loss.item() == 0.0
    assert out.dissimilar_loss.item() == pytest.approx(0.5, abs=1e-5)
    assert out.active_negative_fraction.item() == 1.0
    assert math.isfinite(out.loss.item())


def test_clan_loss_has_gradients() -> None:
    z = torch.randn(8, 4, requires_grad=True)
    z_augmented = torch.randn(8, 4, requires_grad=True)
    clan_loss(z, z_augmented).loss.backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert z_augmented.grad is not None
