"""``obow``: Online Bag-of-Visual-Words generation (Gidaris et al., CVPR 2021; ``valeoai/obow``,
``obow/builder_obow.py``; :mod:`..losses.obow`, :mod:`..heads.obow`).

One training step, in the official order (``OBoW.forward``):

1. the student's word weights come from the vocabularies *before* this step's update
   (``get_dictionary`` is a copy), one :class:`..heads.obow.WeightGenerator` per level;
2. the student (the encoder) pools each crop — the ``obow`` view preset: 2 crops of 160/224 of
   the side and 5 patches of 96/224 (same-size crops go through the network together, as the
   official per-crop-type forward) — and predicts ``κ·⟨f, w_k⟩`` per level;
3. the teacher, an EMA of the encoder (:class:`..heads.teacher.EMATeacher`, cosine momentum
   0.99 → 1), sees the image with a random flip (the official "original" view: Resize 256,
   CenterCrop 224, flip; here the whole image at the data's side) and gives ``block3``/``block4``
   maps (:meth:`..encoders.backbones.ImageBackbone.feature_maps`); per level: border dropped,
   distances to the current words, μ updated (the batch mean averaged over ranks), one 3×3-pooled local feature per image enqueued
   (all ranks' gathered), and the BoW target from the updated μ;
4. loss: Σ over crop types of the mean over levels of ``KL(y ‖ softmax(z))`` (batchmean).

The step also reports the BoW perplexity per level (``perp_b_<level>`` of the batch,
``perp_i_<level>`` per image; official ``compute_bow_perplexity``). The student's encoder is the
evaluated one, as the official linear evaluations use the student.

Deliberate deviations (checked in ``plugins/vision/tests/test_vision_obow.py``):

* **Teacher update after the optimiser step.** The official code moves the teacher towards the
  pre-step student at the start of each step (α of iteration ``i``, from 0); here, as ``byol``
  and ``dino`` do, the teacher moves towards the post-step student after each step (α of the
  0-based step), so the targets of step ``t + 1`` come from the same EMA of the same students; only
  the schedule index differs by one step.
* **Small images.** With ``drop_border=null`` the border is dropped only on maps of at least 5 px
  a side, and the vocabulary's 3×3 pooling shrinks to the map's side on smaller maps: on 16-px
  images a CIFAR-stem ResNet's ``block3``/``block4`` maps are 4×4 and 2×2, which the official
  border drop would empty. At ImageNet scale (14×14, 7×7) both rules are the official ones.
* **Patches.** 5 independent random crops of a grid cell's area instead of 5 of the 9 cells of a
  jittered grid (see :mod:`..views.policies`, ``obow``).
* **No linear classifier** on the teacher's features (the official one is for monitoring only).
* **Image normalisation**: the vision datasets' ``[-1, 1]`` convention instead of ImageNet's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, StepOutput

from ..heads.obow import BoWVocabulary, WeightGenerator, sample_local_words
from ..heads.queue import gather_rows
from ..heads.teacher import EMATeacher
from ..losses.obow import (
    bow_logits,
    bow_perplexity,
    bow_target,
    drop_border,
    min_distance_mean,
    obow_loss,
    squared_distances,
    update_min_distance_mean,
)
from ..ssl_configs import OBoWConfig
from .views_base import ViewObjective, multi_res_forward

__all__ = ["OBoW", "LEVELS", "teacher_view"]

#: The levels :meth:`ImageBackbone.feature_maps` returns, in order.
LEVELS = ("block3", "block4")


def teacher_view(x: torch.Tensor) -> torch.Tensor:
    """The teacher's view: each image flipped horizontally with probability 1/2, nothing else."""
    flip = torch.rand(x.shape[0], device=x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)


