"""SSAMBA: SSAST's masked spectrogram patch objective on a bidirectional Mamba encoder.

Shams, Dindar, Jiang, Mesgarani, "SSAMBA: Self-Supervised Audio Representation Learning with
Mamba State Space Model", IEEE SLT 2024 (arXiv 2405.11831); official code
SiavashShams/ssamba @ 019b276. ``src/models/both_models.py`` (``AMBAModel.mpc``/``mpg``) keeps
SSAST's pretext tasks unchanged: cluster patch masking (C ∈ {3, 4, 5}), a learnable mask
embedding (xavier-normal) replacing masked patch embeddings before the positions, the two
D → D → 256 heads, InfoNCE over the clip's masked patches (code variant) + 10 · MSE from two
forward passes with independent masks. Only the encoder changes (``encoder="amba"``,
:class:`selfsup_audio.encoders.mamba.AMBAEncoder`).

This class is :class:`selfsup_audio.objectives.ssast.SSAST` (same masking, heads and losses,
:mod:`selfsup_audio.losses.ssast_loss`) with SSAMBA's defaults (:class:`SSAMBAConfig`:
300 of 512 patches masked, as ``src/pretrain/run_mask_patch_amba.sh``) and a check that the
encoder is the Mamba one. Trainer defaults (same script): AdamW, lr 1e-4, weight decay 5e-8,
betas (0.95, 0.999), batch 64, linear warm-up. Deviation as for SSAST: the engine's cosine
schedule replaces ReduceLROnPlateau on the pretext accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from selfsup.errors import IncompatibleComponentsError

from ..configs import SSAMBAConfig
from .ssast import SSAST

__all__ = ["SSAMBA", "SSAMBAConfig"]


class SSAMBA(SSAST):
    """The ``ssamba`` objective: :class:`SSAST` on an :class:`~selfsup_audio.encoders.mamba.AMBAEncoder`."""

    def __init__(self, config: SSAMBAConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        from ..encoders.mamba import AMBAEncoder

        if not isinstance(encoder, AMBAEncoder):
            raise IncompatibleComponentsError(
                f"Objective 'ssamba' is SSAST's objective on the bidirectional Mamba encoder; got "
                f"{type(encoder).__name__}. Use encoder='amba' (or objective='ssast' for the AST)."
            )
        super().__init__(config, encoder, data_info)
