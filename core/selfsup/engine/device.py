"""Devices, precision and seeding."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError

__all__ = [
    "resolve_device", "resolve_precision", "autocast_context", "move_to_device", "seed_everything", "intra_op_threads",
]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"trainer.device={name!r} is not a device: {exc}. Use auto, cpu or cuda.") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device={name!r} but CUDA is not available here. Use trainer.device=cpu or auto.")
    return device


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The autocast dtype: float32 means no autocast."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    if name == "fp16" and device.type == "cpu":
        raise ConfigError("trainer.precision=fp16 needs a GPU. Use trainer.precision=bf16 on CPU, or fp32.")
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def autocast_context(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager[Any]:
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def move_to_device(batch: Any, device: torch.device | str, *, non_blocking: bool = False, channels_last: bool = False) -> Any:
    """Move every tensor (or object with ``.to``) in a batch to ``device``, recursing into mappings,
    lists, tuples and named tuples (whose type is kept); anything else is returned as it is.

    With ``channels_last``, 4-D floating-point tensors (image-like batches) also take the
    ``torch.channels_last`` memory format that convolutions run fastest in.
    """
    if isinstance(batch, torch.Tensor):
        if channels_last and batch.dim() == 4 and batch.is_floating_point():
            return batch.to(device, non_blocking=non_blocking, memory_format=torch.channels_last)
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device, non_blocking=non_blocking, channels_last=channels_last) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [move_to_device(v, device, non_blocking=non_blocking, channels_last=channels_last) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    return batch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def intra_op_threads(threads: int | None) -> Any:
    """Run the block with ``torch.set_num_threads(threads)`` (``None``: unchanged), then restore it.

    Small models gain nothing from a second thread and lose much when the cores are shared
    (the threads wait for each other), so a method may default ``trainer.threads`` to 1.
    """
    if threads is None:
        yield
        return
    if threads < 1:
        raise ConfigError(f"trainer.threads={threads} must be at least 1 (or null for PyTorch's default).")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
