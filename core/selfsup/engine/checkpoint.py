"""Checkpoints: atomic, checksummed, loaded without unpickling code, with fallback.

Layout of ``run_dir/checkpoints/``::

    step-00000300.pt          torch.save of plain containers and tensors (loaded with weights_only=True)
    step-00000300.pt.sha256   "<sha256>  step-00000300.pt" (the ``sha256sum`` format)

A checkpoint is written to a temporary file and fsynced; its digest is computed from
the bytes on disk and the sidecar is written atomically *before* the checkpoint is renamed
into place, so every ``step-*.pt`` has a sidecar that describes it. Loading verifies the
digest, then ``torch.load(..., weights_only=True)``: a file that unpickles anything other
than tensors and plain containers is refused. :func:`load_latest_checkpoint` falls back
to the previous checkpoint when the newest is corrupt, with a warning, and renames the
corrupt one to ``*.corrupt`` (kept for inspection, never loaded again).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from ..errors import CheckpointError

__all__ = [
    "CHECKSUM_SUFFIX",
    "atomic_save",
    "capture_rng",
    "restore_rng",
    "latest_checkpoint",
    "list_checkpoints",
    "save_checkpoint",
    "load_checkpoint",
    "load_latest_checkpoint",
    "check_checkpoint_keys",
    "REQUIRED_KEYS",
    "clean_orphans",
    "check_writable",
    "sha256_file",
]

#: The sidecar of ``step-N.pt`` is ``step-N.pt.sha256``.
CHECKSUM_SUFFIX = ".sha256"
_PATTERN = re.compile(r"^step-(\d+)\.pt$")
#: Temporary files of a write that was killed: ``.step-N.pt.<random>.tmp`` (checkpoint or sidecar).
_ORPHAN_TMP = re.compile(r"^\.step-\d+\.pt(\.sha256)?\..*\.tmp$")


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not every platform opens directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_tmp(directory: Path, name: str, write: Callable[[IO[bytes]], None]) -> str:
    """Write a fsynced temporary file next to ``directory/name``; return its path."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return tmp


