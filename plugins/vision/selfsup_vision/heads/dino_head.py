"""DINO's projection head with weight-normalised prototypes
(``facebookresearch/dino@7c446df:vision_transformer.py::DINOHead``).

MLP (``nlayers`` Linear layers, GELU, optional BN, hidden 2048, bottleneck 256), L2
normalisation, then a bias-free Linear to ``out_dim`` prototypes under weight
normalisation ``W = g · V / ‖V‖`` (per output row) with ``g`` fixed to 1 when
``norm_last_layer`` (the official default): the logits are cosine similarities to the
prototypes. :class:`WeightNormLinear` computes the same function as the official
``nn.utils.weight_norm(nn.Linear(...))`` with the same parameters ``weight_g`` / ``weight_v``
(initialised as there: ``V`` from the Linear's init, ``g = 1``); it is a plain module because
torch's ``parametrizations.weight_norm`` cannot be pickled and the hook-based
``nn.utils.weight_norm`` is deprecated. Linear weights: truncated normal, std 0.02.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DINOHead", "WeightNormLinear"]


class WeightNormLinear(nn.Module):
    """Bias-free ``y = x Wᵀ`` with ``W = weight_g · weight_v / ‖weight_v‖`` (row norms)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        v = torch.empty(out_features, in_features)
        nn.init.kaiming_uniform_(v, a=5**0.5)  # nn.Linear's default init
        self.weight_v = nn.Parameter(v)
        self.weight_g = nn.Parameter(torch.ones(out_features, 1))

    @property
    def weight(self) -> torch.Tensor:
        return self.weight_g * self.weight_v / torch.linalg.vector_norm(self.weight_v, dim=1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight)


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
        self.last_layer = WeightNormLinear(bottleneck_dim, out_dim)
        if norm_last_layer:
            self.last_layer.weight_g.requires_grad_(False)

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
