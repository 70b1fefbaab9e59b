"""Centroid anomaly scoring (CLAN's binary evaluation), usable with any encoder.

Protocol (jackwilkie/CLAN @ 680ab61, ``eval_clan.py:centroid_eval``,
``util/distance.py:chunked_centroid_sims``):

1. Embed the benign rows of the reference split (``"train"``): rows whose label
   equals ``data.info["benign_label"]`` (0 by default), or every row when the
   split carries no labels. μ₀ = their mean embedding.
2. Score every row z of ``config.split`` by its cosine distance to the centroid,
   s(z) = 1 − cos(z, μ₀) — a monotone map of CLAN's −cos, so the AUROC is the
   same; O(1) per row.
3. Report ``auroc``: ROC-AUC of attack (label ≠ benign) against benign rows.
   When the split has several attack classes, also ``auroc_class_<c>`` (benign
   against class c only) and their mean ``mean_class_auroc`` (the paper's
   headline "mean AUROC").

Deviation: the official ``util/metrics.py:mean_auroc`` reports max(AUC, 1 − AUC)
per class (``include_lower_thres=True``); this evaluator reports the AUC as
measured (an inverted scorer shows up below 0.5 instead of being flipped).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ComponentError
from selfsup.evaluation import metrics
from selfsup.evaluation.features import dataset_name, extract_features
from selfsup.interfaces import DataSource, Evaluator

from ..configs import CentroidAnomalyConfig

__all__ = ["CentroidAnomalyConfig", "CentroidAnomaly", "centroid_cosine_scores"]

_NAME = "centroid-anomaly"


def centroid_cosine_scores(features: torch.Tensor, centroid: torch.Tensor) -> torch.Tensor:
    """``1 − cos(z_i, μ₀)`` per row of ``features`` [N, D] (higher = more anomalous)."""
    return 1.0 - F.cosine_similarity(features.float(), centroid.float().unsqueeze(0), dim=1)


class CentroidAnomaly(Evaluator):
    """ROC-AUC of cosine distance to the benign centroid (registered as ``centroid-anomaly``)."""

    config_cls = CentroidAnomalyConfig
    config: CentroidAnomalyConfig

    def settings(self) -> dict[str, Any]:
        return {
            "split": self.config.split,
            "reference_split": self.config.reference_split,
            "per_class": self.config.per_class,
            "batch_size": self.config.batch_size,
            "score": "1 - cos(z, benign centroid)",
        }

    def evaluate(
        self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int
    ) -> dict[str, float]:
        cfg = self.config
        benign_label = int(getattr(data, "info", {}).get("benign_label", 0))
        reference, reference_labels = extract_features(
            encoder, data, cfg.reference_split, device=device, batch_size=cfg.batch_size,
            require_labels=False, evaluator=_NAME,
        )
        if reference_labels is not None:
            reference = reference[reference_labels.reshape(-1) == benign_label]
        if reference.shape[0] == 0:
            raise ComponentError(
                f"{_NAME}: split {cfg.reference_split!r} of dataset {dataset_name(data)} has no benign rows "
                f"(label {benign_label}), so there is no centroid. Check data.info['benign_label'] or "
                "set reference_split to a split with benign rows."
            )
        centroid = reference.mean(dim=0)

        features, labels = extract_features(
            encoder, data, cfg.split, device=device, batch_size=cfg.batch_size,
            require_labels=True, evaluator=_NAME,
        )
        labels = labels.reshape(-1)
        scores = centroid_cosine_scores(features, centroid)
        is_attack = labels != benign_label
        if bool(is_attack.all()) or not bool(is_attack.any()):
            raise ComponentError(
                f"{_NAME}: split {cfg.split!r} of dataset {dataset_name(data)} needs both benign "
                f"(label {benign_label}) and attack rows for a ROC-AUC. Score a split with both."
            )
        results = {
            "auroc": metrics.roc_auc(is_attack.long(), scores),
            "num_benign_reference": float(reference.shape[0]),
        }
        attack_classes = torch.unique(labels[is_attack]).tolist()
        if cfg.per_class and len(attack_classes) > 1:
            benign_rows = ~is_attack
            per_class = []
            for attack_class in attack_classes:
                rows = benign_rows | (labels == attack_class)
                auc = metrics.roc_auc((labels[rows] == attack_class).long(), scores[rows])
                results[f"auroc_class_{attack_class}"] = auc
                per_class.append(auc)
            results["mean_class_auroc"] = float(sum(per_class) / len(per_class))
        return results
