"""Residual MLP encoder, the network of CLAN.

CLAN's ``ContrastiveMLP`` (jackwilkie/CLAN @ 680ab61, ``model/model.py``, built
in ``train_clan.py`` with ``--neurons 1024,1024,1024,1024 --residual True
--d_out 64 --dropout 0.0``) is, for an input x of width d_in:

    h_0 = x
    h_k = ReLU(W_k h_{k−1} + b_k) + S_k h_{k−1}      k = 1..n_blocks
    z   = W_out h_K + b_out                          (embed_dim = d_out)

where S_1 is a Linear(d_in, width) resize and S_k the identity otherwise (the
last block keeps its ReLU: ``final_layer_activation=nn.ReLU``). The anomaly
evaluation uses z (``eval_clan.py`` calls ``model(x)``), so z is the embedding.

Input: the numerical columns, then categorical columns either one-hot encoded
(``categorical="one_hot"``; the reserved index 0 gets its own indicator) or
embedded (``categorical="embedding"``, ``cat_embed_dim`` per column). CLAN's
data (Lycos2017) is all numerical; 72 inputs there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError

from ..configs import ResidualMLPConfig
from .._model_utils import TabularLayout, category_offsets, one_hot_features, require_choice

__all__ = ["ResidualMLPConfig", "ResidualMLP", "ResidualBlock", "build_residual_mlp"]

CATEGORICAL_CHOICES = ("one_hot", "embedding")


class ResidualBlock(nn.Module):
    """``ReLU(W h + b)`` (then dropout) plus a skip that is a Linear resize when widths differ."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.activation = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.skip: nn.Module = nn.Identity() if in_dim == out_dim else nn.Linear(in_dim, out_dim)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.linear(hidden))) + self.skip(hidden)


class ResidualMLP(nn.Module):
    """``forward(batch) -> [B, d_out]``; see the module docstring for the equations."""

    def __init__(self, config: ResidualMLPConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        require_choice("residual-mlp", "categorical", config.categorical, CATEGORICAL_CHOICES)
        if config.width < 1 or config.n_blocks < 1 or config.d_out < 1:
            raise ConfigError(
                f"residual-mlp: width={config.width}, n_blocks={config.n_blocks} and d_out={config.d_out} "
                "must all be >= 1."
            )
        self.config = config
        self.layout = TabularLayout.from_data_info(data_info, component="Encoder 'residual-mlp'")
        self.register_buffer("category_offsets", category_offsets(self.layout.cardinalities), persistent=False)
        self.category_embeddings: nn.Embedding | None = None
        if config.categorical == "embedding" and self.layout.num_categorical:
            self.category_embeddings = nn.Embedding(sum(self.layout.cardinalities), config.cat_embed_dim)
            input_dim = self.layout.num_numerical + self.layout.num_categorical * config.cat_embed_dim
        else:
            input_dim = self.layout.one_hot_width
        self.input_dim = input_dim
        blocks = []
        for index in range(config.n_blocks):
            last = index == config.n_blocks - 1
            blocks.append(ResidualBlock(input_dim if index == 0 else config.width, config.width, 0.0 if last else config.dropout))
        self.blocks = nn.Sequential(*blocks)
        self.output = nn.Linear(config.width, config.d_out)
        self.embed_dim = config.d_out

    def features(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """The network input ``[B, input_dim]`` built from the batch."""
        numerical = batch.get("numerical") if self.layout.num_numerical else None
        categorical = batch.get("categorical") if self.layout.num_categorical else None
        if self.category_embeddings is None:
            return one_hot_features(numerical, categorical, self.category_offsets, self.layout.one_hot_width)
        embedded = self.category_embeddings(categorical.long() + self.category_offsets).flatten(1)
        return embedded if numerical is None else torch.cat([numerical.float(), embedded], dim=1)

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.output(self.blocks(self.features(batch)))


def build_residual_mlp(config: ResidualMLPConfig, data_info: Mapping[str, Any]) -> ResidualMLP:
    """Encoder factory: ``build_residual_mlp(config, data_info) -> ResidualMLP``."""
    return ResidualMLP(config, data_info)
