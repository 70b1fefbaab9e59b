"""``ts-simclr``: SimCLR for time series (two augmented views, NT-Xent)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, StepOutput

from .augment import augment
from .configs import TSSimCLRConfig
from .losses import nt_xent

__all__ = ["TSSimCLR"]


class TSSimCLR(Objective):
    """Encoder + MLP projection head trained with :func:`selfsup_example.losses.nt_xent`.

    Built by selfsup as ``TSSimCLR(config, encoder, data_info)``. The
    projection head is discarded after pretraining: only ``self.encoder`` is
    saved and evaluated. One optimiser phase (the default ``phases()``), no EMA
    target, so ``on_step_end`` is not overridden.
    """

    def __init__(self, config: TSSimCLRConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)  # registers the encoder as a sub-module: its parameters train
        if not config.temperature > 0:
            raise ConfigError(
                f"ts-simclr: temperature must be > 0, got {config.temperature}. Use objective_config.temperature=0.2."
            )
        self.config = config
        self.projector = nn.Sequential(
            nn.Linear(encoder.embed_dim, config.projection_hidden),
            nn.ReLU(),
            nn.Linear(config.projection_hidden, config.projection_dim),
        )

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return augment(x, jitter_std=cfg.jitter, scale_log_std=cfg.scale_log_std, max_shift=cfg.max_shift)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        x = batch["x"]
        z1 = self.gather(self.projector(self.encoder({"x": self._view(x)})))
        z2 = self.gather(self.projector(self.encoder({"x": self._view(x)})))
        loss = nt_xent(z1, z2, self.config.temperature)
        with torch.no_grad():  # a logged diagnostic, not part of the loss
            positive_cosine = nn.functional.cosine_similarity(z1, z2, dim=1).mean()
        return {"loss": loss, "positive_cosine": positive_cosine}
