"""Loss functions of the tabular objectives, one pure function per file."""

from __future__ import annotations

from .clan_loss import CLANLossOutput, clan_loss, cosine_half_distance
from .jepa_loss import jepa_latent_mse

__all__ = ["jepa_latent_mse", "clan_loss", "CLANLossOutput", "cosine_half_distance"]
