"""T-JEPA's transformer predictor (I-JEPA style, with mask tokens).

Given the context encoder's output z ∈ ℝ^{B×N_c×h} at token positions C (per
row) and M target position sets T_k:

1. x = Linear_{h→h_p}(z) + P[C]                       (P: fixed 1-D sin-cos table)
2. for each k: q_k = mask_token + P[T_k]              (one learnable token, trunc-normal 0.02)
3. y_k = LayerNorm(Transformer_{h_p}([x ; q_k]))      (post-norm layers + output head)
4. ŝ_k = Linear_{h_p→h}(y_k at the q_k positions)

The M masks are stacked along the batch axis (mask-major, ``[M·B, |T|, h]``).
Only the q_k outputs are used, so the last layer attends from the q_k tokens only
(keys and values still cover [x ; q_k]) and its feed-forward block, the output
head and the LayerNorm run on them (``PostNormTransformer(..., keep_last=|T|)``):
the same ŝ_k as running every token through, for about a quarter less work.
P is I-JEPA's ``get_1d_sincos_pos_embed``: ``[sin(p·ω), cos(p·ω)]`` concatenated
(not interleaved), ω_i = 10000^(−2i/h_p).

Source: jose-melo/t-jepa @ 98dda99, ``src/predictors.py``
(``TransformerPredictor``), ``src/utils/train_utils.py``
(``get_1d_sincos_pos_embed``, trunc-normal init). The released table has d rows
(feature indices); here it has one row per token position (n_reg + d) so that
it also covers the offset indexing of :mod:`.t_jepa`.
"""

from __future__ import annotations

import torch
from torch import nn

from selfsup.errors import ConfigError

from ..encoders.ft_transformer import PostNormTransformer, init_trunc_normal_

__all__ = ["TransformerPredictor", "sincos_1d_table"]


def sincos_1d_table(length: int, dim: int) -> torch.Tensor:
    """``[length, dim]`` = ``[sin(p·ω), cos(p·ω)]`` with ω_i = 10000^(−2i/dim) (I-JEPA)."""
    if dim % 2:
        raise ConfigError(f"t-jepa: predictor_dim must be even for the sin-cos table, got {dim}.")
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    angles = torch.arange(length, dtype=torch.float64)[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


class TransformerPredictor(nn.Module):
    """Predicts target-encoder tokens at target positions from a context (see module docstring)."""

    def __init__(
        self,
        d_model: int,
        num_positions: int,
        *,
        d_predictor: int,
        n_layers: int,
        n_heads: int,
        d_ffn: int,
        dropout: float,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        init_std: float = 0.02,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(d_model, d_predictor)
        self.register_buffer("position_table", sincos_1d_table(num_positions, d_predictor), persistent=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d_predictor))
        self.transformer = PostNormTransformer(
            d_predictor, n_layers, n_heads, d_ffn, dropout, activation, layer_norm_eps
        )
        self.norm = nn.LayerNorm(d_predictor, eps=layer_norm_eps)
        self.project = nn.Linear(d_predictor, d_model)
        init_trunc_normal_(self, std=init_std)
        nn.init.trunc_normal_(self.mask_token, std=init_std, a=-2.0, b=2.0)

    def forward(
        self, context: torch.Tensor, context_positions: torch.Tensor, target_positions: torch.Tensor
    ) -> torch.Tensor:
        """Args:
            context: ``[B, N_c, h]`` context-encoder output.
            context_positions: ``[B, N_c]`` token positions of the context.
            target_positions: ``[M, B, T]`` token positions to predict.

        Returns:
            ``[M·B, T, h]`` predictions, mask-major.
        """
        num_masks, rows, num_targets = target_positions.shape
        hidden = self.embed(context) + self.position_table[context_positions].to(context.dtype)
        queries = self.mask_token + self.position_table[target_positions.reshape(num_masks * rows, num_targets)]
        hidden = hidden.repeat(num_masks, 1, 1)  # mask-major copies of the context
        sequence = torch.cat([hidden, queries.to(hidden.dtype)], dim=1)
        # Only the query tokens' outputs are used: the last layer and the head skip the others.
        output = self.norm(self.transformer(sequence, keep_last=num_targets))
        return self.project(output)
