r"""Reconstruction term of SCGC: the autoencoder's mean squared error.

    L_R = (1 / (N·F)) Σ_i Σ_f (x̂_if − x_if)²

(``F.mse_loss(x_bar, x)``, mean over every element). SCGC adds it with weight 1
(``gayanku/SCGC:train.py``, ``train_scgc``: ``loss = β·kl + α·ncontrast + re_loss``);
SCGC* drops it. The reconstruction-only warm-up that stands in for SDCN's
pretrained autoencoder uses the same term.

Golden value: x = [[1, 0], [0, 1]], x̂ = [[0.5, 0], [0, 0]] gives
L_R = (0.25 + 1)/4 = 0.3125.
"""

from __future__ import annotations

import torch

__all__ = ["reconstruction_loss"]


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L_R of the module docstring (float32)."""
    return (x_hat.float() - x.float()).pow(2).mean()
