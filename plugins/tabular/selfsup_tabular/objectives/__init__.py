"""Tabular pretraining objectives: T-JEPA and CLAN."""

from __future__ import annotations

from .clan import CLAN, CLANConfig
from .t_jepa import TJEPA, TJEPAConfig

__all__ = ["TJEPA", "TJEPAConfig", "CLAN", "CLANConfig"]
