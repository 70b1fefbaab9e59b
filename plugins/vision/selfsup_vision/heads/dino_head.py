"""DINO's projection head with weight-normalised prototypes
(``facebookresearch/dino@7c446df:vision_transformer.py::DINOHead``).

MLP (``nlayers`` Linear layers, GELU, optional BN, hidden 2048, bottleneck 256), L2
normalisation, then a bias-free Linear to ``out_dim`` prototypes under weight
normalisation ``W = g · V / ‖V‖`` (per output row) with ``g`` fixed to 1 when
``norm_last_layer`` (the official default): the logits are cosine similarities to the
prototypes. Uses ``torch.nn.utils.parametrizations.weight_norm`` (the official code uses the
deprecated ``nn.utils.weight_norm``; same function, parameters ``original0``/``original1``
instead of ``weight_g``/``weight_v``). Linear weights: truncated normal, std 0.02.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

__all__ = ["DINOHead"]


class DINOHead(nn.Module):
    def __init__(
        self, in_dim: int, out_dim: int, *, use_bn: bool = False, norm_last_layer: bool = True,
        nlayers: int = 3, hidden_dim: int = 2048, bottleneck_dim: int = 256,
    ) -> None:
        super().__init__()
        nlayers = max(nlayers, 1)
        if nlayers == 1:
            self.mlp: nn.Module = nn.Linear(in_dim, bottleneck_dim)
        else:
            layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim)]
            if use_bn:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.GELU())
            for _ in range(nlayers - 2):
                layers.append(nn.Linear(hidden_dim, hidden_dim))
                if use_bn:
                    layers.append(nn.BatchNorm1d(hidden_dim))
                layers.append(nn.GELU())
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
            self.mlp = nn.Sequential(*layers)
        self.apply(self._init_weights)
        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        g = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            g.fill_(1.0)
        if norm_last_layer:
            g.requires_grad_(False)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.mlp(x)
        x = nn.functional.normalize(x, dim=-1, p=2)
        return self.last_layer(x)
