"""Reading and writing a run's files safely: checksummed safetensors, checked JSON.

``encoder.safetensors`` carries its own checksum in the safetensors metadata:
``{"format": "pt", "selfsup.sha256": <hex>}``, where the digest covers, for every tensor
in sorted name order, its name, dtype, shape and raw bytes (:func:`tensor_digest`). The
file is written to a temporary name, fsynced and renamed, so the checksum and the
tensors always arrive together. Its bytes depend only on the tensors: safetensors writes the
metadata in the order of a Rust ``HashMap`` (random per process), so :func:`save_weights`
rewrites the JSON header with sorted keys (same length, same offsets) and equal weights give
byte-identical files, whichever process wrote them. :func:`load_weights` recomputes the digest and raises
:class:`~selfsup.errors.CheckpointError` on any mismatch, truncation or unreadable header.
Safetensors never unpickles, so loading runs no code.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

__all__ = ["CHECKSUM_KEY", "tensor_digest", "save_weights", "load_weights", "read_json", "check_output_paths"]

#: The safetensors metadata key that holds :func:`tensor_digest` of the file's tensors.
CHECKSUM_KEY = "selfsup.sha256"


def tensor_digest(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().contiguous().cpu()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def _sorted_header(blob: bytes) -> bytes:
    """``blob`` (a safetensors file) with its JSON header's keys sorted, padded to the same length."""
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + length])
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if len(canonical) > length:  # cannot happen for safetensors' compact JSON; keep its own bytes
        return blob
    return blob[:8] + canonical.ljust(length, b" ") + blob[8 + length :]


def save_weights(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Write ``state`` as safetensors with its checksum in the metadata, atomically and
    byte-deterministically (equal tensors, equal bytes)."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        blob = _sorted_header(save(tensors, metadata={"format": "pt", CHECKSUM_KEY: tensor_digest(tensors)}))
        with open(tmp, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(
                f"Cannot write {str(path)!r} ({type(exc).__name__}: {exc}). Free disk space or make the folder writable."
            ) from exc
        raise


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file and verify its checksum; a named error for any bad file.

    A file without a checksum (written by selfsup before checksums existed, or by another
    tool) is loaded with a ``RuntimeWarning``.
    """
    from safetensors import safe_open

    fix = "Copy the file again from a good copy, or re-run the pretraining."
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except Exception as exc:  # SafetensorError, OSError, ...: a truncated or foreign file
        raise CheckpointError(
            f"{str(path)!r} is not a readable safetensors file ({type(exc).__name__}: {exc}). {fix}"
        ) from exc
    expected = metadata.get(CHECKSUM_KEY)
    if expected is None:
        warnings.warn(f"{str(path)!r} has no {CHECKSUM_KEY} checksum; loading it unverified.", RuntimeWarning, stacklevel=2)
    elif tensor_digest(state) != expected:
        raise CheckpointError(f"{str(path)!r} is corrupt: its tensors do not match the sha256 stored in it. {fix}")
    return state


def read_json(path: Path, *, fix: str) -> dict[str, Any]:
    """A run's JSON file that must hold an object; a :class:`CheckpointError` naming the file
    (and ending with ``fix``) when it is unreadable, not JSON, or not an object."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{str(path)!r} is not valid JSON ({type(exc).__name__}: {exc}). {fix}") from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"{str(path)!r} holds a JSON {type(payload).__name__}, not an object. {fix}")
    return payload


def check_output_paths(run_dir: Path, files: tuple[str, ...], folders: tuple[str, ...]) -> None:
    """Before any work: ``run_dir`` and each of ``folders`` (created) must take a new file, and
    none of ``files`` that already exists may be a folder or read-only.

    Raises :class:`CheckpointError` naming the first path that fails and one fix.
    """
    from .engine.checkpoint import check_writable

    fix = "Make it writable, or choose another run_dir."
    check_writable(run_dir, fix=fix)
    for folder in folders:
        check_writable(run_dir / folder, fix="Remove or rename what is at that path, or make it writable; or choose another run_dir.")
    for name in files:
        path = run_dir / name
        if path.exists() and (not path.is_file() or not os.access(path, os.W_OK)):
            raise CheckpointError(
                f"Cannot write {str(path)!r}: it is {'a folder' if path.is_dir() else 'read-only'}. "
                "Move it out of the way, or choose another run_dir."
            )
