"""``core-tuning``: contrast-regularised fine-tuning (Zhang et al., NeurIPS 2021), ``Vanint/Core-tuning``.

Heads on the embeddings ``f``: a bias-free linear classifier and a contrastor (Linear d→d, ReLU,
Linear d→``contrast_dim``, L2-normalised). Per batch, the enlarged set of 3B features and soft
labels (:func:`.core_mixup.core_tuning_feature_set`: detached originals, hard negatives, hard
positives) gives

``L = mean_r −Σ_c ỹ_rc log softmax(W f̃_r)_c + η · L_focal-SupCon(contrastor(f̃), ỹ)``

where the focal SupCon's classes are the distinct soft-label rows (identical rows = one class;
the official code encodes each row as ``Σ_c ỹ_c 10^c`` and label-encodes that, which agrees
except where float sums collide). Predictions: ``W f`` on the unmixed features. Works on any
modality's encoder (it mixes embeddings, not inputs); classification only.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...interfaces import Batch
from ..fine_tune_strategy import FineTuneRun
from .configs import CoreTuningConfig
from .core_mixup import core_tuning_feature_set
from .focal_supcon import focal_supcon_loss

__all__ = ["CoreTuning", "Contrastor"]


class Contrastor(nn.Module):
    """``normalize(Linear(relu(Linear(x))))`` (the official ``Contrastor``)."""

    def __init__(self, embed_dim: int, out_dim: int) -> None:
        super().__init__()
        self.input = nn.Linear(embed_dim, embed_dim)
        self.output = nn.Linear(embed_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.output(F.relu(self.input(x))), dim=1)


class CoreTuning:
    """The ``core-tuning`` strategy."""

    tasks = frozenset({"classification"})

    def __init__(self, config: CoreTuningConfig | None = None) -> None:
        self.config = config or CoreTuningConfig()

    def build_head(self, embed_dim: int, outputs: int) -> nn.Module:
        return nn.ModuleDict({
            "classifier": nn.Linear(embed_dim, outputs, bias=False),
            "contrastor": Contrastor(embed_dim, self.config.contrast_dim),
        })

    def training_loss(self, run: FineTuneRun, batch: Batch) -> torch.Tensor:
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=run.generator)))  # seeded per run
        features, labels = run.embed(batch)
        cfg = self.config
        mixed, soft = core_tuning_feature_set(
            features, labels.long(), run.outputs, rng, alpha=cfg.alpha, negative_min_weight=cfg.negative_min_weight
        )
        classification = -(F.log_softmax(run.head["classifier"](mixed), dim=1) * soft).sum(dim=1).mean()
        classes = torch.unique(soft.detach(), dim=0, return_inverse=True)[1]
        contrastive = focal_supcon_loss(run.head["contrastor"](mixed), classes, cfg.temperature)
        return classification + cfg.eta * contrastive

    def predict(self, run: FineTuneRun, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        features, labels = run.embed(batch)
        return run.head["classifier"](features), labels
