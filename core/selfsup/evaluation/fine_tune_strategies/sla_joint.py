"""SLA's joint (class × transformation) labels, joint loss and aggregated inference.

Follows ``hankook/SLA:trainers.py`` (``create_sla_trainer``, commit ``bc5d9cd``). A batch of B
images is expanded into M transformed copies, interleaved per image
(``[x₁t₀, x₁t₁, …, x₁t_{M−1}, x₂t₀, …]``, row ``i·M + j``), and one classifier scores the
N·M joint classes:

* joint label of row ``i·M + j``: ``y_i·M + j`` (:func:`joint_labels`);
* ``L_SLA = (1/(B·M)) Σ_{i,j} CE(z_{iM+j}, y_i·M + j)`` (one mean cross-entropy over the
  expanded batch); ``large_loss`` multiplies it by M (:func:`sla_joint_loss`);
* aggregated scores ``s_{i,y} = (1/M) Σ_j z_{iM+j, yM+j}`` (:func:`aggregate_joint_logits`, the
  code's ``Σ_j preds[j::M, j::M] / M``); single inference reads ``z_{iM, yM}``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["joint_labels", "aggregate_joint_logits", "single_joint_logits", "sla_joint_loss"]


def joint_labels(labels: torch.Tensor, transforms: int) -> torch.Tensor:
    """``[B] → [B·M]``: row ``i·M + j`` holds ``labels[i]·M + j``."""
    offsets = torch.arange(transforms, device=labels.device)
    return (labels.long().unsqueeze(1) * transforms + offsets).reshape(-1)


def aggregate_joint_logits(joint_logits: torch.Tensor, transforms: int) -> torch.Tensor:
    """``[B·M, N·M] → [B, N]``: each transformation's own class logits, averaged over transformations."""
    total = joint_logits[0::transforms, 0::transforms]
    for j in range(1, transforms):
        total = total + joint_logits[j::transforms, j::transforms]
    return total / transforms


def single_joint_logits(joint_logits: torch.Tensor, transforms: int) -> torch.Tensor:
    """The identity rows' identity columns, ``[B, N]`` (SLA+SI)."""
    return joint_logits[0::transforms, 0::transforms]


def sla_joint_loss(joint_logits: torch.Tensor, labels: torch.Tensor, transforms: int, *, large_loss: bool = False) -> torch.Tensor:
    """Mean cross-entropy of the expanded batch against the joint labels (× M with ``large_loss``)."""
    loss = F.cross_entropy(joint_logits, joint_labels(labels, transforms))
    return loss * transforms if large_loss else loss
