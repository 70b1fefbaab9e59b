"""DINO's self-distillation loss and centre update
(``facebookresearch/dino@7c446df:main_dino.py::DINOLoss``).

Student outputs ``s_v`` for every view ``v`` (global views first), teacher outputs ``t_g``
for the ``G`` global views, a centre ``c`` ``[1, K]``, temperatures τ_s (0.1) and τ_t:

    P_t(g) = softmax((t_g − c) / τ_t)        (centring and sharpening; detached)
    L = mean over pairs (g, v), v ≠ g, of  mean_i  −Σ_k P_t(g)_ik · log softmax(s_v / τ_s)_ik

(the official loop skips the pair where student and teacher see the same view). The centre
is updated after the loss: ``c ← m·c + (1 − m)·mean_rows(t)`` over the teacher outputs of all
global views and all ranks (m = 0.9), by :func:`update_center`.

Checked against the official ``DINOLoss.forward`` on CPU (one process, gloo) with fixed
random outputs: the loss and the updated centre agree to 1e-6
(``plugins/vision/tests/test_joint_losses.py::test_dino_loss_matches_official_values``,
values pinned from that run). Deviation: the teacher temperature is a number here; its
warm-up schedule (``warmup_teacher_temp`` → ``teacher_temp``) is the objective's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F

__all__ = ["dino_loss", "update_center"]


def dino_loss(
    student: Sequence[torch.Tensor],
    teacher: Sequence[torch.Tensor],
    center: torch.Tensor,
    *,
    student_temp: float = 0.1,
    teacher_temp: float = 0.04,
) -> torch.Tensor:
    targets = [F.softmax((t.detach().float() - center) / teacher_temp, dim=-1) for t in teacher]
    log_probs = [F.log_softmax(s.float() / student_temp, dim=-1) for s in student]
    total = student[0].new_zeros((), dtype=torch.float32)
    terms = 0
    for g, q in enumerate(targets):
        for v, log_p in enumerate(log_probs):
            if v == g:
                continue
            total = total + torch.sum(-q * log_p, dim=-1).mean()
            terms += 1
    return total / terms


@torch.no_grad()
def update_center(center: torch.Tensor, teacher: Sequence[torch.Tensor], momentum: float = 0.9) -> torch.Tensor:
    """The new centre ``m·c + (1 − m)·batch_mean`` (all ranks' rows under ``torchrun``)."""
    output = torch.cat([t.float() for t in teacher])
    batch_center = torch.sum(output, dim=0, keepdim=True)
    rows = output.shape[0]
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(batch_center)
        rows *= dist.get_world_size()
    return center * momentum + batch_center / rows * (1.0 - momentum)
