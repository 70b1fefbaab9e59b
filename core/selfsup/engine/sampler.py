"""The training loop's data order: seeded per-epoch permutations, resumable at any batch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

__all__ = ["EpochBatchSampler"]


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

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator)
            for index in range(self.position, self.batches_per_epoch()):
                self.position = index + 1
                yield order[index * self.batch_size : (index + 1) * self.batch_size].tolist()
            self.epoch, self.position = self.epoch + 1, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
