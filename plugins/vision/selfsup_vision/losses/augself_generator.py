r"""AugSelf-GAN's generator adversarial self-supervised term (Hou et al., NeurIPS 2023, arXiv 2205.15677, method section: the generator objective).

The generator pushes D's prediction on its samples towards the "real" target +ω and away
from the "fake" target −ω:

    L_G^ss = Σ_p [ MSE(Δ_p(G(z)), +ω_p) − MSE(Δ_p(G(z)), −ω_p) ]

(MSE: mean over batch and ω dimensions). Since (p − ω)² − (p + ω)² = −4pω, each policy's
term equals −4·mean(Δ_p ⊙ ω_p): the generator maximises the correlation between D's
prediction and the true parameters. The objective adds λ_g·L_G^ss to the hinge generator
loss. Follows ``liang-hou/augself-gan:augself-biggan/train_fns.py`` (``G_loss_augself``).

Golden value: predictions (0, 1) with ω (0.5, 0.5): MSE(p, ω) = (0.25 + 0.25)/2 = 0.25,
MSE(p, −ω) = (0.25 + 2.25)/2 = 1.25, L_G^ss = −1 = −4·(0·0.5 + 1·0.5)/2.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

__all__ = ["augself_generator_loss"]


def augself_generator_loss(pred_fake: Mapping[str, torch.Tensor], omega_fake: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Σ_p MSE(pred_p, +ω_p) − MSE(pred_p, −ω_p); each value ``[rows, dim_p]``."""
    if not pred_fake:
        raise ValueError("augself_generator_loss needs at least one policy's predictions")
    terms = [F.mse_loss(pred_fake[p], omega_fake[p]) - F.mse_loss(pred_fake[p], -omega_fake[p]) for p in pred_fake]
    return torch.stack(terms).sum()
