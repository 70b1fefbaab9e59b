"""SiT's two heads (``Sara-Ahmed/SiT@7f22e9c:vision_transformer.py``, ``CLSHead`` and ``RECHead``).

* :func:`sit_cls_head`, on the [CLS] token: Linear(d, h) → BN → ReLU → Linear(h, h) → BN → GELU
  → Linear(h, out) → BN(affine = False); h = 4096, out = 256 by default. Linear weights are
  truncated-normal (σ 0.02, cut at ±2), biases zero, as the official ``_init_weights``.
* :class:`SiTReconHead`, on the patch tokens ``[N, L, d]`` (L a square number):
  3 × (Linear(d, d) + GELU), then ConvTranspose2d(d, C, kernel = stride = patch size) on the
  ``√L × √L`` token grid, giving ``[N, C, √L·p, √L·p]`` pixels. The transposed convolution keeps
  PyTorch's default initialisation, as the official code (it is created after ``apply``).

The layer order (``mlp.0`` … ``mlp.7``; ``mlp.0`` … ``mlp.5`` and ``deconv``) matches the official
state dicts (``convTrans`` there), so official weights load with that one key renamed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["sit_cls_head", "SiTReconHead", "SiTCLSHead"]


def _init_linear(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def sit_cls_head(in_dim: int, hidden_dim: int = 4096, out_dim: int = 256) -> nn.Sequential:
    """The projection head as a ``Sequential`` (see the module docstring)."""
    head = nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.GELU(),
        nn.Linear(hidden_dim, out_dim), nn.BatchNorm1d(out_dim, affine=False),
    )
    head.apply(_init_linear)
    return head


class SiTCLSHead(nn.Module):
    """:func:`sit_cls_head` under ``.mlp`` (the official module layout)."""

    def __init__(self, in_dim: int, hidden_dim: int = 4096, out_dim: int = 256) -> None:
        super().__init__()
        self.mlp = sit_cls_head(in_dim, hidden_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class SiTReconHead(nn.Module):
    def __init__(self, in_dim: int, in_chans: int = 3, patch_size: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, in_dim), nn.GELU(), nn.Linear(in_dim, in_dim), nn.GELU(),
                                 nn.Linear(in_dim, in_dim), nn.GELU())
        self.mlp.apply(_init_linear)
        self.deconv = nn.ConvTranspose2d(in_dim, in_chans, kernel_size=patch_size, stride=patch_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.mlp(tokens)
        n, length, d = x.shape
        side = math.isqrt(length)
        if side * side != length:
            raise ValueError(f"SiTReconHead: {length} patch tokens do not form a square grid")
        return self.deconv(x.transpose(1, 2).reshape(n, d, side, side))
