"""NT-Xent, SimCLR's normalised-temperature cross-entropy
(``google-research/simclr@383d414:tf2/objective.py::add_contrastive_loss``).

With ``a = z1/‖z1‖``, ``b = z2/‖z2‖`` (``[N, D]`` each, row ``i`` of both from image ``i``)
and temperature τ, for anchor ``a_i`` the logits are ``[a_i·b_j/τ]_j`` followed by
``[a_i·a_j/τ]_{j≠i}`` (the self-similarity masked out), the target is ``b_i``:

    ℓ_a(i) = −log( exp(a_i·b_i/τ) / (Σ_j exp(a_i·b_j/τ) + Σ_{j≠i} exp(a_i·a_j/τ)) )

and symmetrically ``ℓ_b(i)`` with the roles of ``a`` and ``b`` swapped. The loss is
``mean_i (ℓ_a(i) + ℓ_b(i))`` — the official sum of the two directions, not their mean.

With other ranks' rows (``a_all``/``b_all`` the gathered rows, this rank's rows starting at
``offset``), the candidates are every rank's rows, as the official ``tpu_cross_replica_concat``.
The official code is TensorFlow, not run here: the golden-value tests check the formula by
hand (``tests/test_joint_losses.py``); the self-mask uses ``-inf`` instead of ``−1e9``
(``LARGE_NUM``), the same value in floating point.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ["nt_xent"]


def nt_xent(
    z1: torch.Tensor,
    z2: torch.Tensor,
    *,
    temperature: float = 0.1,
    z1_all: Optional[torch.Tensor] = None,
    z2_all: Optional[torch.Tensor] = None,
    offset: int = 0,
) -> torch.Tensor:
    a, b = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    a_all = a if z1_all is None else F.normalize(z1_all.float(), dim=1)
    b_all = b if z2_all is None else F.normalize(z2_all.float(), dim=1)
    n = a.shape[0]
    target = torch.arange(n, device=a.device) + offset
    self_mask = F.one_hot(target, a_all.shape[0]).bool()
    logits_ab = a @ b_all.T / temperature
    logits_aa = (a @ a_all.T / temperature).masked_fill(self_mask, float("-inf"))
    logits_ba = b @ a_all.T / temperature
    logits_bb = (b @ b_all.T / temperature).masked_fill(self_mask, float("-inf"))
    loss_a = F.cross_entropy(torch.cat([logits_ab, logits_aa], 1), target, reduction="none")
    loss_b = F.cross_entropy(torch.cat([logits_ba, logits_bb], 1), target, reduction="none")
    return (loss_a + loss_b).mean()