class OBoW(ViewObjective):
    method = "obow"

    def __init__(self, config: OBoWConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder, config, data_info)
        if not str(getattr(encoder, "family", "")).startswith("resnet"):
            raise ConfigError(
                f"obow builds its targets on ResNet stages (block3/block4); encoder family "
                f"{getattr(encoder, 'family', type(encoder).__name__)!r} has none. Use encoder=resnet18 or encoder=resnet50."
            )
        levels = list(config.bow_levels)
        if not levels or len(set(levels)) != len(levels) or any(level not in LEVELS for level in levels):
            raise ConfigError(
                f"objective_config.bow_levels={levels} must name distinct levels among {list(LEVELS)}. "
                "Use bow_levels=[block3, block4]."
            )
        if config.num_words < 1 or config.inv_delta <= 0 or config.kappa <= 0 or not 0.0 <= config.mu_decay < 1.0:
            raise ConfigError(
                "objective_config.num_words must be >= 1, inv_delta and kappa > 0 and 0 <= mu_decay < 1. "
                "Use num_words=8192, inv_delta=10, kappa=5, mu_decay=0.99."
            )
        if not 0.0 <= config.momentum_base <= config.momentum_final <= 1.0:
            raise ConfigError(
                f"objective_config.momentum_base={config.momentum_base}, momentum_final={config.momentum_final}: "
                "need 0 <= base <= final <= 1. Use momentum_base=0.99, momentum_final=1.0."
            )
        channels = encoder.feature_map_channels()
        self.level_index = [LEVELS.index(level) for level in levels]
        self.vocabularies = nn.ModuleList(
            [BoWVocabulary(config.num_words, channels[i], config.mu_decay) for i in self.level_index]
        )
        self.generators = nn.ModuleList([WeightGenerator(channels[i], encoder.embed_dim) for i in self.level_index])
        self.teacher = EMATeacher(encoder, config.momentum_base, config.momentum_final)

    def _border(self, features: torch.Tensor) -> int:
        drop = self.config.drop_border
        if drop is None:
            drop = min(features.shape[-2:]) >= 5
        return 1 if drop else 0

    @torch.no_grad()
    def teacher_targets(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The ``[B, K]`` BoW target per level of the teacher's view ``image``; in training mode
        it also updates each level's μ and enqueues one local feature per image."""
        maps = self.teacher.network.feature_maps(image)
        targets = []
        for vocab, i in zip(self.vocabularies, self.level_index):
            features = drop_border(maps[i], self._border(maps[i]))
            dist = squared_distances(features, vocab.words)
            if self.training:
                batch_mean = gather_rows(min_distance_mean(dist).view(1)).mean()  # all ranks' mean, as the official reduce_all
                vocab.mu.copy_(update_min_distance_mean(vocab.mu, batch_mean, vocab.decay))
                vocab.push(sample_local_words(features))
            targets.append(bow_target(dist, vocab.mu, self.config.inv_delta))
        return targets

    def bow_predictions(self, crop_types: Sequence[Sequence[torch.Tensor]], words: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """``logits[c][l]``: crop type ``c``'s ``[n_c·B, K]`` logits (view-major) at level ``l``."""
        weights = [gen(w) for gen, w in zip(self.generators, words)]
        flat = [v for views in crop_types for v in views]
        pooled = multi_res_forward(self.encoder.forward_images, flat)
        out, start = [], 0
        for views in crop_types:
            f = torch.cat(pooled[start:start + len(views)])
            start += len(views)
            out.append([bow_logits(f, w, self.config.kappa) for w in weights])
        return out

    def loss_from_views(
        self, image: torch.Tensor, crop_types: Sequence[Sequence[torch.Tensor]]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(loss, targets)`` of one step given the teacher's view and the student's crops grouped by type."""
        words = [vocab.words.clone() for vocab in self.vocabularies]
        logits = self.bow_predictions(crop_types, words)
        targets = self.teacher_targets(image)
        return obow_loss(logits, targets), targets

    def crop_types(self, views: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        groups, start = [], 0
        for crop in self.views.crop_sets:
            groups.append(list(views[start:start + crop.count]))
            start += crop.count
        return groups

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        views = self.make_views(batch)
        image = teacher_view(batch["x"])
        loss, targets = self.loss_from_views(image, self.crop_types(views))
        out: StepOutput = {"loss": loss}
        for level, target in zip(self.config.bow_levels, targets):
            per_batch, per_image = bow_perplexity(target)
            out[f"perp_b_{level}"] = torch.tensor(per_batch)
            out[f"perp_i_{level}"] = torch.tensor(per_image)
        return out

    def on_step_end(self, *, step: int, max_steps: int) -> None:
        self.teacher.update(self.encoder, step - 1, max_steps)
