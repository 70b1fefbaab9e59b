"""Tabular encoders: the FT-Transformer (T-JEPA) and the residual MLP (CLAN)."""

from __future__ import annotations

from .ft_transformer import FTTransformer, FTTransformerConfig, build_ft_transformer
from .residual_mlp import ResidualMLP, ResidualMLPConfig, build_residual_mlp

__all__ = [
    "FTTransformer",
    "FTTransformerConfig",
    "build_ft_transformer",
    "ResidualMLP",
    "ResidualMLPConfig",
    "build_residual_mlp",
]
