"""Time-series augmentations on whole batches ``[rows, channels, length]``.

Each draws from the global torch RNG on the batch's device, so the engine's
seeding and checkpointed RNG state make them reproducible and resumable.
"""

from __future__ import annotations

import torch

__all__ = ["jitter", "scale", "time_shift", "augment"]


def jitter(x: torch.Tensor, std: float) -> torch.Tensor:
    """Add Gaussian noise with ``std`` times each series' own standard deviation."""
    if std <= 0:
        return x
    sigma = x.std(dim=-1, keepdim=True).clamp_min(1e-6)
    return x + std * sigma * torch.randn_like(x)


def scale(x: torch.Tensor, log_std: float) -> torch.Tensor:
    """Multiply each channel of each series by ``exp(N(0, log_std))``."""
    if log_std <= 0:
        return x
    factors = torch.exp(log_std * torch.randn(x.shape[0], x.shape[1], 1, device=x.device, dtype=x.dtype))
    return x * factors


def time_shift(x: torch.Tensor, max_fraction: float) -> torch.Tensor:
    """Roll each series circularly by its own random shift in ``[-m, m]``, ``m = max_fraction * length``."""
    length = x.shape[-1]
    most = int(max_fraction * length)
    if most <= 0:
        return x
    shifts = torch.randint(-most, most + 1, (x.shape[0], 1, 1), device=x.device)
    index = (torch.arange(length, device=x.device) - shifts) % length  # [rows, 1, length]
    return torch.gather(x, -1, index.expand_as(x))


def augment(x: torch.Tensor, *, jitter_std: float, scale_log_std: float, max_shift: float) -> torch.Tensor:
    """One random view: time shift, then scaling, then jitter."""
    return jitter(scale(time_shift(x, max_shift), scale_log_std), jitter_std)
