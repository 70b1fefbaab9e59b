"""The raw-feature baseline of time series (:class:`selfsup.tasks.RawFeatureSource`).

:class:`SeriesValues` is a parameter-free "encoder" that the core scores with the run's
evaluators beside the pretrained and random-init encoders: each series' values as loaded (after
the source's z-normalisation and length policy), channel-major, ``[rows, C·T]`` — the input
itself, the classic UCR reference (1-NN or a linear model on the aligned values). On series whose
phase is random (the embedded ``synthetic-pulses``) a linear model on the values cannot read a rate
or a shape at all (R² ≈ 0): the column says how much of a score needs features that a linear map of
the values does not give.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["SeriesValues"]


class SeriesValues(nn.Module):
    """``batch["x"]`` ``[rows, C, T]`` flattened channel-major to ``[rows, C·T]``; ``embed_dim`` = C·T."""

    def __init__(self, num_channels: int, length: int) -> None:
        super().__init__()
        self.num_channels, self.length = int(num_channels), int(length)
        self.embed_dim = self.num_channels * self.length

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        x = batch["x"].to(torch.float32)
        return x.reshape(x.shape[0], -1)
