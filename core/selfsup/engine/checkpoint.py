"""Atomic checkpoints: write to a temporary file, fsync, then rename."""

from __future__ import annotations

import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError

__all__ = ["atomic_save", "capture_rng", "restore_rng", "latest_checkpoint", "save_checkpoint", "load_checkpoint"]

_PATTERN = re.compile(r"^step-(\d+)\.pt$")


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` that never leaves a half-written file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def capture_rng() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(state: dict[str, Any], directory: Path, step: int, keep: int) -> Path:
    path = directory / f"step-{step:08d}.pt"
    atomic_save(state, path)
    old = sorted(p for p in directory.iterdir() if _PATTERN.match(p.name))
    for stale in old[: max(0, len(old) - max(keep, 1))]:
        stale.unlink()
    return path


def latest_checkpoint(directory: Path) -> Path | None:
    if not directory.is_dir():
        return None
    found = sorted(p for p in directory.iterdir() if _PATTERN.match(p.name))
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} could not be read ({type(exc).__name__}: {exc}). "
            "Delete it to resume from the previous one."
        ) from exc