def atomic_save(obj: Any, path: Path, *, checksum: bool = False) -> str:
    """``torch.save`` that never leaves a half-written file behind; return the file's sha256.

    With ``checksum``, ``path.sha256`` is written (atomically) before ``path`` is renamed
    into place, so ``path`` never exists without a sidecar that describes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path.parent, path.name, lambda handle: torch.save(obj, handle))
    try:
        digest = sha256_file(Path(tmp))
        if checksum:
            line = f"{digest}  {path.name}\n".encode()
            side = _write_tmp(path.parent, path.name + CHECKSUM_SUFFIX, lambda handle: handle.write(line))
            os.replace(side, path.with_name(path.name + CHECKSUM_SUFFIX))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return digest


def capture_rng() -> dict[str, Any]:
    """Every global RNG state, as tensors and plain numbers (loadable with ``weights_only=True``)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng`."""
    python, numpy_state = state["python"], state["numpy"]
    random.setstate((python["version"], tuple(int(v) for v in python["state"].tolist()), python["gauss"]))
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def list_checkpoints(directory: Path) -> list[Path]:
    """``step-*.pt`` in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _PATTERN.match(p.name))


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def save_checkpoint(state: dict[str, Any], directory: Path, step: int, keep: int) -> Path:
    """Write ``step-N.pt`` with its sidecar; keep the newest ``keep`` checkpoints (at least 1)."""
    path = directory / f"step-{step:08d}.pt"
    try:
        atomic_save(state, path, checksum=True)
    except OSError as exc:
        raise CheckpointError(
            f"Cannot write checkpoint {str(path)!r} ({type(exc).__name__}: {exc}). "
            "Free disk space or make the folder writable, then resume with trainer.resume=true."
        ) from exc
    old = list_checkpoints(directory)
    for stale in old[: max(0, len(old) - max(keep, 1))]:
        stale.unlink()
        _sidecar(stale).unlink(missing_ok=True)
    return path


def latest_checkpoint(directory: Path) -> Path | None:
    """The newest ``step-*.pt`` in ``directory`` by name (unverified; resume uses :func:`load_latest_checkpoint`)."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


class _Unusable(Exception):
    """Why a checkpoint cannot be used (wrapped in a CheckpointError by the callers)."""


def _read_checkpoint(path: Path) -> dict[str, Any]:
    sidecar = _sidecar(path)
    try:
        if not sidecar.exists():
            raise _Unusable(f"it has no checksum file {sidecar.name}, so it cannot be trusted")
        expected = (sidecar.read_text().split() or [""])[0]
        actual = sha256_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unusable(f"it could not be read: {type(exc).__name__}: {exc}") from exc
    if actual != expected:
        raise _Unusable(f"its sha256 is {actual[:12]}... but {sidecar.name} says {expected[:12]}...: the file is corrupt")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unpickling failure has many types; each means "not a safe checkpoint"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise _Unusable(f"it cannot be loaded safely with weights_only=True: {type(exc).__name__}: {first_line}") from exc
    if not isinstance(state, dict) or "step" not in state:
        raise _Unusable("it is not a selfsup checkpoint (no 'step' entry)")
    return state


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Verify ``path`` against its sidecar, then load it with ``weights_only=True``.

    Raises :class:`CheckpointError` naming the file for a missing or wrong checksum,
    a truncated or corrupt file, or a pickle that needs anything but tensors and containers.
    """
    try:
        return _read_checkpoint(path)
    except _Unusable as exc:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is unusable: {exc}. Delete it (and its {CHECKSUM_SUFFIX}) "
            "to resume from the previous checkpoint."
        ) from exc


def load_latest_checkpoint(directory: Path, *, quarantine: bool = True) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that verifies and loads, and its state; ``None`` if there is none.

    Each newer checkpoint that is unusable (no or a wrong checksum, truncated, not loadable
    with ``weights_only=True``) is reported with a ``RuntimeWarning`` naming it and the
    checkpoint used instead, and, with ``quarantine`` (rank 0), renamed with its sidecar to
    ``*.corrupt``: kept for inspection, never loaded again. When no checkpoint is usable, a
    :class:`CheckpointError` names the newest one and why (no warnings then).
    """
    found = list_checkpoints(directory)
    bad: list[tuple[Path, _Unusable]] = []
    for path in reversed(found):
        try:
            state = _read_checkpoint(path)
        except _Unusable as exc:
            bad.append((path, exc))
            continue
        for corrupt, reason in bad:
            kept = f"; it is renamed to {corrupt.name}.corrupt" if quarantine else ""
            warnings.warn(
                f"Checkpoint {str(corrupt)!r} is unusable ({reason}){kept}; resuming from {path.name} instead.",
                RuntimeWarning,
                stacklevel=2,
            )
            if quarantine:
                for file in (corrupt, _sidecar(corrupt)):
                    if file.exists():
                        os.replace(file, file.with_name(file.name + ".corrupt"))
        return path, state
    if bad:
        newest, reason = bad[0]
        others = f" (nor are the {len(bad) - 1} older ones)" if len(bad) > 1 else ""
        raise CheckpointError(
            f"Checkpoint {str(newest)!r} is unusable: {reason}{others}, so the run cannot resume. "
            "Start it again without trainer.resume, in a new run_dir."
        )
    return None


#: The entries ``Trainer._save`` writes and ``Trainer._maybe_resume`` reads.
REQUIRED_KEYS = ("step", "objective", "phases", "sampler", "rng")


def check_checkpoint_keys(state: dict[str, Any], path: Path) -> None:
    """Raise :class:`CheckpointError` naming ``path`` when an entry the trainer reads is missing or malformed."""
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} lacks {missing} (it has {sorted(state)}). "
            "It was not written by selfsup's trainer: delete it to resume from the previous checkpoint."
        )
    bad = [
        key
        for key, ok in (
            ("step", isinstance(state["step"], int) and state["step"] >= 0),
            ("objective", isinstance(state["objective"], dict)),
            ("phases", isinstance(state["phases"], dict) and all(isinstance(v, dict) for v in state["phases"].values())),
            ("sampler", state["sampler"] is None or isinstance(state["sampler"], dict)),
            ("rng", isinstance(state["rng"], dict) and {"python", "numpy", "torch"} <= set(state["rng"])),
        )
        if not ok
    ]
    if bad:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} has malformed entries {bad}. "
            "It was not written by this version of selfsup's trainer: delete it to resume from the previous checkpoint."
        )


def clean_orphans(directory: Path) -> list[Path]:
    """Remove what a killed write leaves in ``directory``: ``.step-*.tmp`` files and sidecars
    whose checkpoint does not exist. Return the paths removed."""
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for path in directory.iterdir():
        orphan_sidecar = path.name.endswith(".pt" + CHECKSUM_SUFFIX) and _PATTERN.match(path.name[: -len(CHECKSUM_SUFFIX)])
        if _ORPHAN_TMP.match(path.name) or (orphan_sidecar and not path.with_name(path.name[: -len(CHECKSUM_SUFFIX)]).exists()):
            path.unlink(missing_ok=True)
            removed.append(path)
    return sorted(removed)


def check_writable(directory: Path, *, error: type[Exception] = CheckpointError, fix: str = "Make it writable or choose another run_dir.") -> None:
    """Create ``directory`` if needed and write (then remove) a probe file in it.

    Raises ``error`` naming the folder when that fails, so a run finds out before training,
    not after it.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".write-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise error(f"Cannot write to {str(directory)!r} ({type(exc).__name__}: {exc.strerror or exc}). {fix}") from exc
