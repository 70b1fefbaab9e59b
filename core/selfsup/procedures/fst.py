"""FST's look-ahead: virtual future student steps folded into the EMA teacher.

Follows ``usr922/FST`` (Du et al., NeurIPS 2022), ``mmseg/models/uda/fst_d.py`` (``train_step``:
FST-D) and ``mmseg/models/uda/fst_w.py`` (``_update_ema_with_soup``: FST-W), read at HEAD
``5b44c01``. With student θ, teacher φ and ``EMA(φ, θ): φ ← a·φ + (1 − a)·θ``:

* **FST-D** (``mode="deep"``): save θ₀; ``K`` times { EMA(φ, θ); loss on the *same* batch with
  pseudo-labels from the current φ; optimiser step }; EMA(φ, θ) once more; restore θ ← θ₀.
* **FST-W** (``mode="wide"``): save θ₀; for each of ``K`` batches { restore θ₀; one optimiser step
  on batch i; add θ to a running sum }; EMA(φ, θ̄) with the average θ̄ (the "soup"); restore θ₀.

The real step that follows uses pseudo-labels from the updated teacher (the caller's business).

Deviations and options: the official code restores only the student's *parameters*; its
virtual steps also advance the optimiser's moment estimates and leave BatchNorm statistics
drifted. ``restore_optimizer=False`` (default) keeps that behaviour; ``True`` restores the
optimiser state too. Buffers are restored with the parameters when ``restore_buffers=True``
(default ``False``, the official behaviour). The official code is mmseg/GPU segmentation and
was not run here; :func:`lookahead` is checked by its tests (the student is unchanged, the
teacher equals the hand-computed EMA of the virtual futures).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..engine.ema import ema_update
from ..errors import ConfigError

__all__ = ["MODES", "lookahead", "ema_momentum"]

#: Look-ahead modes: FST-D and FST-W.
MODES = ("deep", "wide")


def ema_momentum(step: int, alpha: float) -> float:
    """The teacher's EMA momentum ``a = min(1 − 1/(t + 1), α)`` at real step ``t`` (0-based; mean-teacher warm-up)."""
    return min(1.0 - 1.0 / (step + 1), alpha)


def lookahead(
    student: nn.Module,
    teacher: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[nn.Module, nn.Module, Any], torch.Tensor],
    batches: Sequence[Any],
    *,
    mode: str,
    steps: int,
    momentum: float,
    restore_optimizer: bool = False,
    restore_buffers: bool = False,
) -> None:
    """Update ``teacher`` from ``steps`` virtual future students and leave ``student``'s parameters unchanged.

    ``loss_fn(student, teacher, batch)`` is the self-training loss with the teacher's pseudo-labels.
    ``deep`` uses ``batches[0]`` for every virtual step; ``wide`` needs ``steps`` batches.
    """
    if mode not in MODES:
        raise ConfigError(f"lookahead: mode must be one of {list(MODES)}, got {mode!r}. Use fst_mode=deep.")
    if steps < 1:
        raise ConfigError(f"lookahead: steps must be >= 1, got {steps}. Use fst_steps=3 (the paper's K).")
    if mode == "wide" and len(batches) < steps:
        raise ConfigError(f"lookahead: FST-W needs {steps} batches (one per future), got {len(batches)}. Pass fst_steps batches.")
    saved = [p.detach().clone() for p in student.parameters()]
    saved_buffers = [b.detach().clone() for b in student.buffers()] if restore_buffers else None
    saved_optimizer = copy.deepcopy(optimizer.state_dict()) if restore_optimizer else None

    def restore() -> None:
        with torch.no_grad():
            for p, s in zip(student.parameters(), saved):
                p.copy_(s)
            if saved_buffers is not None:
                for b, s in zip(student.buffers(), saved_buffers):
                    b.copy_(s)

    def virtual_step(batch: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(student, teacher, batch).backward()
        optimizer.step()

    if mode == "deep":
        for _ in range(steps):
            ema_update(teacher, student, momentum)
            virtual_step(batches[0])
        ema_update(teacher, student, momentum)
    else:
        soup = [torch.zeros_like(p) for p in saved]
        for i in range(steps):
            if i:
                restore()
            virtual_step(batches[i])
            with torch.no_grad():
                for acc, p in zip(soup, student.parameters()):
                    acc.add_(p.detach(), alpha=1.0 / steps)
        with torch.no_grad():
            for t, s in zip(teacher.parameters(), soup):
                t.mul_(momentum).add_(s, alpha=1.0 - momentum)
    restore()
    optimizer.zero_grad(set_to_none=True)
    if saved_optimizer is not None:
        optimizer.load_state_dict(saved_optimizer)
