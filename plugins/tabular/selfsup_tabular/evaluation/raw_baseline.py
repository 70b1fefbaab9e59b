"""Raw-feature MLP baseline: the core MLP probe, fed the raw columns instead of embeddings.

T-JEPA's headline comparison is "the same downstream model on raw features"
(jose-melo/t-jepa README: MLP .825 vs MLP+T-JEPA .866 on Adult). This evaluator
gives that reference number next to ``mlp-probe`` with an identical protocol:
it runs :class:`selfsup.evaluation.mlp_probe.MLPProbe` (same config fields,
same defaults, same train/validation/early-stopping rules: validation is the
data's ``"val"`` split, else a seeded ``val_fraction`` of train) on

    x = [numerical, one-hot(categorical)]     (width n_num + Σ cardinalities)

built from each batch by :class:`RawFeatures`; the probe standardises x with
the training rows' statistics. **The encoder passed to** :meth:`evaluate` **is
ignored**, so the numbers do not depend on pretraining. Metrics: ``accuracy``
and ``macro_f1`` on ``config.split`` (as ``mlp-probe``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.evaluation.mlp_probe import MLPProbe, MLPProbeConfig
from selfsup.interfaces import DataSource, Evaluator

from ..configs import RawMLPBaselineConfig
from .._model_utils import TabularLayout, category_offsets, one_hot_features

__all__ = ["RawMLPBaselineConfig", "RawMLPBaseline", "RawFeatures"]

_NAME = "raw-mlp-baseline"


class RawFeatures(nn.Module):
    """A parameter-free "encoder": ``batch -> [numerical, one-hot(categorical)]`` (float32)."""

    def __init__(self, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        self.layout = TabularLayout.from_data_info(data_info, component=f"Evaluator '{_NAME}'")
        self.register_buffer("category_offsets", category_offsets(self.layout.cardinalities), persistent=False)
        self.embed_dim = self.layout.one_hot_width

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        numerical = batch.get("numerical") if self.layout.num_numerical else None
        categorical = batch.get("categorical") if self.layout.num_categorical else None
        offsets = self.category_offsets
        if categorical is not None:
            offsets = offsets.to(categorical.device)
        return one_hot_features(numerical, categorical, offsets, self.layout.one_hot_width)


class RawMLPBaseline(Evaluator):
    """MLP-probe protocol on raw features (registered as ``raw-mlp-baseline``); ignores the encoder."""

    config_cls = RawMLPBaselineConfig
    config: RawMLPBaselineConfig
    uses_encoder = False

    def probe_config(self) -> MLPProbeConfig:
        """The equivalent :class:`MLPProbeConfig`."""
        return MLPProbeConfig(
            **{field.name: getattr(self.config, field.name) for field in dataclasses.fields(MLPProbeConfig)}
        )

    def settings(self) -> dict[str, Any]:
        values = dataclasses.asdict(self.config)
        return {
            **{key: list(value) if isinstance(value, tuple) else value for key, value in values.items()},
            "features": "raw: numerical + one-hot categorical (standardised); the encoder is ignored",
        }

    def evaluate(
        self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int
    ) -> dict[str, float]:
        raw = RawFeatures(getattr(data, "info", {})).to(device)
        probe = MLPProbe(self.probe_config())
        return probe.evaluate(raw, data, device=device, seed=seed)
