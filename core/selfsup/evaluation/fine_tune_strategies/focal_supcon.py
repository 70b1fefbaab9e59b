"""Core-tuning's focal supervised-contrastive loss (``Vanint/Core-tuning:Core-tuning.py``,
``focal_SupConLoss``, commit ``f70e1bf``).

For L2-normalised ``z`` (``[B, D]``), class ids ``c`` and temperature ``τ``:

* ``p_ij = exp(z_i·z_j/τ) / Σ_{k≠i} exp(z_i·z_k/τ)`` for ``j ≠ i``;
* focal weight ``w_ij = 1 − p_ij`` (easy positives count less);
* ``ℓ_i = −(τ/τ_b) · (1/B) Σ_{j≠i, c_j = c_i} w_ij · log p_ij`` — the official code averages over
  *all* B columns, not over the positives;
* ``L = Σ_i ℓ_i / #{i : i has a positive}``.

``τ_b = τ`` (the official ``base_temperature = temperature = 0.07``). Deviation: the official
code returns a zero tensor when the loss is NaN (no anchor with a positive); here that case
gives ``0`` with a gradient path.
"""

from __future__ import annotations

import torch

__all__ = ["focal_supcon_loss"]


def focal_supcon_loss(z: torch.Tensor, classes: torch.Tensor, temperature: float = 0.07, base_temperature: float | None = None) -> torch.Tensor:
    """See the module docstring; ``z`` is expected L2-normalised."""
    base = temperature if base_temperature is None else base_temperature
    n = z.shape[0]
    classes = classes.reshape(-1, 1)
    same = (classes == classes.T).to(z.dtype)
    logits = z.float() @ z.float().T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    not_self = 1.0 - torch.eye(n, device=z.device, dtype=logits.dtype)
    positives = same * not_self
    log_prob = logits - torch.log((torch.exp(logits) * not_self).sum(dim=1, keepdim=True))
    weight = 1.0 - torch.exp(log_prob)
    per_anchor = -(temperature / base) * (weight * positives * log_prob).mean(dim=1)
    anchors = (positives.sum(dim=1) > 0).sum()
    return per_anchor.sum() / anchors.clamp_min(1)
