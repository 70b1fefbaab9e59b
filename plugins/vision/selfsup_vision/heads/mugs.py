"""Mugs' heads and local-group memory (``sail-sg/mugs:src/model.py``, ``src/vision_transformer.py``).

* :class:`MugsProjector` — the instance and local-group heads (``Instance_Superivsion_Head``,
  ``Local_Group_Superivsion_Head``, identical): a projector of ``nlayers`` bias-free Linear layers
  (hidden 2048, output 256, GELU between, optional BatchNorm) and, on the student only, a
  predictor of ``nlayers − 1`` bias-free Linear layers (hidden 4096). The target is
  ``normalize(projector(x))``; the prediction is ``normalize(predictor(n(projector(x))))`` with
  ``n`` the L2 normalisation when ``norm_before_pred`` (official default true) and the identity
  otherwise. The projector's weights are truncated-normal (std 0.02); the predictor keeps
  torch's default Linear init (the official ``self.apply(self._init_weights)`` runs before the
  predictor is built).
* :class:`LocalGroupMemory` — ``Block_mem``: a ring buffer of ``size`` rows (official 65,536,
  initialised ``randn`` as there) holding per-image mean patch tokens; ``neighbours(q)`` returns
  the ``top_k`` rows of largest cosine similarity to ``q`` (official 8), ``push(rows, keep)``
  gathers the rows (and the keep mask) from every rank (:func:`~.queue.gather_rows`, the identity
  in one process) and writes the kept ones after the newest. The official buffer keeps three
  identical copies (``queue_q/k/v``); one is kept here. Deviation: the official pointer moves by
  ``2·n`` when a write does not wrap (``ptr = ptr + n; queue_ptr = (ptr + n) % K``), leaving every
  other block of ``n`` rows at its random init until a wrap; here it moves by ``n``.
* :class:`RelationBlock` — the ViT's ``relation_blocks[0]``: one transformer block (as the
  backbone's) over ``[q; k neighbours]`` (``[B, 1 + k, D]``), then the **backbone's own final
  LayerNorm** on the first token (``self.norm(rx[:, 0])``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .queue import gather_rows

__all__ = ["MugsProjector", "LocalGroupMemory", "RelationBlock", "bias_free_mlp"]


def bias_free_mlp(layers: int, in_dim: int, hidden_dim: int, out_dim: int, *, batch_norm: bool = False) -> nn.Sequential:
    """``layers`` bias-free Linear layers, BatchNorm (optional) and GELU between (Mugs' ``_build_mlp``)."""
    modules: list[nn.Module] = []
    for layer in range(layers):
        d_in = in_dim if layer == 0 else hidden_dim
        d_out = out_dim if layer == layers - 1 else hidden_dim
        modules.append(nn.Linear(d_in, d_out, bias=False))
        if layer < layers - 1:
            if batch_norm:
                modules.append(nn.BatchNorm1d(d_out))
            modules.append(nn.GELU())
    return nn.Sequential(*modules)


class MugsProjector(nn.Module):
    def __init__(
        self, in_dim: int, *, hidden_dim: int = 2048, out_dim: int = 256, pred_hidden_dim: int = 4096,
        nlayers: int = 3, proj_bn: bool = False, norm_before_pred: bool = True,
    ) -> None:
        super().__init__()
        nlayers = max(nlayers, 1)
        self.norm_before_pred = norm_before_pred
        self.projector = bias_free_mlp(nlayers, in_dim, hidden_dim, out_dim, batch_norm=proj_bn)
        for module in self.projector.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
        self.predictor: Optional[nn.Module] = None
        if pred_hidden_dim > 0:
            self.predictor = bias_free_mlp(nlayers - 1, out_dim, pred_hidden_dim, out_dim)

    def forward(self, x: torch.Tensor, target: bool = False) -> torch.Tensor:
        feat = self.projector(x)
        if target or self.predictor is None:
            return F.normalize(feat, dim=-1)
        if self.norm_before_pred:
            feat = F.normalize(feat, dim=-1)
        return F.normalize(self.predictor(feat), dim=-1)


class LocalGroupMemory(nn.Module):
    def __init__(self, size: int, dim: int, top_k: int) -> None:
        super().__init__()
        if size < 1 or dim < 1 or not 1 <= top_k <= size:
            raise ValueError(f"LocalGroupMemory: size={size}, dim={dim}, top_k={top_k}; need 1 <= top_k <= size")
        self.top_k = top_k
        self.register_buffer("bank", torch.randn(size, dim))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def neighbour_index(self, query: torch.Tensor) -> torch.Tensor:
        """``[B, top_k]`` indices of the rows most cosine-similar to ``query [B, D]``, nearest first."""
        cosine = F.normalize(query.float(), dim=-1) @ F.normalize(self.bank, dim=-1).T
        return torch.topk(cosine, self.top_k, dim=-1).indices

    @torch.no_grad()
    def neighbours(self, query: torch.Tensor) -> torch.Tensor:
        """``[B, top_k, D]``: the bank rows nearest to each query (no gradient)."""
        return self.bank[self.neighbour_index(query)]

    @torch.no_grad()
    def push(self, rows: torch.Tensor, keep: Optional[torch.Tensor] = None) -> int:
        """Write every rank's ``rows`` (those with ``keep`` true, if given) after the newest; returns how many."""
        rows = gather_rows(rows.detach().float())
        if keep is not None:
            keep = gather_rows(keep.to(rows.device, torch.bool))
            rows = rows[keep]
        n = rows.shape[0]
        if n == 0:
            return 0
        size = self.bank.shape[0]
        rows = rows[-size:]
        index = (self.pointer + torch.arange(rows.shape[0], device=rows.device)) % size
        self.bank[index] = rows
        self.pointer.copy_((self.pointer + rows.shape[0]) % size)
        return n


class RelationBlock(nn.Module):
    """``norm(block([q; neighbours])[:, 0])`` with ``norm`` the backbone's final LayerNorm (passed in)."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, query: torch.Tensor, neighbours: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        tokens = torch.cat([query.unsqueeze(1), neighbours.to(query.dtype)], dim=1)
        return norm(self.block(tokens)[:, 0])
