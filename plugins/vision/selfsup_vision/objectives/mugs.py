"""``mugs``: multi-granular self-supervised learning (Zhou et al. 2022, arXiv 2203.14415;
``sail-sg/mugs:src/model.py``, ``src/vision_transformer.py``, ``main.py::train_one_epoch``;
losses in :mod:`..losses.mugs`).

A ViT student and its EMA teacher (cosine momentum 0.996 → 1, over the backbone, the relation
block and the three heads) each compute, per crop, from the final block's tokens ``x`` (before
the final LayerNorm) and the normalised tokens ``n = norm(x)``:

* the class token ``n[:, 0]`` → the instance head (:class:`..heads.mugs.MugsProjector`) and the
  group head (DINO's :class:`..heads.dino_head.DINOHead`, 65,536 weight-normalised prototypes);
* the query ``mean(x)`` over **all** tokens (class token included, before the norm) with its
  ``top_k`` nearest rows in the branch's own memory (:class:`..heads.mugs.LocalGroupMemory`),
  through the relation block and the backbone's final norm → the local-group head;
* the mean patch token ``mean(n[:, 1:])`` of the global crops, stored into the memory after the
  step: the student's first global crop (when weakly augmented) into the student memory, the
  teacher's first global crop into the teacher memory.

The teacher sees the 2 global crops, the student every crop; the instance and local-group losses
use their own queue of teacher targets (initialised with random unit rows, as the official
buffers), the group loss a centre; the total is the mean of the active terms.

Deviations: the student's crops are DINO's weak crops only — the official student sees, with
probability 0.5 per image, a strong pair of global crops (DeiT RandAugment ``rand-m9-mstd0.5-inc1``,
translate 0.45, random erasing 0.25) and each local crop strong with probability 0.5; the view
presets have no RandAugment or random erasing, so this is the official
``--vanilla_weak_augmentation`` mode (the student's global crops are the teacher's crops and
every step writes the student memory). Schedules count steps, not epochs (the teacher
temperature warm-up, the frozen prototypes). The memory pointer moves by the rows written (see
:mod:`..heads.mugs`). The ViT is timm's (``qkv_bias`` true, LayerNorm ε 1e-6, as the official
``vit_small``); positional embeddings of the small crops are interpolated by timm.

Checked against the official code (``plugins/vision/tests/test_vision_mugs.py``, module docstring):
with this objective's weights copied into the official ``Mugs_Wrapper`` pair, ``vit_mem``
memories and losses, on one fixed input (2 global + 2 local crops, all 224 px), the instance /
local-group / group losses and the total are 5.5344057 / 5.3782406 / 2.3736038 / 4.4287500
(official) and 5.5344057 / 5.3782415 / 2.3736029 / 4.4287500 (here); every student gradient
agrees to 1.5e-6 relative; the memory rows, queues and centre after the step agree.
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
from ..heads.mugs import LocalGroupMemory, MugsProjector, RelationBlock
from ..heads.queue import FeatureQueue
from ..heads.teacher import EMATeacher
from ..losses.dino import update_center
from ..losses.mugs import infonce_keys, mugs_group_loss, mugs_infonce, mugs_total
from ..ssl_configs import MugsConfig
from .views_base import ViewObjective

__all__ = ["Mugs", "MugsNetwork", "vit_tokens"]


def vit_tokens(backbone: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The timm ViT's tokens after the last block, before its final norm (``forward_features``
    without ``norm``)."""
    trunk = backbone.trunk
    x = trunk.patch_embed(x)
    x = trunk._pos_embed(x)
    x = trunk.patch_drop(x)
    x = trunk.norm_pre(x)
    return trunk.blocks(x)


def _relation_block(trunk: nn.Module) -> nn.Module:
    """A fresh block shaped as the trunk's (no drop-path: the official ``dpr[0] = 0``)."""
    from timm.models.vision_transformer import Block

    first = trunk.blocks[0]
    block = Block(
        dim=trunk.embed_dim, num_heads=first.attn.num_heads,
        mlp_ratio=first.mlp.fc1.out_features / trunk.embed_dim,
        qkv_bias=first.attn.qkv.bias is not None, norm_layer=type(first.norm1),
    )
    for module in block.modules():
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    block.norm1.eps = block.norm2.eps = first.norm1.eps
    return block


