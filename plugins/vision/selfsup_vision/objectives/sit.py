"""``sit``: SiT, self-supervised vision transformer, GMML version (Atito, Awais, Kittler,
arXiv 2104.03602; ``Sara-Ahmed/SiT@7f22e9c``: ``main.py``, ``vision_transformer.py``,
``datasets/datasets_utils.py``).

Two global views of each image are corrupted with GMML (:mod:`..views.gmml`: zeroed random
blocks over about half of each view, then with probability ½ a re-corruption with blocks of
another image of the batch). The student (a ViT; :class:`..heads.sit.SiTReconHead` on the patch
tokens, :func:`..heads.sit.sit_cls_head` on the [CLS] token) sees the corrupted views; the
teacher, an EMA of the student (cosine momentum 0.996 → 1), sees the clean views and gives only
its CLS projection. The loss (:mod:`..losses.sit`) is ``L = c(s₁, t₂) + c(s₂, t₁) + λ·L_rec``,
with the teacher's keys gathered across ranks (``needs_gather``).

**Comparison with the official code** (run on CPU in a scratch folder, not committed): the
official ``CLSHead``/``RECHead`` with their weights copied into ours give identical outputs
(max |Δ| 0.0), the official ``SimCLR`` loss (world size 1, gloo) and masked L1 agree with ours
to float32 rounding (numbers in ``tests/test_vision_sit.py``).

Deviations: the corruption runs on the view tensors inside the training step (the official
code corrupts in the data loader and the collate function; the same operations), seeded by
torch's generator; the backbone is timm's ViT (the official uses its own DeiT-style copy with
the same layout), so the teacher is a deep copy that keeps the student's ``drop_path_rate``
(the official teacher has none); the CLS head sees the normalised [CLS] token and the
reconstruction head the normalised patch tokens (timm's ``forward_features``, as the official
``forward``). The teacher's backbone is the evaluated encoder (the official linear evaluation
loads the teacher, as DINO's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.engine.distributed import rank_offset
from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.sit import SiTReconHead, sit_cls_head
from ..heads.teacher import EMATeacher
from ..losses.sit import masked_l1, sit_contrastive, sit_loss
from ..ssl_configs import SiTConfig
from ..views.gmml import gmml_corrupt, gmml_replace
from .views_base import ViewObjective

__all__ = ["SiT", "SiTNetwork"]


class SiTNetwork(nn.Module):
    """A ViT backbone with SiT's CLS and reconstruction heads (the official ``FullPipline``)."""

    def __init__(self, backbone: nn.Module, cls_head: nn.Module, rec_head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.cls_head = cls_head
        self.rec_head = rec_head

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.trunk.forward_features(x)

    def forward(self, x: torch.Tensor, recons: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        tokens = self.tokens(x)
        z = self.cls_head(tokens[:, 0])
        if not recons:
            return z, None
        prefix = int(getattr(self.backbone.trunk, "num_prefix_tokens", 1))
        rec = self.rec_head(tokens[:, prefix:])
        return z, rec[..., : x.shape[-2], : x.shape[-1]]


class SiT(ViewObjective):
    method = "sit"
    needs_gather = True

    def __init__(self, config: SiTConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        family = str(getattr(encoder, "family", ""))
        if not family.startswith("vit-") or not hasattr(getattr(encoder, "trunk", None), "patch_embed"):
            raise ConfigError(
                "sit needs a ViT encoder (its reconstruction head decodes patch tokens); "
                f"got {family or type(encoder).__name__}. "
                "Use encoder=vit-small (or vit-tiny / vit-base)."
            )
        if self.views.num_views != 2:
            raise ConfigError(
                f"sit uses exactly 2 global views; views={config.views!r} gives {self.views.num_views}. "
                "Use objective_config.views=dino with objective_config.local_crops=0."
            )
        if config.temperature <= 0:
            raise ConfigError(f"objective_config.temperature={config.temperature} must be > 0. Use 0.2.")
        if not 0.0 <= config.drop_perc < 1.0 or not 0.0 <= config.drop_replace < 1.0 or config.drop_align < 1:
            raise ConfigError(
                f"objective_config.drop_perc={config.drop_perc}, drop_replace={config.drop_replace}, drop_align="
                f"{config.drop_align}: need shares in [0, 1) and align >= 1. Use drop_perc=0.5, drop_replace=0.3, drop_align=1."
            )
        patch = encoder.trunk.patch_embed.patch_size
        patch = int(patch[0] if isinstance(patch, (tuple, list)) else patch)
        channels = int(data_info.get("channels", 3))
        self.student = SiTNetwork(encoder, sit_cls_head(encoder.embed_dim, config.hidden_dim, config.out_dim),
                                  SiTReconHead(encoder.embed_dim, channels, patch))
        self.teacher = EMATeacher(self.student, config.momentum_teacher, 1.0)

    def corrupt(self, views: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """GMML corruption of each view, then the collate-time replacement; ``(corrupted, masks)``."""
        cfg = self.config
        corrupted, masks = [], []
        for v in views:
            c, m = gmml_corrupt(v, cfg.drop_perc, align=cfg.drop_align)
            c, m = gmml_replace(v, c, m, cfg.drop_replace, align=cfg.drop_align)
            corrupted.append(c)
            masks.append(m)
        return corrupted, masks

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        clean = self.make_views(batch)
        corrupted, masks = self.corrupt(clean)
        clean_all = torch.cat(clean)
        s, recon = self.student(torch.cat(corrupted))
        with torch.no_grad():
            t, _ = self.teacher.network(clean_all, recons=False)
        s1, s2 = s.chunk(2)
        t1, t2 = t.chunk(2)
        l_con = sit_contrastive(s1, s2, t1, t2, temperature=self.config.temperature,
                                t1_all=self.gather(t1), t2_all=self.gather(t2), offset=rank_offset(s1.shape[0]))
        l_rec = masked_l1(recon, clean_all, torch.cat(masks))
        loss = sit_loss(l_con, l_rec, self.config.lmbda)
        return {"loss": loss, "contrastive": l_con.detach(), "reconstruction": l_rec.detach()}

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        self.teacher.update(self.student, step - 1, max_steps)

    def evaluation_encoder(self) -> nn.Module:
        return self.teacher.network.backbone
