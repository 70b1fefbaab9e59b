"""The trainer's checkpoints: what one holds (weights, every phase's optimiser, schedule and
scaler, the sampler position, each rank's RNG, the settings a resume may not change) and how a
run is continued from one. Files are written and verified by :mod:`.checkpoint`; what a resume
re-targets (lr, schedule, logs) is :mod:`.resume_state`."""

from __future__ import annotations

from typing import Any

from ..errors import CheckpointError, ConfigError
from ..interfaces import Objective
from .checkpoint import capture_rng, check_checkpoint_keys, load_latest_checkpoint, save_checkpoint
from .distributed import full_state_dicts, gather_to_main, load_state_dicts, optimizer_state_by_index, optimizer_state_by_name
from .optim import kernel_choices, restore_kernel_choices
from .phases import PhaseState
from .resume_state import check_saved_settings, continue_from
from .sampler import EpochBatchSampler, StreamOrder

#: The trainer (``selfsup.engine.trainer.Trainer``; not imported here, to keep imports acyclic).
Trainer = Any

__all__ = ["EVAL_LOG_FILE", "resume_training_state", "save_training_state"]

#: Evaluations during training (``trainer.eval_every``), one JSON line each.
EVAL_LOG_FILE = "eval_log.jsonl"


def save_training_state(
    trainer: Trainer, objective: Objective, phases: list[PhaseState], sampler: EpochBatchSampler | StreamOrder | None, step: int
) -> None:
    """Rank 0 writes the checkpoint: DDP keeps every rank's weights equal, and the sampler
    position is global, so the file resumes under any world size."""
    directory = trainer.checkpoint_dir()
    if directory is None:
        return
    if trainer.fsdp:  # every rank takes part in gathering the full state; rank 0 writes it
        model, optimizers = full_state_dicts(objective, {s.phase.name: s.optimizer for s in phases})
    else:
        model, optimizers = objective.state_dict(), {s.phase.name: s.optimizer.state_dict() for s in phases}
    rng_by_rank = gather_to_main(capture_rng()) if trainer.dist.enabled else None  # a collective
    if not trainer.dist.is_main:
        return
    state = {
        "step": step,
        "objective": model,
        #: ``by-name`` (FSDP's full optimiser state, keyed by parameter name) or ``by-index``.
        "optimizer_format": "by-name" if trainer.fsdp else "by-index",
        "phases": {
            s.phase.name: {
                "optimizer": optimizers[s.phase.name],
                "scheduler": s.scheduler.state_dict(),
                "scaler": s.scaler.state_dict() if s.scaler else None,
            }
            for s in phases
        },
        "sampler": sampler.state_dict() if sampler else None,
        "rng": capture_rng(),
        #: Under torchrun: every rank's RNG, so a resume under the same world size is exact.
        "rng_by_rank": rng_by_rank,
        "seed": trainer.seed,
        "batch_size": trainer.config.batch_size,
        "schedule": trainer.schedule.as_dict() if trainer.schedule else None,
        "online_probe": trainer.online_probe.training_state() if trainer.online_probe is not None else None,
    }
    trainer.last_checkpoint = save_checkpoint(state, directory, step, trainer.config.keep_checkpoints)

def resume_training_state(
    trainer: Trainer, objective: Objective, phases: list[PhaseState], sampler: EpochBatchSampler | StreamOrder | None
) -> int:
    """With ``trainer.resume=true``: load the newest checkpoint that verifies into ``objective``,
    the phases' optimisers, schedules and scalers and the sampler; return its step (0 otherwise)."""
    if not trainer.config.resume:
        return 0
    directory = trainer.checkpoint_dir()
    # the newest checkpoint that verifies; a corrupt newer one is reported and set aside
    found = load_latest_checkpoint(directory, quarantine=trainer.dist.is_main) if directory else None
    if found is None:
        raise CheckpointError(
            f"trainer.resume=true but {directory} holds no checkpoint. "
            "Start without trainer.resume, or point run_dir at the run to continue."
        )
    path, state = found
    check_checkpoint_keys(state, path)
    check_saved_settings(state, path, seed=trainer.seed, batch_size=trainer.config.batch_size)
    by_name = state.get("optimizer_format") == "by-name"
    kernels = [kernel_choices(s.optimizer) for s in phases]
    if trainer.fsdp:
        load_state_dicts(
            objective,
            state["objective"],
            {
                s.phase.name: (s.optimizer, saved if by_name else optimizer_state_by_name(objective, s.optimizer, saved))
                for s in phases
                if (saved := state["phases"].get(s.phase.name, {}).get("optimizer")) is not None
            },
        )
    else:
        try:
            objective.load_state_dict(state["objective"])
        except RuntimeError as exc:  # missing/unexpected keys or shape mismatches
            raise CheckpointError(
                f"Checkpoint {path} does not fit {type(objective).__name__} ({' '.join(str(exc).split())[:400]}). "
                "Resume with the objective, encoder and config that wrote it."
            ) from exc
    for phase_state in phases:
        saved = state["phases"].get(phase_state.phase.name)
        if saved is None:
            raise CheckpointError(
                f"Checkpoint {path} has no state for phase '{phase_state.phase.name}' "
                f"(it has {sorted(state['phases'])}). Resume with the objective that wrote it."
            )
        if by_name and not trainer.fsdp:  # an FSDP run continued without sharding
            phase_state.optimizer.load_state_dict(optimizer_state_by_index(objective, phase_state.optimizer, saved["optimizer"]))
        elif not trainer.fsdp:
            phase_state.optimizer.load_state_dict(saved["optimizer"])
        phase_state.scheduler.load_state_dict(saved["scheduler"])
        if phase_state.scaler and saved["scaler"]:
            phase_state.scaler.load_state_dict(saved["scaler"])
    for phase_state, chosen in zip(phases, kernels, strict=True):
        restore_kernel_choices(phase_state.optimizer, chosen)
    if sampler is not None and state["sampler"] is not None:
        if isinstance(sampler, StreamOrder) and not sampler.resumable:
            raise ConfigError(
                f"trainer.resume=true, but the streaming train split {type(sampler.stream).__name__} cannot start "
                "mid-stream (it has no set_position; see selfsup.engine.sampler.PositionedStream). "
                "Start a new run_dir instead, or give the dataset set_position."
            )
        sampler.load_state_dict(state["sampler"])
    if trainer.online_probe is not None and state.get("online_probe") is not None:  # else: the probe starts fresh
        try:
            trainer.online_probe.load_training_state(state["online_probe"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(
                f"The online probe's state in checkpoint {path} does not fit ({' '.join(str(exc).split())[:300]}). "
                "Resume with the dataset and encoder that wrote it, or with trainer.online_probe=false."
            ) from exc
    return continue_from(trainer, state, path, phases, EVAL_LOG_FILE)
