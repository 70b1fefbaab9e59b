"""Hostile files for safe-loading tests: a pickle whose unpickling creates a marker file.

A test plants :func:`hostile_pickle_bytes` (or a :class:`HostilePayload` inside a ``torch.save``d
dict or an object ``.npy``) wherever a loader reads a file, and asserts that the marker never
appears and that the loader raises a named error.
"""

from __future__ import annotations

import os
import pickle
import shlex
from pathlib import Path
from typing import Any

__all__ = ["HostilePayload", "hostile_pickle_bytes"]


class HostilePayload:
    """Unpickling this runs ``touch <marker>``: what a crafted file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def hostile_pickle_bytes(marker: Path, protocol: int = 2) -> bytes:
    """A pickled dict holding a :class:`HostilePayload` (the shape of a CIFAR batch or Planetoid file)."""
    return pickle.dumps({"data": HostilePayload(marker), "labels": [0]}, protocol=protocol)
