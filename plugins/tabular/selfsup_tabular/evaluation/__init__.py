"""Tabular evaluators: centroid anomaly scoring and the raw-feature MLP baseline."""

from __future__ import annotations

from .anomaly import CentroidAnomaly, CentroidAnomalyConfig
from .raw_baseline import RawMLPBaseline, RawMLPBaselineConfig

__all__ = ["CentroidAnomaly", "CentroidAnomalyConfig", "RawMLPBaseline", "RawMLPBaselineConfig"]
