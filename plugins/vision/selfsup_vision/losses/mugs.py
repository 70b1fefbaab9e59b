"""Mugs' three losses and their weighting (Zhou et al. 2022, arXiv 2203.14415), as
``sail-sg/mugs:src/loss.py`` and ``sail-sg/mugs:main.py::train_one_epoch`` compute them.

Views: the student's outputs ``p_v`` for ``V`` crops, the 2 global crops first; the teacher's
targets ``t_a`` for the 2 global crops (``a ∈ {0, 1}``). Every term loops over the pairs
``(a, v)`` with ``v ≠ a`` and averages the large-crop pairs (``v < 2``) and the small-crop pairs
(``v ≥ 2``) separately, then takes ``½·(large + small)`` (so one global-crop pair weighs as much
as all the local-crop pairs together, unlike DINO's single mean over pairs).

* **instance discrimination** and **local-group discrimination** (``InfoNCELoss``; the same
  function on different heads, each with its own queue): L2-normalised predictions ``p`` and
  targets ``t`` (``[B, d]``), a queue ``Q`` of ``K`` normalised teacher keys (``[K, d]``; the
  official buffer is its transpose), temperature τ (0.2):

      ℓ(p, t) = mean_i −log[ exp(p_i·t_i/τ) / ( exp(p_i·t_i/τ) + Σ_k exp(p_i·Q_k/τ) ) ]

  i.e. cross-entropy with the positive at index 0 of the logits ``[p·t, p·Qᵀ]/τ``. The queue
  is read once before the loop (``queue.clone()``) and the two targets are enqueued after it,
  first ``t_0`` then ``t_1`` (:func:`infonce_keys`).

* **group discrimination** (``ClusteringLoss``, DINO's): prototype scores ``s_v``, ``g_a``
  (``[B, K]``), centre ``c``, temperatures τ_s (0.1) and τ_t (0.04, or warmed up to 0.07):

      P_a = softmax((g_a − c)/τ_t)   (detached)       ℓ(a, v) = mean_i −Σ_k P_a,ik log softmax(s_v/τ_s)_ik

  The centre is updated after the loss with momentum 0.9 over all teacher rows (and ranks) —
  :func:`~selfsup_vision.losses.dino.update_center`, the same update.

* **total**: ``L = (Σ_j [w_j > 0]·L_j) / Σ_j w_j`` — the weights ``loss_weights`` (official
  ``[1, 1, 1]``) switch a term on and form the denominator, but do **not** multiply it
  (``train_one_epoch``: ``total_loss + instance_loss`` … ``total_loss /= weigts_sum``).

Deviation: with no local crops the official code divides by a zero count; here the small-crop
half is then left out (the loss is the large-crop mean). Checked against the official classes
in ``plugins/vision/tests/test_vision_mugs.py`` (module docstring: values and set-up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

__all__ = ["mugs_infonce", "mugs_group_loss", "infonce_keys", "mugs_total", "split_large_small"]


def split_large_small(pair_losses: Sequence[tuple[int, torch.Tensor]], num_global: int = 2) -> torch.Tensor:
    """``½·(mean of the pairs with v < num_global + mean of the others)``; the large mean alone
    when there are no small-crop pairs."""
    large = [loss for v, loss in pair_losses if v < num_global]
    small = [loss for v, loss in pair_losses if v >= num_global]
    large_mean = torch.stack(large).mean()
    if not small:
        return large_mean
    return 0.5 * (large_mean + torch.stack(small).mean())


def mugs_infonce(
    preds: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], queue: torch.Tensor, *, temperature: float = 0.2,
) -> torch.Tensor:
    """Mugs' InfoNCE over the (target, prediction) pairs of different views against ``queue [K, d]``."""
    queue = queue.detach().float().clone()  # the official `queue.clone()`: the queue is written after the loss
    pairs: list[tuple[int, torch.Tensor]] = []
    for a, t in enumerate(targets):
        t = t.detach().float()
        for v, p in enumerate(preds):
            if v == a:
                continue
            p = p.float()
            positive = (p * t).sum(dim=-1, keepdim=True)
            negative = p @ queue.T
            logits = torch.cat([positive, negative], dim=1) / temperature
            labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
            pairs.append((v, F.cross_entropy(logits, labels)))
    return split_large_small(pairs, len(targets))


@torch.no_grad()
def infonce_keys(targets: Sequence[torch.Tensor]) -> torch.Tensor:
    """The rows to enqueue after :func:`mugs_infonce`: the targets in view order (``t_0`` then ``t_1``)."""
    return torch.cat([t.detach().float() for t in targets])


def mugs_group_loss(
    student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor], center: torch.Tensor, *,
    student_temp: float = 0.1, teacher_temp: float = 0.04,
) -> torch.Tensor:
    """Mugs' group (clustering) loss: DINO's cross-entropy with the ½·(large + small) pair average."""
    targets = [F.softmax((t.detach().float() - center) / teacher_temp, dim=-1) for t in teacher]
    log_probs = [F.log_softmax(s.float() / student_temp, dim=-1) for s in student]
    pairs: list[tuple[int, torch.Tensor]] = []
    for a, q in enumerate(targets):
        for v, log_p in enumerate(log_probs):
            if v == a:
                continue
            pairs.append((v, torch.sum(-q * log_p, dim=-1).mean()))
    return split_large_small(pairs, len(teacher))


def mugs_total(losses: Mapping[str, torch.Tensor], weights: Mapping[str, float]) -> torch.Tensor:
    """``Σ_{w_j > 0} L_j / Σ_{w_j > 0} w_j`` (the weights are switches and the normaliser)."""
    active = [name for name, w in weights.items() if w > 0]
    if not active:
        raise ValueError("mugs_total: every loss weight is 0; switch on at least one term")
    total = sum(losses[name] for name in active)
    return total / sum(weights[name] for name in active)
