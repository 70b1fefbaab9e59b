"""``mlp``: a node-wise MLP encoder (no message passing), SDCN's / SCGC's autoencoder encoder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..configs import NodeMLPConfig

__all__ = ["NodeMLP", "build_node_mlp", "mlp_layers"]


def mlp_layers(dims: list[int]) -> nn.Sequential:
    """``Linear(d0, d1), ReLU, ..., Linear(d_{n-1}, d_n)``: ReLU between layers, none after the last."""
    layers: list[nn.Module] = []
    for index, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if index < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class NodeMLP(nn.Module):
    """``forward(batch) -> [num_nodes, embed_dim]`` from ``batch["x"]`` alone.

    Architecture of ``gayanku/SCGC:models.py`` class ``MLP`` (= the encoder half
    of ``SDCN_AE``): ``num_features -> 500 -> 500 -> 2000 -> 10``, ReLU between
    layers, the embedding ``z`` linear. PyTorch's default ``nn.Linear`` init.
    """

    def __init__(self, config: NodeMLPConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        if config.embed_dim < 1 or any(h < 1 for h in config.hidden_dims):
            raise ValueError(f"mlp: widths must be >= 1 (hidden_dims={config.hidden_dims}, embed_dim={config.embed_dim}).")
        self.embed_dim = int(config.embed_dim)
        self.num_features = int(data_info["num_features"])
        self.net = mlp_layers([self.num_features, *config.hidden_dims, self.embed_dim])

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        return self.net(batch["x"].float())


def build_node_mlp(config: NodeMLPConfig, data_info: Mapping[str, Any]) -> NodeMLP:
    return NodeMLP(config, data_info)
