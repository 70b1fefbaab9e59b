"""Masked Scene Modeling's multi-level masked feature-regression loss.

Reference: Hermosilla, Stippel, Sick, "Masked Scene Modeling: Narrowing the Gap Between
Supervised and Self-Supervised Learning in 3D Scene Understanding", CVPR 2025
(arXiv 2504.06719), §3 and Fig. 2: at every decoder level the student predicts, for the
masked voxels only, the deep features an EMA teacher computes on the *other* view; every
level contributes. The official repository (``phermosilla/msm``) releases inference code
only, so the distance is this project's choice (methods-3d.md §1.3 lists it as
unverified): the cosine distance, i.e. the L2 distance of the L2-normalised vectors
up to a factor 2, which is insensitive to the teacher's feature scale.

For levels ``l`` in ``Λ`` with predictions ``p^l_v``, targets ``t^l_v`` and the set
``M_l`` of voxels that are masked *and* have a target,

    L_l = (1 / |M_l|) Σ_{v ∈ M_l} (1 − p^l_v · t^l_v / (‖p^l_v‖ ‖t^l_v‖)),

    L = (1 / |Λ'|) Σ_{l ∈ Λ'} L_l,   Λ' = {l ∈ Λ : |M_l| > 0}.

A level without masked voxels contributes nothing (and does not dilute the mean); if no
level has any, ``L = 0``. Nothing here reads a value back to the host.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from selfsup.errors import ComponentError

__all__ = ["masked_cosine_loss", "msm_loss"]


def masked_cosine_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_l, |M_l|)`` for one level: the mean cosine distance over the rows where ``mask`` is true."""
    if prediction.shape != target.shape or prediction.ndim != 2 or mask.shape != prediction.shape[:1]:
        raise ComponentError(
            f"msm_loss: prediction {tuple(prediction.shape)}, target {tuple(target.shape)} and mask "
            f"{tuple(mask.shape)} must be [M, D], [M, D] and [M]. Give one target and one mask flag per voxel."
        )
    distance = 1.0 - F.cosine_similarity(prediction, target.detach(), dim=1, eps=1e-8)
    weight = mask.to(distance.dtype)
    count = weight.sum()
    return (distance * weight).sum() / count.clamp_min(1.0), count


def msm_loss(
    predictions: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L, per-level L_l [len(predictions)])`` as in the module docstring (targets get no gradient)."""
    if not len(predictions) == len(targets) == len(masks) or not predictions:
        raise ComponentError(
            f"msm_loss: {len(predictions)} predictions, {len(targets)} targets and {len(masks)} masks; "
            "give one of each per supervised level (at least one level)."
        )
    per_level, present = [], []
    for prediction, target, mask in zip(predictions, targets, masks):
        value, count = masked_cosine_loss(prediction, target, mask)
        per_level.append(value)
        present.append((count > 0).to(value.dtype))
    levels = torch.stack(per_level)
    weights = torch.stack(present)
    return (levels * weights).sum() / weights.sum().clamp_min(1.0), levels
