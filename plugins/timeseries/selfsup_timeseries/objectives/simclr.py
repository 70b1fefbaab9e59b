"""``series-simclr``: a SimCLR-style baseline for time series, to compare frame projections against.

Two views of every series by random augmentation (per-channel log-normal scaling, Gaussian
jitter relative to the series' std, a circular time shift — the jitter/scaling family of
TS-TCC's weak augmentation and of the paper's SimCLR baseline, ``new_augmentations.py``), the
run's encoder, the frame-projections projector (Linear → ReLU → Linear) and the same NT-Xent
(:func:`..losses.ntxent.nt_xent` on L2-normalised projections, τ 0.15).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, StepOutput

from ..configs import TSSimCLRConfig
from ..encoders.frame_nets import Projector
from ..losses.ntxent import nt_xent

__all__ = ["TSSimCLR", "augment"]


def augment(x: torch.Tensor, *, jitter: float, scale_log_std: float, max_shift: float) -> torch.Tensor:
    """One random view of ``[B, C, T]`` series (global RNG: seeded by the run)."""
    rows, channels, length = x.shape
    scale = torch.exp(scale_log_std * torch.randn(rows, channels, 1, device=x.device))
    std = x.std(dim=-1, keepdim=True).clamp_min(1e-6)
    view = x * scale + jitter * std * torch.randn_like(x)
    limit = int(max_shift * length)
    if limit > 0:
        shifts = torch.randint(-limit, limit + 1, (rows,))
        index = (torch.arange(length)[None, :] - shifts[:, None]) % length
        view = torch.gather(view, 2, index[:, None, :].expand(rows, channels, length).to(x.device))
    return view


class TSSimCLR(Objective):
    """Built as ``TSSimCLR(config, encoder, data_info)``: any timeseries encoder."""

    def __init__(self, config: TSSimCLRConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        if not config.temperature > 0:
            raise ConfigError(f"series-simclr: temperature must be > 0, got {config.temperature}. "
                              "Use objective_config.temperature=0.15.")
        self.config = config
        self.projector = Projector(int(encoder.embed_dim), config.projection_dim)

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return augment(x, jitter=cfg.jitter, scale_log_std=cfg.scale_log_std, max_shift=cfg.max_shift)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        x = batch["x"].to(torch.float32)
        z1 = F.normalize(self.gather(self.projector(self.encoder({"x": self._view(x)}))), dim=1)
        z2 = F.normalize(self.gather(self.projector(self.encoder({"x": self._view(x)}))), dim=1)
        loss = nt_xent(z1, z2, self.config.temperature)
        with torch.no_grad():
            positive_cosine = (z1 * z2).sum(dim=1).mean()
        return {"loss": loss, "positive_cosine": positive_cosine}
