"""The run folder's life: create, lock, refuse to overwrite, restart, resume.

The rule (documented in the user guide, "Resuming a run"): **a run folder holds a run
once it holds a checkpoint.**

* no ``config.yaml``: a new run; ``trainer.resume=true`` there is a
  :class:`~selfsup.errors.CheckpointError` (a mistyped ``run_dir`` must not start afresh);
* ``config.yaml`` but no checkpoint (the run failed on bad input, diverged, or was killed
  before its first checkpoint): nothing in it is worth keeping, so the same command
  *without* ``trainer.resume`` starts it again from step 0 (its logs and outputs are
  removed first); with ``trainer.resume=true`` it is a ``CheckpointError`` that says so;
* a checkpoint: without ``trainer.resume`` a :class:`~selfsup.errors.ConfigError` (nothing
  is overwritten); with it, the run continues, after :func:`selfsup.resume.check_resumable`.

The folder is locked (:class:`~selfsup.run_lock.RunLock`) from before these checks until
the run ends, so two processes never train in it at once.
"""

from __future__ import annotations

import datetime
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from .config import ResolvedRun
from .engine.checkpoint import latest_checkpoint
from .errors import CheckpointError, ConfigError
from .resume import check_resumable
from .run_lock import RunLock

__all__ = ["PreparedRunDir", "prepare_run_dir", "STALE_OUTPUTS"]

#: What a run writes besides ``config.yaml`` and checkpoints: removed when a run folder
#: without a checkpoint is started again.
STALE_OUTPUTS = ("log.jsonl", "eval_log.jsonl", "metrics.json", "data_info.json", "encoder.safetensors", "plots", "tensorboard")


@dataclass
class PreparedRunDir:
    """A locked run folder and, on resume, the config changes to apply."""

    path: Path
    lock: RunLock
    #: ``{"dotted.key": (old, new)}`` on resume (possibly empty), ``None`` for a new run.
    changes: dict[str, tuple[Any, Any]] | None = None
    #: Printed notes (e.g. that a folder without a checkpoint is started again).
    notes: list[str] = field(default_factory=list)


def prepare_run_dir(resolved: ResolvedRun) -> PreparedRunDir:
    """Create (or reopen) and lock ``run_dir``; apply the rule above. Rank 0 only."""
    cfg = resolved.config
    if cfg.run_dir is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg.run_dir = str(Path("runs") / f"{cfg.modality}-{resolved.objective.name}-{stamp}")
    run_dir = Path(cfg.run_dir)
    resume = bool(cfg.trainer.resume)
    if resume and not (run_dir / "config.yaml").exists():
        raise CheckpointError(
            f"trainer.resume=true but {str(run_dir)!r} holds no run. Point run_dir at an earlier run's folder."
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir).acquire()
    try:
        return _checked(resolved, run_dir, lock, resume)
    except BaseException:
        lock.release()
        raise


def _checked(resolved: ResolvedRun, run_dir: Path, lock: RunLock, resume: bool) -> PreparedRunDir:
    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    holds_config = (run_dir / "config.yaml").exists()
    if not resume:
        if checkpoint is not None:
            raise ConfigError(
                f"run_dir {str(run_dir)!r} already holds a run. Continue it with trainer.resume=true, or choose another run_dir."
            )
        notes = []
        if holds_config:  # a run that stopped before its first checkpoint: start it again
            for name in STALE_OUTPUTS:
                stale = run_dir / name
                if stale.is_dir():
                    shutil.rmtree(stale)
                elif stale.exists():
                    stale.unlink()
            notes.append(f"{run_dir} holds a run that stopped before its first checkpoint; starting it again from step 0.")
            print(f"selfsup: {notes[-1]}", file=sys.stderr)
        return PreparedRunDir(run_dir, lock, None, notes)
    if checkpoint is None:
        raise CheckpointError(
            f"trainer.resume=true but {str(run_dir)!r} holds no checkpoint: the run stopped before its first one. "
            "Start it again with the same command without trainer.resume=true."
        )
    saved = OmegaConf.load(run_dir / "config.yaml")
    return PreparedRunDir(run_dir, lock, check_resumable(run_dir, saved, resolved.config))
