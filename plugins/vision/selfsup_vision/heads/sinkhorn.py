"""Sinkhorn-Knopp equipartitioned soft assignments
(``facebookresearch/swav@06b1b7c:main_swav.py::distributed_sinkhorn``).

Given scores ``S`` ``[B, K]`` (samples × prototypes), ``Q = exp(S / ε)ᵀ`` (``K × B``),
normalised to sum 1, then ``iterations`` times: rows scaled to sum ``1/K`` (every
prototype gets an equal share), columns to ``1/B``; finally ``Q·B`` so each sample's codes
sum to 1. The result ``[B, K]`` has rows summing to 1 and columns summing to ≈ ``B/K``
(exact after the row step, approximate after the final column step). Under ``torchrun`` the
sums run over all ranks (``B`` is the global batch), as the official code; in one process
the all-reduces are the identity.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = ["sinkhorn_knopp"]


def _all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor)
    return tensor


def _world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@torch.no_grad()
def sinkhorn_knopp(scores: torch.Tensor, *, epsilon: float = 0.05, iterations: int = 3) -> torch.Tensor:
    q = torch.exp(scores.float() / epsilon).t()  # K x B
    batch = q.shape[1] * _world_size()
    prototypes = q.shape[0]
    q /= _all_reduce(torch.sum(q))
    for _ in range(iterations):
        q /= _all_reduce(torch.sum(q, dim=1, keepdim=True))
        q /= prototypes
        q /= torch.sum(q, dim=0, keepdim=True)
        q /= batch
    q *= batch
    return q.t()
