"""Helpers shared by the dataset readers: the ``root`` check and reading a list of files with counted skips."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from selfsup.errors import DatasetError
from selfsup.progress import track

from .base import Scene, skip_bad

__all__ = ["require_root", "read_all"]

T = TypeVar("T")


def require_root(name: str, root: str | None, layout: str) -> Path:
    """``Path(root)``, or a :class:`DatasetError` saying which layout ``root`` must hold."""
    if not root:
        raise DatasetError(f"{name}: data.root is not set. Point it at the dataset folder ({layout}); nothing is downloaded.")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetError(f"{name}: data.root={root} is not a folder. Point it at the dataset folder ({layout}).")
    return path


def read_all(items: Iterable[T], read: Callable[[T], Scene], skipped: list[str]) -> list[Scene]:
    """``read(item)`` for every item; items whose reading raises :class:`DatasetError` are skipped and counted."""
    scenes = []
    for item in track(items, "data: reading point clouds", unit="files"):
        try:
            scenes.append(read(item))
        except DatasetError as error:
            skip_bad(str(item), error, skipped)
    return scenes