class MugsNetwork(nn.Module):
    """Backbone + relation block + instance, local-group and group heads (``Mugs_Wrapper``)."""

    def __init__(self, backbone: nn.Module, config: MugsConfig) -> None:
        super().__init__()
        dim = backbone.embed_dim
        self.backbone = backbone
        self.relation = RelationBlock(_relation_block(backbone.trunk))
        heads = dict(hidden_dim=config.hidden_dim, pred_hidden_dim=config.pred_hidden_dim,
                     proj_bn=config.use_bn_in_head, norm_before_pred=config.norm_before_pred)
        self.instance_head = MugsProjector(dim, out_dim=config.instance_out_dim, **heads)
        self.local_group_head = MugsProjector(dim, out_dim=config.local_group_out_dim, **heads)
        self.group_head = DINOHead(dim, config.group_out_dim, use_bn=config.use_bn_in_head,
                                   norm_last_layer=config.norm_last_layer, hidden_dim=config.hidden_dim,
                                   bottleneck_dim=config.group_bottleneck_dim)

    def features(self, x: torch.Tensor, memory: LocalGroupMemory) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(class tokens, relation outputs, mean patch tokens) of one batch of same-size crops."""
        tokens = vit_tokens(self.backbone, x)
        normed = self.backbone.trunk.norm(tokens)
        query = tokens.mean(dim=1)
        relation = self.relation(query, memory.neighbours(query), self.backbone.trunk.norm)
        prefix = self.backbone.trunk.num_prefix_tokens
        return normed[:, 0], relation, normed[:, prefix:].mean(dim=1)

    def group(self, cls: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        head = self.group_head
        hidden = F.normalize(head.mlp(cls), dim=-1)
        weight = head.last_layer.weight
        return F.linear(hidden, weight.detach() if frozen else weight)

    def forward(self, views: list[torch.Tensor], memory: LocalGroupMemory, *, target: bool, frozen: bool = False):
        """Per view: instance, local-group and group outputs; and the mean patch tokens per view."""
        cls_parts, rel_parts, patch_parts = [], [], []
        start = 0
        while start < len(views):  # consecutive views of one size in one pass (official ``idx_crops``)
            end = start
            while end < len(views) and views[end].shape[-2:] == views[start].shape[-2:]:
                end += 1
            cls, rel, patches = self.features(torch.cat(views[start:end]), memory)
            cls_parts.append(cls), rel_parts.append(rel), patch_parts.append(patches)
            start = end
        n = len(views)
        cls, rel = torch.cat(cls_parts), torch.cat(rel_parts)
        instance = self.instance_head(cls, target).chunk(n)
        local_group = self.local_group_head(rel, target).chunk(n)
        group = self.group(cls, frozen).chunk(n)
        return instance, local_group, group, torch.cat(patch_parts).chunk(n)


class Mugs(ViewObjective):
    method = "mugs"

    def __init__(self, config: MugsConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        if not (hasattr(encoder, "trunk") and hasattr(encoder.trunk, "blocks") and hasattr(encoder.trunk, "patch_embed")):
            raise ConfigError(
                f"mugs needs a ViT encoder (its relation block and memory use the patch tokens); got "
                f"{getattr(encoder, 'family', type(encoder).__name__)}. Use encoder=vit-tiny, vit-small or vit-base."
            )
        if self.views.num_views < 3 or self.views.crop_sets[0].size != 1.0:
            raise ConfigError(
                f"mugs needs 2 global crops first and at least one local crop; views={config.views!r} gives "
                f"{self.views.num_views} views. Use objective_config.views=dino with local_crops >= 1."
            )
        if len(config.loss_weights) != 3 or min(config.loss_weights) < 0 or sum(config.loss_weights) <= 0:
            raise ConfigError(
                f"objective_config.loss_weights={config.loss_weights} must be 3 non-negative numbers, one > 0. "
                "Use loss_weights=[1, 1, 1]."
            )
        temps = (config.instance_temp, config.local_group_temp, config.group_student_temp,
                 config.group_teacher_temp, config.group_warmup_teacher_temp)
        if min(temps) <= 0:
            raise ConfigError("objective_config temperatures must be > 0. Use instance_temp=0.2, group_teacher_temp=0.04.")
        if not 1 <= config.local_group_top_k <= config.local_group_queue_size:
            raise ConfigError(
                f"objective_config.local_group_top_k={config.local_group_top_k} must be in "
                f"[1, local_group_queue_size={config.local_group_queue_size}]. Use local_group_top_k=8."
            )
        self.student = MugsNetwork(encoder, config)
        self.teacher = EMATeacher(self.student, config.momentum_teacher, 1.0)
        dim = encoder.embed_dim
        self.student_memory = LocalGroupMemory(config.local_group_queue_size, dim, config.local_group_top_k)
        self.teacher_memory = LocalGroupMemory(config.local_group_queue_size, dim, config.local_group_top_k)
        self.instance_queue = self._random_queue(config.instance_queue_size, config.instance_out_dim)
        self.local_group_queue = self._random_queue(config.local_group_queue_size, config.local_group_out_dim)
        self.register_buffer("center", torch.zeros(1, config.group_out_dim))

    @staticmethod
    def _random_queue(size: int, dim: int) -> FeatureQueue:
        """A full queue of random unit rows (the official ``InfoNCELoss`` buffer)."""
        queue = FeatureQueue(size, dim)
        queue.bank.copy_(F.normalize(torch.randn(size, dim), dim=-1))
        queue.filled.fill_(size)
        return queue

    def teacher_temp(self, step: int) -> float:
        cfg = self.config
        if step > cfg.group_warmup_teacher_temp_steps or cfg.group_warmup_teacher_temp_steps <= 1:
            return cfg.group_teacher_temp
        t = (step - 1) / (cfg.group_warmup_teacher_temp_steps - 1)
        return cfg.group_warmup_teacher_temp + t * (cfg.group_teacher_temp - cfg.group_warmup_teacher_temp)

    def losses(self, views: list[torch.Tensor], *, step: int) -> dict[str, torch.Tensor]:
        """The three terms and the total of one step; updates the queues, the centre and the memories."""
        cfg = self.config
        with torch.no_grad():
            t_ins, t_lg, t_grp, t_patch = self.teacher.network(views[:2], self.teacher_memory, target=True)
        frozen = step <= cfg.freeze_last_layer_steps
        s_ins, s_lg, s_grp, s_patch = self.student(views, self.student_memory, target=False, frozen=frozen)
        terms = {
            "instance": mugs_infonce(s_ins, t_ins, self.instance_queue.bank, temperature=cfg.instance_temp),
            "local_group": mugs_infonce(s_lg, t_lg, self.local_group_queue.bank, temperature=cfg.local_group_temp),
            "group": mugs_group_loss(s_grp, t_grp, self.center, student_temp=cfg.group_student_temp,
                                     teacher_temp=self.teacher_temp(step)),
        }
        weights = dict(zip(terms, cfg.loss_weights))
        active = {name: value for name, value in terms.items() if weights[name] > 0}
        out = {"loss": mugs_total(active, weights), **{f"loss_{k}": v.detach() for k, v in active.items()}}
        with torch.no_grad():
            if weights["instance"] > 0:
                self.instance_queue.push(infonce_keys(t_ins))
            if weights["local_group"] > 0:
                self.local_group_queue.push(infonce_keys(t_lg))
            if weights["group"] > 0:
                self.center.copy_(update_center(self.center, t_grp, cfg.center_momentum))
            self.student_memory.push(s_patch[0])
            self.teacher_memory.push(t_patch[0])
        return out

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        return self.losses(self.make_views(batch), step=step)

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        self.teacher.update(self.student, step - 1, max_steps)

    def evaluation_encoder(self) -> nn.Module:
        return self.teacher.network.backbone
