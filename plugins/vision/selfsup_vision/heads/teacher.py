"""An EMA teacher on the core's EMA helper (``selfsup.engine.ema``) with a cosine momentum schedule.

``EMATeacher(online, base, final)`` keeps a frozen copy of ``online``; ``update(step, max_steps)``
applies θ̄ ← m·θ̄ + (1 − m)·θ with ``m = final − (final − base)·(cos(π·step/max_steps) + 1)/2``
(BYOL's ``deepmind-research:byol/byol_experiment.py`` ``_get_ema_decay``; DINO's
``cosine_scheduler(momentum_teacher, 1, ...)``).
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.engine.ema import ema_update, make_target, momentum_schedule

__all__ = ["EMATeacher"]


class EMATeacher(nn.Module):
    def __init__(self, online: nn.Module, base: float = 0.996, final: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= base <= final <= 1.0:
            raise ValueError(f"EMATeacher: momentum base={base}, final={final}; need 0 <= base <= final <= 1")
        self.network = make_target(online)
        self.base = base
        self.final = final

    def momentum(self, step: int, max_steps: int) -> float:
        return momentum_schedule(step, max_steps, self.base, self.final, kind="cosine")

    @torch.no_grad()
    def update(self, online: nn.Module, step: int, max_steps: int) -> float:
        m = self.momentum(step, max_steps)
        ema_update(self.network, online, m)
        return m

    def forward(self, *args: object, **kwargs: object) -> torch.Tensor:
        with torch.no_grad():
            return self.network(*args, **kwargs)
