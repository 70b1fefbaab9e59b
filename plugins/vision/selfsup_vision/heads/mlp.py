"""Projection and prediction MLPs (SimCLR, BYOL, SwAV, MYOW).

``mlp(in_dim, hidden_dim, out_dim, layers=2)``: ``layers - 1`` blocks Linear → BatchNorm → ReLU
then a final Linear, optionally followed by a BatchNorm without affine parameters
(``last_bn``, SimCLR v2's ``proj_head`` ends in BN). BYOL's projector and predictor are
``mlp(d, 4096, 256)`` (``deepmind-research:byol/utils/networks.py`` ``MLP``: Linear, BN, ReLU,
Linear); SimCLR's CIFAR head is ``mlp(512, 2048, 128, layers=2)``.
"""

from __future__ import annotations

from torch import nn

__all__ = ["mlp"]


def mlp(in_dim: int, hidden_dim: int, out_dim: int, *, layers: int = 2, batch_norm: bool = True, last_bn: bool = False) -> nn.Sequential:
    if layers < 1:
        raise ValueError(f"mlp: layers={layers}; use at least 1")
    modules: list[nn.Module] = []
    width = in_dim
    for _ in range(layers - 1):
        modules.append(nn.Linear(width, hidden_dim, bias=not batch_norm))
        if batch_norm:
            modules.append(nn.BatchNorm1d(hidden_dim))
        modules.append(nn.ReLU(inplace=True))
        width = hidden_dim
    modules.append(nn.Linear(width, out_dim, bias=not last_bn))
    if last_bn:
        modules.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*modules)
