"""Re-target restored learning rates and schedules when a resumed run changes them.

``optimizer.load_state_dict`` and ``scheduler.load_state_dict`` bring back the checkpoint's
peak learning rates (``initial_lr``, ``base_lrs``) and current ``lr``; the schedule's shape
(the ``LambdaLR`` function) is not in the state and comes from the new config. Without
this module a changed ``trainer.lr`` would be ignored and a changed ``max_steps`` would mix
the old peak with a new shape (and restart the warm-up when it is a fraction of the run).

The rule, applied only when something changed (so an unchanged resume stays bit-identical):

* the peak lr of each phase becomes the new config's (``trainer.lr``, or the phase's own);
* the schedule becomes that of a run of the new total length, **keeping the warm-up
  length of the run being resumed** (no second warm-up);
* the lr of the next step is recomputed from both, and each change is described in a note
  (written to ``config.yaml``'s ``resumes`` history and printed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from .optim import lr_factor

__all__ = ["ScheduleShape", "retarget_schedules"]


@dataclass(frozen=True)
class ScheduleShape:
    """What a checkpoint records of its run's schedule."""

    total_steps: int
    warmup_steps: int
    schedule: str
    min_ratio: float
    warmup_every: int = 1

    def factor(self) -> Callable[[int], float]:
        shape = self
        return lambda step: lr_factor(
            step, total_steps=shape.total_steps, warmup_steps=shape.warmup_steps, schedule=shape.schedule,
            min_ratio=shape.min_ratio, warmup_every=shape.warmup_every,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"total_steps": self.total_steps, "warmup_steps": self.warmup_steps, "schedule": self.schedule,
                "min_ratio": self.min_ratio, "warmup_every": self.warmup_every}


def retarget_schedules(
    phases: Sequence[tuple[str, torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR, list[float], ScheduleShape]],
    saved: dict[str, Any] | None,
    step: int,
) -> tuple[int, list[str]]:
    """Apply the requested peak lrs and schedules to restored ``(name, optimizer, scheduler, peak_lrs, shape)``.

    ``peak_lrs`` are the requested peak lr of each param group and ``shape`` the requested
    schedule; ``saved`` the checkpoint's :meth:`ScheduleShape.as_dict` (``None`` for
    checkpoints that predate it: the schedule is then taken as unchanged). Returns the
    warm-up length now in force and one note per change.
    """
    notes: list[str] = []
    if not phases:
        return 0, notes
    requested = phases[0][4]
    warmup = int(saved["warmup_steps"]) if saved is not None else requested.warmup_steps
    if saved is not None and int(saved["total_steps"]) != requested.total_steps:
        notes.append(
            f"schedule recomputed for {requested.total_steps} steps (was {int(saved['total_steps'])}), "
            f"keeping the {warmup}-step warm-up of the resumed run"
        )
    for name, optimizer, scheduler, peaks, wanted in phases:
        shape = dataclasses.replace(wanted, warmup_steps=warmup)
        reshaped = shape != wanted
        restored = [float(v) for v in scheduler.base_lrs]
        new_peak = [float(v) for v in peaks] != restored
        if not (new_peak or reshaped):
            continue
        was = [group["lr"] for group in optimizer.param_groups]
        factor = shape.factor()
        scheduler.lr_lambdas = [factor for _ in optimizer.param_groups]
        scheduler.base_lrs = list(peaks)
        for group, peak in zip(optimizer.param_groups, peaks, strict=True):
            group["initial_lr"] = peak
            group["lr"] = peak * factor(scheduler.last_epoch)
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]  # type: ignore[attr-defined]
        where = f" (phase {name})" if len(phases) > 1 else ""
        if new_peak:
            notes.append(f"peak lr{where} {restored[0]:g} -> {peaks[0]:g}")
        if new_peak or shape.total_steps != int(saved["total_steps"] if saved else shape.total_steps):
            notes.append(
                f"lr of step {step + 1}{where}: {optimizer.param_groups[0]['lr']:.6g} (the resumed schedule gave {was[0]:.6g})"
            )
    return warmup, notes
