"""What the trainer keeps per phase of an objective (``Objective.phases``), and the two things it
does around a phase's update: freeze the other phases' parameters, advance a skipped phase's schedule."""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..interfaces import Phase

__all__ = ["PhaseState", "advance_schedule", "frozen"]


@dataclass
class PhaseState:
    """One phase of an objective with its optimiser, schedule and (float16) gradient scaler."""

    phase: Phase
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    #: The other phases' parameters (not this one's): frozen while this phase runs.
    others: list[torch.nn.Parameter] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def frozen(parameters: list[torch.nn.Parameter]) -> Iterator[None]:
    """The other phases' parameters without gradients while a phase runs: autograd computes none
    for them (a GAN's G step through a frozen D, as the official GAN code toggles
    ``requires_grad``), and the stale ones of their own last update are dropped."""
    frozen = [p for p in parameters if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
        p.grad = None
    try:
        yield
    finally:
        for p in frozen:
            p.requires_grad_(True)


def advance_schedule(scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    """``scheduler.step()`` for a phase that did not step its optimiser this step (torch warns
    about that order; here it is deliberate: the lr is a function of the global step)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
        scheduler.step()
