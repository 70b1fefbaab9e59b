"""``myow``: Mine Your Own vieW (Azabou et al. 2021, arXiv 2102.10106; ``nerdslab/myow``).

BYOL (:class:`.byol.BYOL`: online encoder → projector → predictor regressing an EMA target's
projections of the other view) plus a *mined-view* loss, in the official "cascaded" layout
(``self_supervised/model/double_byol.py``, ``myow_factory.py``, ``trainer/myow_trainer.py``):

1. two light views (crop scale (0.8, 1) and flip: ``transform_m``) of the step's images: the
   *anchors* go through the **online** encoder (``y``), the *pool* through the **target**
   encoder (``y'``), gathered from every rank (:func:`..heads.queue.gather_rows`; the identity in
   one process), as the official code all-gathers ``target_y_pool``;
2. each anchor mines one of its ``mined_k`` nearest pool rows (:func:`..heads.mining.mine_views`,
   distance ``2 − 2·cos`` between ``y`` and ``y'``), never its own image;
3. the online ``predictor_m(projector_m(projector(y)))`` regresses the target's
   ``projector_m'(projector'(y'_mined))`` (``projector_m``/``predictor_m``: MLPs 1024 → 64; the
   target projector_m is an EMA of the online one with the same schedule);
4. loss ``1/(1+w)·BYOL_sym + w/(1+w)·L_mined`` (:func:`..losses.myow.myow_loss`), with ``w``
   0 for the first ``mined_warmup`` of the run, then linear to ``mined_max_weight`` at
   ``mined_rampup_end`` (:func:`..losses.myow.mined_loss_weight`). While ``w = 0`` nothing is mined.

The weight for the next step is computed in :meth:`on_step_end` (which knows the run's length)
and kept in the buffer ``mined_weight``, so a resumed run continues the ramp.

Deliberate deviations from the official code (each checked or argued in
``plugins/vision/tests/test_vision_myow.py``):

* **The candidate pool is the step's batch.** The official trainer draws the pool from a second
  iterator over the *same* ``DataLoader`` (``view_pool_dataloader=dataloader`` in
  ``scripts/cifar-train.py``); its ``DistributedSampler`` yields the same seeded order to both
  iterators, so each step's pool holds exactly the anchors' images (every GPU's, gathered) under
  an independent light augmentation, and nothing stops an anchor from mining its own image. Here
  the pool is the same set of images, and each anchor's own image is excluded (the paper mines
  views *across* samples; with k = 1 and light crops, an anchor's own image is usually its
  nearest neighbour).
* **Per-sample light augmentation.** The official ``transform_m`` applies torchvision
  transforms to a whole batch tensor, so every image of a batch gets the same crop and flip; here
  each image draws its own (the view pipeline's convention).
* **Idle mined heads.** While ``w = 0`` the mined heads get no gradient, as in the official code;
  but torch's fused SGD with momentum (the engine's SGD on the CPU and CUDA) raises a
  ``TypeError`` when a parameter receives its first gradient after the others already have
  momentum buffers. So the first step this objective trains with ``w = 0`` gives the mined heads
  a zero gradient (``0 · Σ θ``): their momentum buffers exist from then on, and that one step
  applies weight decay to them once (a relative change of ``lr₁ · weight_decay``, 1e-5 at the
  default schedule's first step).
* **One backward.** The official trainer back-propagates the two BYOL halves and the mined loss
  separately before one optimiser step; the sum here has the same gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import torch
from torch import nn

from selfsup.engine.distributed import rank_offset
from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.mining import mine_views
from ..heads.mlp import mlp
from ..heads.queue import gather_rows
from ..heads.teacher import EMATeacher
from ..losses.myow import mined_loss_weight, myow_loss
from ..ssl_configs import MYOWConfig
from ..views.multicrop import MultiCrop
from ..views.policies import CropSet, ViewPolicy
from .byol import BYOL

__all__ = ["MYOW", "LIGHT_POLICY"]

#: The mining views' policy (official ``transform_m``): flip only, no photometric change.
LIGHT_POLICY = ViewPolicy(flip_p=0.5, jitter_p=0.0, gray_p=0.0, blur_p=0.0, solarize_p=0.0)


def _forget_weight(module: nn.Module, incompatible_keys: object) -> None:
    module._weight = None  # type: ignore[assignment]


class MYOW(BYOL):
    method = "myow"
    default_views = "simclr"

    def __init__(self, config: MYOWConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(config, encoder, data_info)
        if config.mined_k < 1:
            raise ConfigError(f"objective_config.mined_k={config.mined_k} must be >= 1. Use mined_k=1 (the CIFAR setting).")
        if not 0.0 <= config.mined_warmup <= config.mined_rampup_end:
            raise ConfigError(
                f"objective_config.mined_warmup={config.mined_warmup}, mined_rampup_end={config.mined_rampup_end}: "
                "need 0 <= mined_warmup <= mined_rampup_end (fractions of the run). Use 0.125 and 0.1375."
            )
        if config.mined_max_weight < 0:
            raise ConfigError(f"objective_config.mined_max_weight={config.mined_max_weight} must be >= 0. Use 1.0.")
        scale = tuple(float(s) for s in config.mined_scale)
        if len(scale) != 2 or not 0.0 < scale[0] <= scale[1] <= 1.0:
            raise ConfigError(
                f"objective_config.mined_scale={list(config.mined_scale)} must be [low, high] with "
                "0 < low <= high <= 1. Use [0.8, 1.0]."
            )
        self.light = MultiCrop((CropSet(1, 1.0, (scale[0], scale[1]), LIGHT_POLICY),))
        self.projector_m = mlp(config.proj_dim, config.mined_hidden_dim, config.mined_proj_dim)
        self.predictor_m = mlp(config.mined_proj_dim, config.mined_hidden_dim, config.mined_proj_dim)
        self.target_m = EMATeacher(self.projector_m, config.momentum_base, config.momentum_final)
        first = self._weight_at(0, 1)  # step 0's weight does not depend on the run's length
        self.register_buffer("mined_weight", torch.tensor(first))
        self._weight: Optional[float] = first
        self.register_load_state_dict_post_hook(_forget_weight)  # a resumed run reads the buffer
        self._heads_touched = False

    def _weight_at(self, step: int, total_steps: int) -> float:
        cfg = self.config
        return mined_loss_weight(step, total_steps, cfg.mined_warmup, cfg.mined_rampup_end, cfg.mined_max_weight)

    def current_weight(self) -> float:
        """The mined-loss weight of this step (one host read after a resume, else none)."""
        if self._weight is None:
            self._weight = float(self.mined_weight)
        return self._weight

    def light_views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two independent light views of ``x`` (official ``transform_m``): the anchors and the pool."""
        return self.light(x)[0][0], self.light(x)[0][0]

    def mined_pair(
        self, anchors: torch.Tensor, pool: torch.Tensor, exclude: Optional[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(q_m, v_m, mined)``: the online mined-head predictions of ``anchors``, the target's
        projections of their mined views and the mined rows of the (all-ranks) ``pool``
        (steps 1-3 of the module docstring); ``exclude[i]``: the pool row anchor ``i`` may not mine."""
        y = self.encoder.forward_images(anchors)
        target = self.target.network
        with torch.no_grad():
            y_pool = gather_rows(target.backbone.forward_images(pool))
            mined = mine_views(y.detach(), y_pool, self.config.mined_k, exclude=exclude)
            v_m = self.target_m.network(target.head(y_pool[mined]))
        q_m = self.predictor_m(self.projector_m(self.online.head(y)))
        return q_m, v_m, mined

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        v1, v2 = self.make_views(batch)
        p1, p2 = self.predictor(self.online(v1)), self.predictor(self.online(v2))
        z1, z2 = self.target(v1), self.target(v2)
        weight = self.current_weight()
        q_m = v_m = None
        if weight > 0:
            anchors, pool = self.light_views(batch["x"])
            own = rank_offset(anchors.shape[0]) + torch.arange(anchors.shape[0], device=anchors.device)
            q_m, v_m, _ = self.mined_pair(anchors, pool, exclude=own)
        loss, byol, mined = myow_loss(p1, p2, z1, z2, weight, q_m, v_m)
        if not self._heads_touched:
            self._heads_touched = True
            if q_m is None:  # see "Idle mined heads" in the module docstring
                loss = loss + 0.0 * sum(p.sum() for p in (*self.projector_m.parameters(), *self.predictor_m.parameters()))
        out: StepOutput = {"loss": loss, "loss_byol": byol.detach(), "mined_weight": self.mined_weight.clone()}
        if mined is not None:
            out["loss_mined"] = mined.detach()
        return out

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        super().on_step_end(step=step, max_steps=max_steps)
        self.target_m.update(self.projector_m, step - 1, max_steps)
        self._weight = self._weight_at(step, max_steps)  # the next step's (0-based index ``step``)
        self.mined_weight.fill_(self._weight)
