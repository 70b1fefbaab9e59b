"""Hinge adversarial losses (Lim & Ye, 2017; Miyato et al., 2018), as BigGAN uses them.

Follows ``liang-hou/augself-gan:augself-biggan/losses.py`` (``loss_hinge_dis``,
``loss_hinge_gen``):

    L_D = E_x[max(0, 1 − D(x))] + E_z[max(0, 1 + D(G(z)))]
    L_G = −E_z[D(G(z))]

Golden values: real logits (2, 0.5, −1), fake logits (−2, 0, 1) give
L_D real = (0 + 0.5 + 2)/3 = 5/6, L_D fake = (0 + 1 + 2)/3 = 1, L_G = −(−2 + 0 + 1)/3 = 1/3.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["hinge_discriminator_loss", "hinge_generator_loss"]


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean relu(1 − D(real)), mean relu(1 + D(fake)))."""
    return F.relu(1.0 - real_logits).mean(), F.relu(1.0 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """−mean D(fake)."""
    return -fake_logits.mean()
