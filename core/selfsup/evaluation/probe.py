"""The probes' shared preamble: one base class for evaluators fitted on frozen features.

:class:`FeatureProbe` extracts the features of ``"train"``, the validation rows and
``config.split`` once (:func:`selfsup.evaluation.features.probe_features`, with the config's
``split``, ``batch_size`` and ``val_fraction``) and hands them to :meth:`FeatureProbe.fit_and_score`.
``linear-probe``, ``mlp-probe`` and ``regression-probe`` are its subclasses; a plugin's probe
can be one too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ..interfaces import DataSource, Evaluator
from .features import ProbeFeatures, probe_features

__all__ = ["FeatureProbe"]


class FeatureProbe(Evaluator):
    """An evaluator fitted on frozen features of ``train`` (choosing settings on the validation
    rows) and scored on ``config.split``. Subclasses set :attr:`name` (used in error messages)
    and a ``config_cls`` with ``split``, ``batch_size`` and ``val_fraction``, and implement
    :meth:`fit_and_score`."""

    #: The registered name, as error messages cite it (e.g. ``"linear-probe"``).
    name: ClassVar[str] = "probe"

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg: Any = self.config
        feats = probe_features(
            encoder,
            data,
            cfg.split,
            device=device,
            batch_size=cfg.batch_size,
            val_fraction=cfg.val_fraction,
            seed=seed,
            evaluator=self.name,
        )
        return self.fit_and_score(feats, data, device=device, seed=seed)

    def fit_and_score(
        self, feats: ProbeFeatures, data: DataSource, *, device: torch.device, seed: int
    ) -> dict[str, float]:  # pragma: no cover - abstract
        """Fit the probe on ``feats`` and return its scores on ``feats.x_eval``/``y_eval``."""
        raise NotImplementedError
