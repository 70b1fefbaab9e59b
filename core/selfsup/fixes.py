"""Dataset/component mismatches with one obvious fix are fixed and said, not refused.

A factory raises :class:`~selfsup.errors.DataMismatchError` with the change of the
dataset's config that fixes it (``{"image_size": 32}``); :func:`build_with_data_fixes`
applies it to the run's config, warns, and builds again, once.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import DataMismatchError, SelfsupWarning

__all__ = ["build_with_data_fixes"]

T = TypeVar("T")


def build_with_data_fixes(config: Any, dataset_name: str, build: Callable[[], T]) -> T:
    """``build()``; on a fixable :class:`DataMismatchError`, set its ``data_overrides`` in
    ``config.data`` (the resolved run config), warn, and ``build()`` again. A mismatch the
    dataset cannot fix (it has no such key) or a second one is raised as it is."""
    try:
        return build()
    except DataMismatchError as exc:
        if not exc.data_overrides or any(key not in config.data for key in exc.data_overrides):
            raise
        for key, value in exc.data_overrides.items():
            config.data[key] = value
        applied = ", ".join(f"data.{key}={value}" for key, value in exc.data_overrides.items())
        warnings.warn(
            f"{exc.reason} Fixed for this run: {applied} on dataset '{dataset_name}' (recorded in config.yaml).",
            SelfsupWarning,
            stacklevel=2,
        )
    return build()
