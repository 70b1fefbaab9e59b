"""``sla`` / ``sla-sd``: fine-tuning with self-supervised label augmentation (Lee et al., ICML 2020).

Every training image is expanded into its M rotations (``hankook/SLA:augmentations.py``:
``torch.rot90(x, k, (2, 3))``, interleaved per image); one head scores the N·M joint
(class, rotation) labels (:mod:`.sla_joint`). Scores for validation and the report follow
``inference``: aggregated over rotations (SLA+AG), the unrotated image's identity columns
(SLA+SI), or SLA+SD's single head (:mod:`.sla_distillation`), which needs one forward pass.

Rotations make sense for images only: the strategy needs ``batch[input_key]`` shaped
``[N, C, H, W]`` with ``H == W`` and says so with a :class:`~selfsup.errors.DatasetError`
otherwise (e.g. on tabular rows or graphs).
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import DatasetError
from ...interfaces import Batch
from ..fine_tune_strategy import FineTuneRun
from .configs import SLA_TRANSFORMS, SLAConfig
from .sla_distillation import sla_distillation_loss
from .sla_joint import aggregate_joint_logits, sla_joint_loss

__all__ = ["SLA", "rotations"]


def rotations(images: torch.Tensor, quarter_turns: tuple[int, ...]) -> torch.Tensor:
    """``[B, C, H, W] → [B·M, C, H, W]``: row ``i·M + j`` is image i turned by ``quarter_turns[j]``·90°."""
    stacked = torch.stack([torch.rot90(images, k, (2, 3)) for k in quarter_turns], dim=1)
    return stacked.reshape(-1, *images.shape[1:])


class SLA:
    """The ``sla`` and ``sla-sd`` strategies (classification only)."""

    tasks = frozenset({"classification"})

    def __init__(self, config: SLAConfig | None = None) -> None:
        self.config = config or SLAConfig()
        self.turns = SLA_TRANSFORMS[self.config.transform]

    @property
    def transforms(self) -> int:
        return len(self.turns)

    def build_head(self, embed_dim: int, outputs: int) -> nn.Module:
        heads = {"joint": nn.Linear(embed_dim, outputs * self.transforms)}
        if self.config.self_distillation:
            heads["single"] = nn.Linear(embed_dim, outputs)
        return nn.ModuleDict(heads)

    def _images(self, run: FineTuneRun, batch: Batch) -> torch.Tensor:
        key = self.config.input_key
        images = batch.get(key)
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[2] != images.shape[3]:
            shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise DatasetError(
                f"fine-tune strategy 'sla' rotates square images, but batch key '{key}' of dataset {run.dataset} "
                f"is {shape}, not [N, C, H, W] with H == W. Use evaluator_config.fine-tune.strategy=core-tuning "
                "(any modality) or cross-entropy for non-image data."
            )
        return images

    def _joint(self, run: FineTuneRun, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(joint logits [B·M, N·M], embeddings [B·M, d], labels [B])``."""
        expanded = rotations(self._images(run, batch), self.turns)
        embeddings, _ = run.embed({**batch, self.config.input_key: expanded})
        labels = batch["label"] if "label" in batch else run.embed(batch)[1]
        return run.head["joint"](embeddings), embeddings, torch.as_tensor(labels).long()

    def training_loss(self, run: FineTuneRun, batch: Batch) -> torch.Tensor:
        joint, embeddings, labels = self._joint(run, batch)
        loss = sla_joint_loss(joint, labels, self.transforms, large_loss=self.config.large_loss)
        if self.config.self_distillation:
            single = run.head["single"](embeddings[0:: self.transforms])
            aggregated = aggregate_joint_logits(joint, self.transforms)
            loss = loss + sla_distillation_loss(single, aggregated, labels, self.config.temperature)
        return loss

    def predict(self, run: FineTuneRun, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        mode = self.config.inference
        if mode == "aggregated":
            joint, _, labels = self._joint(run, batch)
            return aggregate_joint_logits(joint, self.transforms), labels
        self._images(run, batch)
        embeddings, labels = run.embed(batch)
        if mode == "distilled":
            return run.head["single"](embeddings), labels
        return run.head["joint"](embeddings)[:, 0:: self.transforms], labels  # SLA+SI: identity columns
