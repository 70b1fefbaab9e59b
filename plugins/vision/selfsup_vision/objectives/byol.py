"""``byol``: online backbone → projector → predictor regressing an EMA target's projections
(Grill et al. 2020; :mod:`..losses.byol`, :class:`..heads.teacher.EMATeacher`).

The target (backbone + projector) is an EMA of the online branch with a cosine momentum
schedule (0.996 → 1), updated after every optimiser step; it never receives gradients.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.mlp import mlp
from ..heads.teacher import EMATeacher
from ..losses.byol import byol_loss
from ..ssl_configs import BYOLConfig
from .views_base import Branch, ViewObjective

__all__ = ["BYOL"]


class BYOL(ViewObjective):
    method = "byol"
    #: The view preset named in the 2-views error's fix (MYOW's default is ``simclr``).
    default_views = "byol"

    def __init__(self, config: BYOLConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        if self.views.num_views != 2:
            raise ConfigError(
                f"{self.method} uses exactly 2 views; views={config.views!r} gives {self.views.num_views}. "
                f"Use objective_config.views={self.default_views} with objective_config.local_crops=0."
            )
        if not 0.0 <= config.momentum_base <= config.momentum_final <= 1.0:
            raise ConfigError(
                f"objective_config.momentum_base={config.momentum_base}, momentum_final={config.momentum_final}: "
                "need 0 <= base <= final <= 1. Use momentum_base=0.996, momentum_final=1.0."
            )
        self.online = Branch(encoder, mlp(encoder.embed_dim, config.hidden_dim, config.proj_dim))
        self.predictor = mlp(config.proj_dim, config.hidden_dim, config.proj_dim)
        self.target = EMATeacher(self.online, config.momentum_base, config.momentum_final)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        v1, v2 = self.make_views(batch)
        p1, p2 = self.predictor(self.online(v1)), self.predictor(self.online(v2))
        z1, z2 = self.target(v1), self.target(v2)
        return {"loss": byol_loss(p1, p2, z1, z2)}

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        self.target.update(self.online, step - 1, max_steps)
