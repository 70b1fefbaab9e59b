"""``dino``: self-distillation with no labels (Caron et al. 2021; :mod:`..losses.dino`).

The student (backbone + :class:`..heads.dino_head.DINOHead`) sees every crop; the teacher,
an EMA of the student (cosine momentum 0.996 → 1), sees the global crops (the first two
views). The teacher's outputs are centred (a buffer updated with momentum 0.9 after each
loss) and sharpened (τ_t, linearly warmed up from ``warmup_teacher_temp``). The prototypes
get no gradient during the first ``freeze_last_layer_steps`` steps (the official code drops
their gradients; here the student uses a detached copy of the prototype weights, so the
optimiser skips them). The teacher's backbone is the evaluated encoder, as DINO's k-NN and
linear evaluations use the teacher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.dino_head import DINOHead
from ..heads.teacher import EMATeacher
from ..losses.dino import dino_loss, update_center
from ..ssl_configs import DINOConfig
from .views_base import Branch, ViewObjective, multi_res_forward

__all__ = ["DINO"]


class DINO(ViewObjective):
    method = "dino"

    def __init__(self, config: DINOConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        if self.views.num_views < 2 or self.views.crop_sets[0].size != 1.0:
            raise ConfigError(
                f"dino needs 2 global crops first; views={config.views!r} gives {self.views.num_views} views. "
                "Use objective_config.views=dino."
            )
        if config.teacher_temp <= 0 or config.student_temp <= 0 or config.warmup_teacher_temp <= 0:
            raise ConfigError("objective_config temperatures must be > 0. Use student_temp=0.1, teacher_temp=0.04.")
        head = DINOHead(encoder.embed_dim, config.out_dim, use_bn=config.use_bn_in_head,
                        norm_last_layer=config.norm_last_layer, hidden_dim=config.hidden_dim,
                        bottleneck_dim=config.bottleneck_dim)
        self.student = Branch(encoder, head)
        self.teacher = EMATeacher(self.student, config.momentum_teacher, 1.0)
        self.register_buffer("center", torch.zeros(1, config.out_dim))

    def teacher_temp(self, step: int) -> float:
        cfg = self.config
        if step > cfg.warmup_teacher_temp_steps or cfg.warmup_teacher_temp_steps <= 1:
            return cfg.teacher_temp
        t = (step - 1) / (cfg.warmup_teacher_temp_steps - 1)
        return cfg.warmup_teacher_temp + t * (cfg.teacher_temp - cfg.warmup_teacher_temp)

    def _student(self, x: torch.Tensor, frozen: bool) -> torch.Tensor:
        head: DINOHead = self.student.head
        hidden = F.normalize(head.mlp(self.encoder.forward_images(x)), dim=-1)
        weight = head.last_layer.weight
        return F.linear(hidden, weight.detach() if frozen else weight)

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        views = self.make_views(batch)
        frozen = step <= self.config.freeze_last_layer_steps
        student = multi_res_forward(lambda x: self._student(x, frozen), views)
        teacher = self.teacher(torch.cat(views[:2])).chunk(2)
        loss = dino_loss(student, teacher, self.center, student_temp=self.config.student_temp,
                         teacher_temp=self.teacher_temp(step))
        self.center.copy_(update_center(self.center, teacher, self.config.center_momentum))
        return {"loss": loss}

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        self.teacher.update(self.student, step - 1, max_steps)

    def evaluation_encoder(self) -> nn.Module:
        return self.teacher.network.backbone
