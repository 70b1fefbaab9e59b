"""``swav`` (and the ``seer`` recipe): swapped prediction of Sinkhorn codes across multi-crop
views (Caron et al. 2020; :mod:`..losses.swav`, :mod:`..heads.sinkhorn`).

Backbone → projection MLP → L2 normalisation → prototypes (a bias-free Linear whose rows
are re-normalised before every step, as ``main_swav.py``). Codes come from the crops in
``crops_for_assign`` without gradient, optionally with a queue of earlier embeddings (one
:class:`..heads.queue.FeatureQueue` per assigned crop) prepended for the Sinkhorn step. The
prototypes get no gradient for the first ``freeze_prototypes_steps`` steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.mlp import mlp
from ..heads.queue import FeatureQueue
from ..heads.sinkhorn import sinkhorn_knopp
from ..losses.swav import swav_loss
from ..ssl_configs import SwAVConfig
from .views_base import ViewObjective, multi_res_forward

__all__ = ["SwAV"]


class SwAV(ViewObjective):
    method = "swav"

    def __init__(self, config: SwAVConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        n = self.views.num_views
        if n < 2 or any(not 0 <= c < n for c in config.crops_for_assign) or not config.crops_for_assign:
            raise ConfigError(
                f"objective_config.crops_for_assign={list(config.crops_for_assign)} must name some of the {n} views "
                "(and there must be at least 2). Use crops_for_assign=[0, 1]."
            )
        if config.prototypes < 2 or config.epsilon <= 0 or config.temperature <= 0:
            raise ConfigError("objective_config.prototypes must be >= 2 and epsilon, temperature > 0. Use 3000, 0.05, 0.1.")
        self.projector = mlp(encoder.embed_dim, config.hidden_dim, config.feat_dim, batch_norm=config.head_bn)
        self.prototypes = nn.Linear(config.feat_dim, config.prototypes, bias=False)
        self.queues = nn.ModuleList(
            [FeatureQueue(config.queue_length, config.feat_dim) for _ in config.crops_for_assign]
            if config.queue_length > 0 else []
        )

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projector(self.encoder.forward_images(x)), dim=1)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        cfg = self.config
        with torch.no_grad():
            self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))
        views = self.make_views(batch)
        embeddings = multi_res_forward(self._embed, views)
        weight = self.prototypes.weight
        if step <= cfg.freeze_prototypes_steps:
            weight = weight.detach()
        scores = [z @ weight.T for z in embeddings]
        codes = []
        for i, crop in enumerate(cfg.crops_for_assign):
            with torch.no_grad():
                out = scores[crop].detach()
                bs = out.shape[0]
                use_queue = bool(self.queues) and step >= cfg.queue_start_step
                if use_queue and int(self.queues[i].filled) == self.queues[i].bank.shape[0]:
                    # official: the queue joins once full (its last row is no longer zero)
                    out = torch.cat([self.queues[i].contents() @ self.prototypes.weight.T, out])
                if use_queue:
                    self.queues[i].push(embeddings[crop].detach())
                codes.append(sinkhorn_knopp(out, epsilon=cfg.epsilon, iterations=cfg.sinkhorn_iterations)[-bs:])
        return {"loss": swav_loss(scores, codes, list(cfg.crops_for_assign), temperature=cfg.temperature)}
