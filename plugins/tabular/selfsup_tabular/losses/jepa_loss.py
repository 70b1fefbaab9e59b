"""Latent-prediction loss of T-JEPA (and I-JEPA).

For a batch of B rows, M target masks with index sets T_k of equal size T,
predictions p_{k,b,t} ∈ ℝ^h of the predictor and targets s_{k,b,t} ∈ ℝ^h
gathered from the EMA target encoder's output on the full row:

    L = 1/(M·B·T·h) · Σ_k Σ_b Σ_{t∈T_k} ‖ p_{k,b,t} − sg(s_{k,b,t}) ‖²
      = (1/M) Σ_k MSE(p_k, sg(s_k))

(sg = stop-gradient). This is what the official code computes:
``torch.nn.MSELoss()`` (mean reduction) on the M masks concatenated along the
batch axis (jose-melo/t-jepa @ 98dda99, ``src/train.py``, ``Trainer.train``;
paper: Thimonier et al., ICLR 2025, arXiv 2410.05016, §3). The mean is taken
in float32 so that bf16 autocast does not round the sum.
"""

from __future__ import annotations

import torch

__all__ = ["jepa_latent_mse"]


def jepa_latent_mse(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted and (detached) target latents.

    Args:
        predictions: ``[M·B, T, h]`` (or any shape) predictor outputs.
        targets: same shape; the target encoder's tokens. Gradients never flow into them.

    Returns:
        A scalar float32 tensor.
    """
    if predictions.shape != targets.shape:
        raise ValueError(
            f"jepa_latent_mse: predictions {tuple(predictions.shape)} and targets "
            f"{tuple(targets.shape)} differ in shape"
        )
    difference = predictions.float() - targets.detach().float()
    return difference.square().mean()
