"""SwAV's swapped-prediction loss (``facebookresearch/swav@06b1b7c:main_swav.py``, the loss block of ``train``).

Prototype scores ``S_v = z_v · Cᵀ`` for every crop ``v`` (``z`` and the prototypes ``C``
L2-normalised), codes ``q_a = sinkhorn(S_a)`` for each crop ``a`` in ``crops_for_assign``
(computed without gradient, optionally with a queue of earlier features prepended and then
dropped), temperature τ (0.1):

    L = (1/|A|) Σ_{a∈A} (1/(V − 1)) Σ_{v≠a}  mean_i −Σ_k q_a,ik · log softmax(S_v / τ)_ik

This function takes the codes (``codes[i]`` for ``assign[i]``), so the Sinkhorn step
(:func:`selfsup_vision.heads.sinkhorn.sinkhorn_knopp`) and the queue stay separate pieces.
Checked against the official loop on CPU (one process, gloo) with fixed scores: equal to
1e-6 (``plugins/vision/tests/test_joint_losses.py::test_swav_loss_matches_official_values``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["swav_loss"]


def swav_loss(
    scores: Sequence[torch.Tensor], codes: Sequence[torch.Tensor], assign: Sequence[int], *, temperature: float = 0.1
) -> torch.Tensor:
    if len(codes) != len(assign):
        raise ValueError(f"swav_loss: {len(codes)} code sets for {len(assign)} assigned crops")
    views = len(scores)
    total = scores[0].new_zeros((), dtype=torch.float32)
    for q, crop in zip(codes, assign):
        sub = scores[0].new_zeros((), dtype=torch.float32)
        for v in range(views):
            if v == crop:
                continue
            sub = sub - torch.mean(torch.sum(q.detach() * F.log_softmax(scores[v].float() / temperature, dim=1), dim=1))
        total = total + sub / (views - 1)
    return total / len(assign)
