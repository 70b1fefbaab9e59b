"""Preprocessing as part of the run: the state a dataset fitted, and the transform rebuilt from it.

Two halves, both optional for a plugin:

* at pretraining time, ``DataSource.preprocessing_state()`` returns what the dataset
  fitted (column encodings, normalisation statistics, input length, featurisation
  settings) as a mapping of JSON values and, optionally, tensors. :func:`save_state`
  writes it into the run folder: the JSON values as ``preprocessing.json``, the tensors
  (top-level values only) as ``preprocessing.safetensors``; never a pickle.
* at embedding / export time, the dataset spec's ``input_transform`` factory,
  ``input_transform(config, state) -> InputTransform``, rebuilds the "raw inputs -> batch"
  transform from the run's dataset config and that state (:func:`load_state`).

An :class:`InputTransform` reads raw inputs (files, a folder, an in-memory table) into
``(id, item)`` pairs and turns a list of items into one encoder batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from .errors import CheckpointError

__all__ = [
    "InputTransform",
    "PREPROCESSING_FILE",
    "PREPROCESSING_TENSORS_FILE",
    "save_state",
    "load_state",
]

#: The JSON half of the saved state, beside ``config.yaml`` in the run folder.
PREPROCESSING_FILE = "preprocessing.json"
#: The tensor half (only written when the state holds tensors).
PREPROCESSING_TENSORS_FILE = "preprocessing.safetensors"
_FORMAT = "selfsup/preprocessing-v1"


@runtime_checkable
class InputTransform(Protocol):
    """Raw inputs -> encoder batches, with a run's fitted preprocessing.

    ``read(source)`` lists the inputs found at ``source`` (a file, a folder, or what the
    transform documents, e.g. a ``pandas.DataFrame``) as ``(id, item)`` pairs: the id is a
    file name or a row number, the item whatever :meth:`batch` takes. Unreadable or
    malformed inputs raise :class:`selfsup.errors.DatasetError` naming the input.

    ``batch(items)`` returns ``(batch, units)``: the batch the encoder takes, as during
    pretraining, and per item the number of *units* it holds (points of a point cloud,
    nodes of a graph; 1 for a table row, an image or a clip). The core keeps the
    encoder's output as one row per item when it has ``len(items)`` rows, and as one row
    per unit (per point, per node) when it has ``sum(units)`` rows.
    """

    def read(self, source: Any) -> list[tuple[str, Any]]: ...

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]: ...


def _split(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    values: dict[str, Any] = {}
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            tensors[str(key)] = value.detach().cpu().contiguous()
        else:
            values[str(key)] = value
    return values, tensors


def save_state(run_dir: Path, dataset: str, state: Mapping[str, Any]) -> None:
    """Write ``state`` into ``run_dir`` (atomically: temporary file, then ``os.replace``).

    ``dataset`` (the dataset's name) is recorded beside it. A value that JSON cannot hold
    raises ``TypeError`` naming the key (a bug in the plugin that returned it).
    """
    values, tensors = _split(state)
    payload = {"format": _FORMAT, "dataset": dataset, "state": values}
    try:
        text = json.dumps(payload, indent=2, allow_nan=True) + "\n"
    except TypeError as exc:
        raise TypeError(
            f"The preprocessing state of dataset '{dataset}' is not JSON-serialisable ({exc}). "
            "Return lists, numbers and strings (or top-level tensors) from preprocessing_state()."
        ) from exc
    tensor_path = run_dir / PREPROCESSING_TENSORS_FILE
    if tensors:
        from safetensors.torch import save_file

        partial = tensor_path.with_name(f".{tensor_path.name}.tmp")
        save_file(tensors, str(partial))
        os.replace(partial, tensor_path)
    elif tensor_path.exists():
        tensor_path.unlink()
    path = run_dir / PREPROCESSING_FILE
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def load_state(run_dir: Path) -> dict[str, Any]:
    """The state :func:`save_state` wrote (tensors merged back), or ``{}`` for a run without one."""
    path = run_dir / PREPROCESSING_FILE
    if not path.exists():
        return {}
    try:
        payload = json.loads(path.read_text())
        state = dict(payload["state"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{str(path)!r} is not a preprocessing state written by selfsup ({exc}). "
            "Restore it from a copy of the run, or pretrain again."
        ) from exc
    if payload.get("format") != _FORMAT:
        raise CheckpointError(
            f"{str(path)!r} has format {payload.get('format')!r}, not {_FORMAT!r}. "
            "Use the selfsup version that wrote the run."
        )
    tensor_path = run_dir / PREPROCESSING_TENSORS_FILE
    if tensor_path.exists():
        from safetensors.torch import load_file

        state.update(load_file(str(tensor_path)))
    return state
