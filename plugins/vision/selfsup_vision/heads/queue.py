"""A FIFO feature queue (memory bank) that enqueues every rank's rows.

``FeatureQueue(size, dim)`` holds ``[size, dim]`` as a buffer (so checkpoints carry it) with
a write pointer and a ``filled`` count. ``push(x)`` gathers ``x`` from all ranks under
``torchrun`` (``torch.distributed.all_gather``, no gradient) — the identity in one process —
and writes the rows after the newest ones, wrapping around (MoCo/Mugs/OBoW-style queues).
``contents()`` returns the filled rows, newest last.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["FeatureQueue", "gather_rows"]


@torch.no_grad()
def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """``x`` from every rank concatenated in rank order (no gradient); ``x`` in one process."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


class FeatureQueue(nn.Module):
    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"FeatureQueue: size={size}, dim={dim}; both must be >= 1")
        self.register_buffer("bank", torch.zeros(size, dim))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, x: torch.Tensor) -> None:
        rows = gather_rows(x.detach()).to(self.bank.dtype)
        size = self.bank.shape[0]
        rows = rows[-size:]
        index = (self.pointer + torch.arange(rows.shape[0], device=rows.device)) % size
        self.bank[index] = rows
        self.pointer.copy_((self.pointer + rows.shape[0]) % size)
        self.filled.copy_(torch.clamp(self.filled + rows.shape[0], max=size))

    def contents(self) -> torch.Tensor:
        """The filled rows, oldest first (one host read of ``filled``)."""
        size = self.bank.shape[0]
        filled = int(self.filled)
        order = (self.pointer - filled + torch.arange(filled, device=self.bank.device)) % size
        return self.bank[order]
