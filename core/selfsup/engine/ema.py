"""Exponential moving averages for target (teacher) networks.

θ̄ ← m·θ̄ + (1 − m)·θ, applied to every parameter and floating-point buffer,
with the momentum m following a schedule over the run (BYOL, I-JEPA, T-JEPA).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

__all__ = ["make_target", "ema_update", "momentum_schedule"]


def make_target(online: nn.Module) -> nn.Module:
    """A frozen deep copy of ``online`` to be updated only by :func:`ema_update`."""
    target = copy.deepcopy(online)
    for parameter in target.parameters():
        parameter.requires_grad_(False)
    return target


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float, *, buffers: str = "average") -> None:
    """θ̄ ← m·θ̄ + (1 − m)·θ for parameters; buffers by ``buffers``: ``"average"`` (float buffers
    averaged the same way, integer buffers copied; BYOL, T-JEPA) or ``"copy"`` (every buffer copied
    from the online network, e.g. BatchNorm statistics; Masked Scene Modeling).

    One fused ``torch._foreach_lerp_`` per dtype group: no host-device sync.
    """
    if buffers not in ("average", "copy"):
        raise ValueError(f"ema_update: buffers={buffers!r}; use 'average' or 'copy'")
    target_params = [p for p in target.parameters()]
    online_params = [p.detach() for p in online.parameters()]
    if len(target_params) != len(online_params):
        raise ValueError("ema_update: target and online networks differ in their parameters")
    if target_params:
        torch._foreach_lerp_(target_params, online_params, 1.0 - momentum)
    for target_buffer, online_buffer in zip(target.buffers(), online.buffers(), strict=True):
        if buffers == "average" and target_buffer.is_floating_point():
            target_buffer.lerp_(online_buffer, 1.0 - momentum)
        else:
            target_buffer.copy_(online_buffer)


def momentum_schedule(step: int, total_steps: int, start: float, end: float, *, kind: str = "linear") -> float:
    """The EMA momentum at ``step`` (0-based) of ``total_steps``.

    ``linear``: start + (end − start)·t (I-JEPA, T-JEPA: 0.996 → 1.0);
    ``cosine``: end − (end − start)·(cos(πt) + 1)/2 (BYOL); t = step / total_steps.
    """
    t = min(max(step / max(total_steps, 1), 0.0), 1.0)
    if kind == "linear":
        return start + (end - start) * t
    if kind == "cosine":
        return end - (end - start) * (math.cos(math.pi * t) + 1.0) / 2.0
    raise ValueError(f"momentum_schedule: unknown kind {kind!r}; use 'linear' or 'cosine'")
