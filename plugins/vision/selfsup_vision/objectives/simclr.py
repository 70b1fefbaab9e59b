"""``simclr``: two views, a projection MLP and NT-Xent (Chen et al. 2020; :mod:`..losses.nt_xent`).

With ``needs_gather`` the negatives are every rank's rows under ``torchrun`` (the official
``tpu_cross_replica_concat``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from selfsup.engine.distributed import rank_offset
from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.mlp import mlp
from ..losses.nt_xent import nt_xent
from ..ssl_configs import SimCLRConfig
from .views_base import ViewObjective

__all__ = ["SimCLR"]


class SimCLR(ViewObjective):
    method = "simclr"
    needs_gather = True

    def __init__(self, config: SimCLRConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        if self.views.num_views != 2:
            raise ConfigError(
                f"simclr compares exactly 2 views; views={config.views!r} gives {self.views.num_views}. "
                "Use objective_config.views=simclr (or byol) with objective_config.local_crops=0."
            )
        if config.temperature <= 0:
            raise ConfigError(f"objective_config.temperature={config.temperature} must be > 0. Use 0.5 (CIFAR) or 0.1.")
        self.projector = self.build_projector(encoder.embed_dim)

    def build_projector(self, width: int) -> nn.Module:
        """SimCLR v2's projection head (BatchNorm in every layer, the last without affine)."""
        config = self.config
        return mlp(width, config.proj_hidden_dim or width, config.proj_dim, layers=config.proj_layers, last_bn=True)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        v1, v2 = self.make_views(batch)
        z1 = self.projector(self.encoder.forward_images(v1))
        z2 = self.projector(self.encoder.forward_images(v2))
        loss = nt_xent(z1, z2, temperature=self.config.temperature, z1_all=self.gather(z1), z2_all=self.gather(z2),
                       offset=rank_offset(z1.shape[0]))
        return {"loss": loss}
