"""CLAN: Contrastive Learning using Augmented Negative pairs (anomaly/intrusion detection).

Wilkie, Hindy, Tachtatzis, Atkinson 2025 (arXiv 2509.06550); official code
jackwilkie/CLAN @ 680ab61.

One step (``train_clan.py``, ``train``): for the benign rows x of a batch,
x̂ = a(x) with uniform resampling (:func:`.augment.uniform_resample`); both go
through the encoder in one pass, ``z, ẑ = split(φ([x; x̂]))``, and the loss is
:func:`selfsup_tabular.losses.clan_loss.clan_loss` — benign rows pulled
together, augmented rows pushed beyond a cosine-half-distance margin. Anomaly
scores are then the cosine distance to the benign centroid
(:class:`selfsup_tabular.evaluation.anomaly.CentroidAnomaly`).

Benign rows: CLAN pretrains on benign training flows only (``data/load_data.py``
drops attacks from train when ``anomaly_detection=True``). With
``train_on="benign"`` and a data source that defines ``data_info["benign_label"]``,
rows of other labels in a batch are left out of every pair (a row mask inside
the loss, so shapes stay static and nothing syncs); without a benign label, or
with ``train_on="all"``, every row counts as benign.

Any encoder works (``forward(batch) -> [B, D]``); the paper's is
:class:`selfsup_tabular.encoders.residual_mlp.ResidualMLP`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, StepOutput

from ..configs import CLANConfig
from .._model_utils import TabularLayout, require_choice
from ..losses.clan_loss import clan_loss
from .augment import uniform_resample

__all__ = ["CLANConfig", "CLAN"]

TRAIN_ON_CHOICES = ("benign", "all")


class CLAN(Objective):
    """CLAN objective (registered as ``clan``); see the module docstring."""

    #: The loss contrasts every row with the batch's other rows: gather them from every rank.
    needs_gather = True

    def __init__(self, config: CLANConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        require_choice("clan", "train_on", config.train_on, TRAIN_ON_CHOICES)
        if not 0.0 <= config.alpha <= 1.0:
            raise ConfigError(f"clan: alpha must be in [0, 1], got {config.alpha}; e.g. alpha=0.5.")
        if not 0.0 < config.margin <= 1.0:
            raise ConfigError(
                f"clan: margin must be in (0, 1] (cosine-half distances lie in [0, 1]), got {config.margin}; "
                "e.g. margin=0.5."
            )
        if not 0.0 <= config.resample_p_feature <= 1.0 or not 0.0 <= config.resample_p_sample <= 1.0:
            raise ConfigError(
                "clan: resample_p_feature and resample_p_sample are probabilities in [0, 1], got "
                f"{config.resample_p_feature} and {config.resample_p_sample}."
            )
        self.config = config
        self.layout = TabularLayout.from_data_info(data_info, component="Objective 'clan'")
        benign_label = data_info.get("benign_label")
        self.benign_label: int | None = (
            int(benign_label) if benign_label is not None and config.train_on == "benign" else None
        )
        self.register_buffer(
            "cardinalities", torch.tensor(self.layout.cardinalities, dtype=torch.long), persistent=False
        )

    def augment(self, batch: Batch) -> Batch:
        """The batch with uniform resampling applied (labels kept)."""
        numerical = batch.get("numerical") if self.layout.num_numerical else None
        categorical = batch.get("categorical") if self.layout.num_categorical else None
        numerical, categorical = uniform_resample(
            numerical,
            categorical,
            self.cardinalities,
            p_feature=self.config.resample_p_feature,
            p_sample=self.config.resample_p_sample,
            max_value=self.config.resample_max,
            mean=self.config.resample_mean,
        )
        augmented = dict(batch)
        if numerical is not None:
            augmented["numerical"] = numerical
        if categorical is not None:
            augmented["categorical"] = categorical
        return augmented

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        augmented = self.augment(batch)
        joint: Batch = {}
        for key in ("numerical", "categorical"):
            if isinstance(batch.get(key), torch.Tensor):
                joint[key] = torch.cat([batch[key], augmented[key]], dim=0)
        embeddings = self.encoder(joint)
        rows = embeddings.shape[0] // 2
        # Under torchrun, every rank's rows are negatives (the global-batch loss on each rank).
        z, z_augmented = self.gather(embeddings[:rows]), self.gather(embeddings[rows:])

        row_mask = None
        if self.benign_label is not None and isinstance(batch.get("label"), torch.Tensor):
            row_mask = self.gather((batch["label"] == self.benign_label).float()) > 0.5
        out = clan_loss(
            z,
            z_augmented,
            margin=self.config.margin,
            alpha=self.config.alpha,
            eps=self.config.eps,
            squared=self.config.squared,
            row_mask=row_mask,
        )
        logs: StepOutput = {
            "loss": out.loss,
            "similar_loss": out.similar_loss.detach(),
            "dissimilar_loss": out.dissimilar_loss.detach(),
            "active_negative_fraction": out.active_negative_fraction.detach(),
        }
        if row_mask is not None:
            logs["benign_fraction"] = row_mask.float().mean()
        return logs
