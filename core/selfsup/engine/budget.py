"""Checks of the step budget against an objective's schedule, before training starts."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from ..errors import SelfsupWarning
from ..interfaces import Phase

__all__ = ["phases_after_run", "warn_if_warmup_covers_run"]


def phases_after_run(phases: Sequence[Phase], total_steps: int) -> list[Phase]:
    """The phases that start after the last step (``Phase.first_step > total_steps``) while
    another phase trains: the run would end inside a warm-up. Empty when nothing is cut off."""
    late = [phase for phase in phases if phase.first_step > total_steps]
    if not late or len(late) == len(phases):
        return []
    return late


def warn_if_warmup_covers_run(objective_name: str, phases: Sequence[Phase], total_steps: int) -> None:
    """A :class:`~selfsup.errors.SelfsupWarning` when only a warm-up phase would train (e.g. SCGC's
    autoencoder for ``objective_config.pretrain_steps``): the run would end before the method
    itself starts, and its numbers would be the warm-up's."""
    late = phases_after_run(phases, total_steps)
    if not late:
        return
    start = min(phase.first_step for phase in late)
    names = ", ".join(f"'{phase.name}'" for phase in late)
    running = ", ".join(f"'{phase.name}'" for phase in phases if all(phase is not other for other in late))
    warnings.warn(
        f"{objective_name}: phase(s) {names} start at step {start}, but the run has {total_steps} step(s), "
        f"so only the warm-up {running} trains and the results are the warm-up's, not {objective_name}'s. "
        f"Set trainer.max_steps above {start - 1} (e.g. trainer.max_steps={start - 1 + total_steps}).",
        SelfsupWarning,
        stacklevel=2,
    )
