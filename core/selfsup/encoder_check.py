"""The check every run makes before training: the encoder's output is ``[rows, embed_dim]``.

One forward pass, in eval mode under ``torch.no_grad()``, on a batch of (at most) two
training items collated by the data source. The random number generators are
restored afterwards, so the check never changes a seeded run.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import EncoderOutputError
from .interfaces import DataSource

__all__ = ["check_encoder_output", "probe_batch"]

#: Items in the batch of the check.
PROBE_ROWS = 2


def probe_batch(data: DataSource, split: str = "train") -> Any:
    """A collated batch of the first (at most) :data:`PROBE_ROWS` items of ``split``; ``None``
    when the split is empty (the trainer reports that)."""
    dataset = data.split(split)
    if isinstance(dataset, torch.utils.data.IterableDataset):  # a stream: its first items
        streamed = list(itertools.islice(iter(dataset), PROBE_ROWS))
        return data.collate(streamed) if streamed else None
    rows = min(PROBE_ROWS, len(dataset))  # type: ignore[arg-type]
    if rows == 0:
        return None
    if getattr(data, "full_batch", False):
        return data.collate([dataset[0]])
    getitems = getattr(dataset, "__getitems__", None)
    items = getitems(list(range(rows))) if getitems is not None else [dataset[i] for i in range(rows)]
    return data.collate(items)


def check_encoder_output(spec: Any, encoder: nn.Module, data: DataSource) -> None:
    """Raise :class:`EncoderOutputError` unless ``encoder(batch)`` is a ``[rows, embed_dim]`` tensor."""
    embed_dim = getattr(encoder, "embed_dim", None)
    culprit = f"Encoder '{spec.name}' ({spec.provider})"
    numpy_state, python_state = np.random.get_state(), random.getstate()
    was_training = encoder.training
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            batch = probe_batch(data)
            if batch is None:
                return
            encoder.eval()
            output = encoder(batch)
    finally:
        encoder.train(was_training)
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    if not isinstance(output, torch.Tensor) or output.ndim != 2:
        got = f"a tensor of shape {tuple(output.shape)}" if isinstance(output, torch.Tensor) else type(output).__name__
        raise EncoderOutputError(
            f"{culprit} returned {got} for a batch of dataset {_dataset(data)}; expected a tensor "
            f"[rows, embed_dim={embed_dim}]. Please report this to the plugin author."
        )
    if output.shape[1] != embed_dim:
        raise EncoderOutputError(
            f"{culprit} declares embed_dim={embed_dim} but returned {output.shape[1]} features per row "
            f"(output shape {tuple(output.shape)}). Please report this to the plugin author: embed_dim must "
            "equal the width of forward()'s output."
        )


def _dataset(data: DataSource) -> str:
    info = getattr(data, "info", None)
    name = info.get("name") if isinstance(info, Mapping) else None
    return repr(name) if name else type(data).__name__
