"""The training loop's data order: seeded per-epoch permutations of a map-style split
(:class:`EpochBatchSampler`), batches of distinct groups for an objective that groups its data
(:class:`GroupedBatchSampler`, G-SimCLR's), or passes over a streaming split
(:class:`StreamOrder`); each resumable at any batch."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

import torch

from ..errors import DatasetError

__all__ = ["EpochBatchSampler", "GroupedBatchSampler", "GroupsBatches", "PositionedStream", "StreamOrder"]


class EpochBatchSampler:
    """Seeded per-epoch permutations, resumable at any batch.

    Epoch ``e`` uses ``randperm(n)`` from a generator seeded with ``(seed, e)``;
    the global RNG is never touched, so data order does not depend on what the
    objective samples.
    """

    def __init__(self, size: int, batch_size: int, *, seed: int, drop_last: bool) -> None:
        self.size, self.batch_size, self.seed, self.drop_last = size, batch_size, seed, drop_last
        self.epoch, self.position = 0, 0

    def batches_per_epoch(self) -> int:
        return self.size // self.batch_size if self.drop_last else math.ceil(self.size / self.batch_size)

    def epoch_order(self) -> torch.Tensor:
        """The current epoch's order of the item indices."""
        return torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch))

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            order = self.epoch_order()
            for index in range(self.position, self.batches_per_epoch()):
                self.position = index + 1
                yield order[index * self.batch_size : (index + 1) * self.batch_size].tolist()
            self.epoch, self.position = self.epoch + 1, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]


@runtime_checkable
class GroupsBatches(Protocol):
    """An objective that wants each batch to hold at most one item of a group (G-SimCLR's
    pseudo-label-guided batches). The trainer calls ``batch_groups(data, batch_size)`` once
    before training: one integer group per item of ``data.split("train")``; the batches then
    come from :class:`GroupedBatchSampler`. Any objective may implement it."""

    def batch_groups(self, data: Any, batch_size: int) -> torch.Tensor: ...


class GroupedBatchSampler(EpochBatchSampler):
    """G-SimCLR's data order (``ariG23498/G-SimCLR``, the notebooks' reordering; arXiv 2009.12007
    § III): each item is ranked within its group (in index order), the items are sorted by rank
    (ties by index), and the unshuffled sequence is cut into consecutive batches, the last short
    one dropped. With as many groups as the batch size and groups of equal size, every batch
    holds exactly one item of each group; with unequal groups the batches that straddle two ranks
    may repeat a group. The order is the same every epoch, as in the official code (no shuffling).
    """

    def __init__(self, groups: torch.Tensor, batch_size: int) -> None:
        groups = torch.as_tensor(groups, dtype=torch.int64).flatten()
        super().__init__(groups.numel(), batch_size, seed=0, drop_last=True)
        rank = torch.empty_like(groups)
        for group in groups.unique():
            members = torch.nonzero(groups == group).flatten()
            rank[members] = torch.arange(members.numel())
        self.order = torch.argsort(rank * (groups.numel() + 1) + torch.arange(groups.numel()))

    def epoch_order(self) -> torch.Tensor:
        return self.order


@runtime_checkable
class PositionedStream(Protocol):
    """An iterable (streaming) train split that can start anywhere: before each pass the trainer
    calls ``set_position(epoch=e, batches=b, batch_size=n)``, and the next ``__iter__`` must
    yield the items of pass ``e`` after the first ``b`` batches of ``n`` items (``n``: this
    rank's share of the global batch). A stream without it trains, but cannot resume."""

    def set_position(self, *, epoch: int, batches: int, batch_size: int) -> None: ...


class StreamOrder:
    """The data order of an iterable train split: passes over the stream, batches counted.

    Pass ``e`` of a :class:`PositionedStream` is told its epoch (to shuffle its shards, say)
    and, after a resume, how many of its batches were already trained on. ``loader()``
    makes a fresh ``DataLoader`` over the stream for each pass.
    """

    def __init__(self, stream: torch.utils.data.IterableDataset, loader: Callable[[], Iterable[Any]], *, batch_size: int) -> None:
        self.stream, self.loader, self.batch_size = stream, loader, batch_size
        self.epoch, self.position = 0, 0

    @property
    def resumable(self) -> bool:
        return isinstance(self.stream, PositionedStream)

    def __iter__(self) -> Iterator[Any]:
        while True:
            if isinstance(self.stream, PositionedStream):
                self.stream.set_position(epoch=self.epoch, batches=self.position, batch_size=self.batch_size)
            start = self.position
            for batch in self.loader():
                self.position += 1
                yield batch
            if self.position == start:
                raise DatasetError(
                    f"The streaming train split yielded no batch of {self.batch_size} items in pass {self.epoch}. "
                    "Give it more data (or a smaller trainer.batch_size)."
                )
            self.epoch, self.position = self.epoch + 1, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
