"""Core-tuning's enlarged feature set (``Vanint/Core-tuning:Core-tuning.py``, ``feature_mixup``).

From B features ``f`` with one-hot labels ``Y`` it builds 3B rows:

1. the originals, **detached** (``features.clone().detach()``: gradients reach the encoder only
   through the mixed rows);
2. hard negatives: ``(1 − λ_i)·f_i + λ_i·f_{π(i)}`` (and the same for ``Y``) with ``π`` a random
   permutation and ``λ_i = max(λ'_i, m)``, ``λ' ~ Beta(α, α)``, ``m = 0.8``: the partner dominates;
3. hard positives: ``λ_i·f_{p(i)} + (1 − λ_i)·f_{n(i)}``, ``λ ~ Beta(α, α)``, where on the cosine
   similarity ``S`` of the normalised features (:func:`hard_pairs`)
   ``n(i) = argmax_j S_ij·[y_j ≠ y_i]`` (most similar other-class sample) and
   ``p(i) = argmin_j S_ij·[y_j = y_i, j ≠ i]`` (least similar same-class sample), both over
   the *masked products* as the official code (masked entries are 0, so a row whose
   same-class similarities are all positive picks a masked column), and ``p(i) = i`` where the
   argmin is 0 (the official fallback, which also catches a genuine index 0).

Randomness (``π``, ``λ``) comes from ``numpy.random.Generator`` seeded by the caller (the
official code uses the global numpy and ``random`` states).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["hard_pairs", "core_tuning_feature_set"]


def hard_pairs(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(hard positive index, hard negative index)`` per row, as the official code selects them."""
    normed = F.normalize(features.detach(), dim=1)
    similarity = normed @ normed.T
    labels = labels.reshape(-1, 1)
    equal = (labels == labels.T).to(similarity.dtype)
    not_self = 1.0 - torch.eye(len(labels), device=features.device, dtype=similarity.dtype)
    negative = (similarity * (1.0 - equal)).argmax(dim=1)
    positive = (similarity * (equal * not_self)).argmin(dim=1)
    rows = torch.arange(len(labels), device=features.device)
    positive = torch.where(positive == 0, rows, positive)
    return positive, negative


def core_tuning_feature_set(
    features: torch.Tensor, labels: torch.Tensor, num_classes: int, rng: np.random.Generator, *,
    alpha: float = 1.0, negative_min_weight: float = 0.8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [3B, D], soft labels [3B, N])``: originals (detached), hard negatives, hard positives."""
    n = features.shape[0]
    onehot = F.one_hot(labels.long(), num_classes).to(features.dtype)
    order = torch.as_tensor(rng.permutation(n), device=features.device)
    lam = np.maximum(rng.beta(alpha, alpha, n), negative_min_weight)
    lam_t = torch.as_tensor(lam, dtype=features.dtype, device=features.device).unsqueeze(1)
    negatives = (1 - lam_t) * features + lam_t * features[order]
    negative_y = (1 - lam_t) * onehot + lam_t * onehot[order]
    positive, negative = hard_pairs(features, labels)
    lam_t = torch.as_tensor(rng.beta(alpha, alpha, n), dtype=features.dtype, device=features.device).unsqueeze(1)
    positives = lam_t * features[positive] + (1 - lam_t) * features[negative]
    positive_y = lam_t * onehot[positive] + (1 - lam_t) * onehot[negative]
    return (
        torch.cat([features.detach(), negatives, positives]),
        torch.cat([onehot, negative_y, positive_y]),
    )
