"""What the trainer does around a checkpoint beyond loading tensors: refuse what a resume
cannot change, re-target lr and schedule (:mod:`.schedule_change`), restore each rank's RNG,
read back the logs; and the error a stopping signal turns into (:mod:`.signals`)."""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, TrainingInterrupted
from .checkpoint import restore_rng
from .schedule_change import retarget_schedules
from .step_log import truncate_log

if TYPE_CHECKING:
    from ..config import TrainerConfig
    from .signals import GracefulStop

#: The trainer (``selfsup.engine.trainer.Trainer``; not imported here, to keep imports acyclic).
Trainer = Any

__all__ = ["check_saved_settings", "continue_from", "evaluation_missing", "interrupted_error", "stop_if_signalled"]


def check_saved_settings(state: dict[str, Any], path: Path, *, seed: int, batch_size: int) -> None:
    """What the run-level comparison (:mod:`selfsup.resume`) also refuses, for direct ``Trainer`` use."""
    for name, mine, saved in (("seed", seed, state.get("seed")), ("trainer.batch_size", batch_size, state.get("batch_size"))):
        if saved is not None and int(saved) != int(mine):
            raise ConfigError(
                f"{name}={mine} differs from the {name}={saved} of checkpoint {str(path)!r}: "
                f"a resumed run cannot change it. Resume with {name}={saved}."
            )


def continue_from(trainer: Trainer, state: dict[str, Any], path: Path, phases: list[Any], eval_log_file: str) -> int:
    """After the weights and optimiser states are loaded: check the length, re-target lr and
    schedule, restore the RNG (this rank's own when the world size is unchanged), read back
    the logs up to the checkpoint. Returns the checkpoint's step."""
    step = int(state["step"])
    total = trainer._peaks[0][2].total_steps
    if step > total:
        raise ConfigError(
            f"trainer.max_steps={total} is below step {step} of the checkpoint {str(path)!r}. "
            f"Resume with trainer.max_steps of at least {step}."
        )
    warmup, notes = retarget_schedules(
        [(s.phase.name, s.optimizer, s.scheduler, peaks, shape) for s, (_, peaks, shape) in zip(phases, trainer._peaks, strict=True)],
        state.get("schedule"),
        step,
    )
    if trainer.schedule is not None:
        trainer.schedule = dataclasses.replace(trainer.schedule, warmup_steps=warmup)
    ranks = state.get("rng_by_rank")
    trainer._rank_rng_restored = ranks is not None and len(ranks) == trainer.dist.world_size
    restore_rng(ranks[trainer.dist.rank] if trainer._rank_rng_restored else state["rng"])
    trainer.last_checkpoint = path
    trainer.resumed = (step, notes)
    if trainer.run_dir is not None and trainer.dist.is_main:
        trainer.history = truncate_log(trainer.run_dir / "log.jsonl", step)
        trainer.evaluations = truncate_log(trainer.run_dir / eval_log_file, step)
    return step


def evaluation_missing(config: TrainerConfig, evaluations: list[dict[str, float]], start_step: int, total_steps: int) -> bool:
    """A resumed run whose checkpoint step was due an evaluation that a stopping signal skipped."""
    every = config.eval_every
    if not (every and start_step and (start_step % every == 0 or start_step == total_steps)):
        return False
    return not evaluations or int(evaluations[-1]["step"]) != start_step


def stop_if_signalled(
    trainer: Trainer, stop: GracefulStop, step: int, total_steps: int, save: Callable[[int], Any] | None
) -> None:
    """After ``step``: when a stop was requested (on any rank), flush and checkpoint it with
    ``save(step)`` (``None``: already saved), then raise :class:`TrainingInterrupted`."""
    signal_number = stop.requested()  # a collective under torchrun
    if signal_number is None:
        return
    if save is not None:
        save(step)
    raise interrupted_error(trainer, signal_number, step, total_steps)


def interrupted_error(trainer: Trainer, signal_number: int, step: int, total_steps: int) -> TrainingInterrupted:
    """The error after a stop by ``signal_number``: the checkpoint and the exact command to continue."""
    name = signal.Signals(signal_number).name
    if trainer.run_dir is None:
        return TrainingInterrupted(
            f"Stopped by {name} after step {step} of {total_steps}; no run_dir, so nothing was saved. "
            "Give run_dir to make runs resumable.",
            step=step, checkpoint=None, signal_number=signal_number,
        )
    launcher = f"torchrun --nproc_per_node {trainer.dist.world_size} -m selfsup" if trainer.dist.enabled else "selfsup"
    return TrainingInterrupted(
        f"Stopped by {name} after step {step} of {total_steps}; checkpoint {trainer.last_checkpoint}. "
        f"Continue with: {launcher} pretrain --config {trainer.run_dir / 'config.yaml'} trainer.resume=true",
        step=step, checkpoint=str(trainer.last_checkpoint), signal_number=signal_number,
    )
