r"""AugSelf-GAN's discriminator self-supervised loss (Hou et al., NeurIPS 2023, arXiv 2205.15677, method section: the discriminator objective).

For each augmentation policy p, D's head φ_p predicts the policy's parameters ω_p from
the difference of the trunk features of the augmented and the clean image,
Δ_p(x) = φ_p(h(T_ω(x)) − h(x)). Real images are regressed to +ω, generated ones to −ω
(the "sym" label scheme that the released code hard-codes):

    L_D^ss = Σ_p [ MSE(Δ_p(x_real), +ω_p) + MSE(Δ_p(G(z)), −ω_p) ]

with MSE the mean over the batch and the ω dimensions (``F.mse_loss``, mean reduction).
With ``data="real"`` (the released code's ablation ``--SS_D_data real``, ``train_fns.py`` of
commit ``5da2867``) only the real term is kept: L_D^ss = Σ_p MSE(Δ_p(x_real), +ω_p).
The objective adds λ_d·L_D^ss to the hinge loss. Follows
``liang-hou/augself-gan:augself-biggan/train_fns.py`` (``GAN_training_function``, the
``D_loss_augself`` sum over ``config['augself']``).

Golden value (one policy, 2 samples × 1 dim): real predictions (0.5, 0) with ω (0.5, 1):
MSE = (0² + 1²)/2 = 0.5; fake predictions (0, 1) with ω (0.5, 0.5): targets (−0.5, −0.5),
MSE = (0.5² + 1.5²)/2 = 1.25; L_D^ss = 1.75.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

__all__ = ["augself_discriminator_loss"]


def augself_discriminator_loss(
    pred_real: Mapping[str, torch.Tensor],
    omega_real: Mapping[str, torch.Tensor],
    pred_fake: Mapping[str, torch.Tensor],
    omega_fake: Mapping[str, torch.Tensor],
    *,
    data: str = "all",
) -> torch.Tensor:
    """Σ_p MSE(pred_real_p, +ω_real_p) + MSE(pred_fake_p, −ω_fake_p) (``data="real"``: the first
    term only); each value ``[rows, dim_p]``."""
    if not pred_real:
        raise ValueError("augself_discriminator_loss needs at least one policy's predictions")
    if data not in ("all", "real"):
        raise ValueError(f"augself_discriminator_loss: data must be 'all' or 'real', not {data!r}")
    terms = [
        F.mse_loss(pred_real[p], omega_real[p]) + (F.mse_loss(pred_fake[p], -omega_fake[p]) if data == "all" else 0.0)
        for p in pred_real
    ]
    return torch.stack(terms).sum()
