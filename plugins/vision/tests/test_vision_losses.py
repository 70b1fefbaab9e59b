"""Golden values for the vision losses (hand-computed numbers in the loss docstrings)."""

from __future__ import annotations

import pytest
import torch

from selfsup_vision.losses.augself_discriminator import augself_discriminator_loss
from selfsup_vision.losses.augself_generator import augself_generator_loss
from selfsup_vision.losses.hinge import hinge_discriminator_loss, hinge_generator_loss


def test_hinge_losses_on_hand_made_logits():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-2.0, 0.0, 1.0])
    loss_real, loss_fake = hinge_discriminator_loss(real, fake)
    assert loss_real.item() == pytest.approx(5.0 / 6.0)  # (0 + 0.5 + 2)/3
    assert loss_fake.item() == pytest.approx(1.0)  # (0 + 1 + 2)/3
    assert hinge_generator_loss(fake).item() == pytest.approx(1.0 / 3.0)  # −(−2 + 0 + 1)/3


def test_augself_discriminator_golden_value_and_sign_convention():
    pred_real, omega_real = {"c": torch.tensor([[0.5], [0.0]])}, {"c": torch.tensor([[0.5], [1.0]])}
    pred_fake, omega_fake = {"c": torch.tensor([[0.0], [1.0]])}, {"c": torch.tensor([[0.5], [0.5]])}
    loss = augself_discriminator_loss(pred_real, omega_real, pred_fake, omega_fake)
    assert loss.item() == pytest.approx(0.5 + 1.25)
    # perfect predictions (+ω real, −ω fake) give zero; swapping the fake sign does not
    omega = torch.rand(5, 3)
    assert augself_discriminator_loss({"t": omega}, {"t": omega}, {"t": -omega}, {"t": omega}).item() == 0.0
    assert augself_discriminator_loss({"t": omega}, {"t": omega}, {"t": omega}, {"t": omega}).item() > 0.0


def test_augself_discriminator_real_only_ablation_drops_the_fake_term():
    """``data="real"`` (the released code's ``--SS_D_data real``): the golden case above keeps only
    its real term, MSE = (0² + 1²)/2 = 0.5, whatever the fake predictions are."""
    pred_real, omega_real = {"c": torch.tensor([[0.5], [0.0]])}, {"c": torch.tensor([[0.5], [1.0]])}
    pred_fake, omega_fake = {"c": torch.tensor([[0.0], [1.0]])}, {"c": torch.tensor([[0.5], [0.5]])}
    assert augself_discriminator_loss(pred_real, omega_real, pred_fake, omega_fake, data="real").item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="'all' or 'real'"):
        augself_discriminator_loss(pred_real, omega_real, pred_fake, omega_fake, data="fake")


def test_augself_generator_golden_value():
    pred, omega = {"c": torch.tensor([[0.0], [1.0]])}, {"c": torch.tensor([[0.5], [0.5]])}
    assert augself_generator_loss(pred, omega).item() == pytest.approx(-1.0)


def test_augself_generator_equals_minus_four_mean_pred_omega():
    generator = torch.Generator().manual_seed(0)
    pred = {"color": torch.randn(7, 3, generator=generator, dtype=torch.float64),
            "translation": torch.randn(7, 2, generator=generator, dtype=torch.float64)}
    omega = {k: torch.rand(v.shape, generator=generator, dtype=torch.float64) for k, v in pred.items()}
    expected = sum(-4.0 * (pred[k] * omega[k]).mean() for k in pred)
    torch.testing.assert_close(augself_generator_loss(pred, omega), expected, rtol=0, atol=1e-12)
    # its gradient in the prediction is −4ω/numel: linear in the prediction
    p = pred["color"].clone().requires_grad_(True)
    augself_generator_loss({"color": p}, {"color": omega["color"]}).backward()
    torch.testing.assert_close(p.grad, -4.0 * omega["color"] / p.numel())
