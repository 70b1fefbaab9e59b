"""AST: a DeiT-style ViT over log-mel patches (SSAST's encoder).

Follows YuanGongND/ssast @ a1a3eec ``src/models/ast_models.py`` (``ASTModel``), which
builds timm 0.4.5 ``vit_deit_*_distilled_patch16_*`` from scratch:

* input ``x`` [B, T, F] (the dataset's fbank) is transposed to [B, 1, F, T];
* patch embedding ``Conv2d(1, D, kernel=(fshape, tshape), stride=kernel)``, flattened
  frequency-major (token index ``f * T' + t``); ``unfold`` gives the matching raw
  patches [B, N, fshape·tshape] (the SSAST targets);
* two learnable CLS tokens (cls + dist, DeiT distilled) prepended, learnable positional
  embeddings (trunc-normal, std 0.02) added;
* pre-norm transformer blocks (LayerNorm, multi-head attention with qkv bias,
  LayerNorm, MLP ratio 4 with GELU), a final LayerNorm;
* the representation (``forward``) is the mean over the patch-token outputs
  (``finetuningavgtok`` without its head), or the mean of the CLS outputs (``pool="cls"``).

Sizes: tiny (192, 12, 3), small (384, 12, 6), base (768, 12, 12), and a CPU default
(128, 4, 4). Deviations: no stochastic depth (DeiT's 0.1 drop-path is unused by the
SSAST pretraining since the model is built with timm defaults, drop_path_rate=0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError

from ..configs import AST_SIZES, ASTConfig

__all__ = ["ATTENTION", "ASTEncoder", "ASTConfig", "Block", "build_ast", "set_patch_grid"]


def set_patch_grid(encoder: nn.Module, config: Any, data_info: Mapping[str, Any]) -> None:
    """The spectrogram tokenisation shared by the AST and the Mamba encoder (SSAST's
    ``fshape``/``tshape``): 16×16 patches or 128×2 frames over the ``num_mel_bins`` ×
    ``target_length`` input; sets ``num_mel_bins``, ``target_length``, ``fshape``, ``tshape``,
    ``tokens_kind``, ``grid``, ``num_patches`` and ``patch_dim`` on ``encoder``."""
    encoder.num_mel_bins = int(data_info.get("num_mel_bins", 128))
    encoder.target_length = int(data_info.get("target_length", 1024))
    default = (16, 16) if config.tokens == "patch" else (encoder.num_mel_bins, 2)
    encoder.fshape = config.fshape or default[0]
    encoder.tshape = config.tshape or default[1]
    if encoder.num_mel_bins % encoder.fshape or encoder.target_length % encoder.tshape:
        raise ConfigError(
            f"The {encoder.num_mel_bins}×{encoder.target_length} input is not a whole number of "
            f"{encoder.fshape}×{encoder.tshape} patches; change data.target_length or the patch shape."
        )
    encoder.tokens_kind = config.tokens
    encoder.grid = (encoder.num_mel_bins // encoder.fshape, encoder.target_length // encoder.tshape)
    encoder.num_patches = encoder.grid[0] * encoder.grid[1]
    encoder.patch_dim = encoder.fshape * encoder.tshape


ATTENTION = ("fused", "materialised")


class Block(nn.Module):
    """timm ViT block: x + Attn(LN(x)); x + MLP(LN(x)).

    The weights live in an ``nn.MultiheadAttention`` (``in_proj`` = timm's ``qkv``, ``out_proj`` =
    its ``proj``: the same [q; k; v] × heads layout); the forward is written out so that the last
    block can compute only the outputs asked for (:meth:`forward_at`) and the attention can be
    ``"fused"`` (``scaled_dot_product_attention``) or ``"materialised"`` (timm 0.4.5's explicit
    softmax(QKᵀ·d^-½)·V, kept for the paper's memory comparison).
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float, attention: str = "fused") -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout))
        self.attention = attention

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        p = self.attn.dropout if self.training else 0.0
        if self.attention == "fused":
            return nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=p)
        weights = (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).softmax(dim=-1)
        return nn.functional.dropout(weights, p) @ v

    def _mix(self, x: torch.Tensor, at: torch.Tensor | None) -> torch.Tensor:
        """x + proj(attention(LN(x))) at all rows, or only at rows ``at`` ``[B, K]`` (queries there only)."""
        bsz, n, dim = x.shape
        heads = self.attn.num_heads
        h = self.norm1(x)
        qkv = nn.functional.linear(h, self.attn.in_proj_weight, self.attn.in_proj_bias)
        q, k, v = qkv.view(bsz, n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4).unbind(0)  # [B, H, N, d]
        if at is not None:
            q = torch.gather(q, 2, at[:, None, :, None].expand(-1, heads, -1, q.shape[-1]))
            x = torch.gather(x, 1, at[..., None].expand(-1, -1, dim))
        mixed = self._attend(q, k, v).transpose(1, 2).reshape(bsz, -1, dim)
        return x + self.attn.out_proj(mixed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._mix(x, None)
        return x + self.mlp(self.norm2(x))

    def forward_at(self, x: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
        """The block's outputs at rows ``at`` ``[B, K]`` only: every row is a key and value, only
        those rows are queries, residuals and MLP inputs; equal to ``forward(x)`` gathered at ``at``."""
        x = self._mix(x, at)
        return x + self.mlp(self.norm2(x))


class ASTEncoder(nn.Module):
    def __init__(self, config: ASTConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__()
        if config.size not in AST_SIZES:
            raise ConfigError(f"encoder_config.size={config.size!r} is not one of {sorted(AST_SIZES)}.")
        if config.tokens not in ("patch", "frame"):
            raise ConfigError(f"encoder_config.tokens={config.tokens!r} is not 'patch' or 'frame'.")
        if config.pool not in ("mean", "cls"):
            raise ConfigError(f"encoder_config.pool={config.pool!r} is not 'mean' or 'cls'.")
        if config.attention not in ATTENTION:
            raise ConfigError(f"encoder_config.attention={config.attention!r} is not one of {ATTENTION}.")
        if config.num_cls_tokens not in (1, 2):
            raise ConfigError("encoder_config.num_cls_tokens must be 1 or 2.")
        dim, depth, heads = AST_SIZES[config.size]
        dim, depth, heads = config.embed_dim or dim, config.depth or depth, config.num_heads or heads
        if dim % heads:
            raise ConfigError(f"embed_dim={dim} is not divisible by num_heads={heads}.")
        set_patch_grid(self, config, data_info)
        self.embed_dim = dim
        self.pool = config.pool
        self.num_cls_tokens = config.num_cls_tokens
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=(self.fshape, self.tshape), stride=(self.fshape, self.tshape))
        self.cls_tokens = nn.Parameter(torch.zeros(1, self.num_cls_tokens, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + self.num_cls_tokens, dim))
        self.pos_drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(dim, heads, config.mlp_ratio, config.dropout, config.attention) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_tokens, std=0.02)
        self.apply(_init_weights)

    def _image(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().transpose(1, 2).unsqueeze(1)  # [B, T, F] -> [B, 1, F, T]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch embeddings ``[B, N, D]`` of fbank ``x`` [B, T, F] (no positions yet)."""
        return self.patch_embed(self._image(x)).flatten(2).transpose(1, 2)

    def unfold(self, x: torch.Tensor) -> torch.Tensor:
        """Raw patches ``[B, N, fshape·tshape]`` in token order (SSAST's ``self.unfold``)."""
        kernel = (self.fshape, self.tshape)
        return nn.functional.unfold(self._image(x), kernel_size=kernel, stride=kernel).transpose(1, 2)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Transformer outputs ``[B, C + N, D]`` (C CLS tokens first) of patch embeddings ``[B, N, D]``."""
        cls = self.cls_tokens.expand(tokens.shape[0], -1, -1)
        x = self.pos_drop(torch.cat([cls, tokens], dim=1) + self.pos_embed)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def encode_at(self, tokens: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``encode(tokens)[:, C:]`` gathered at patch positions ``index`` ``[B, K]``, ``[B, K, D]``;
        the last block computes only those outputs (SSAST reads the masked positions only)."""
        cls = self.cls_tokens.expand(tokens.shape[0], -1, -1)
        x = self.pos_drop(torch.cat([cls, tokens], dim=1) + self.pos_embed)
        for block in self.blocks[:-1]:
            x = block(x)
        return self.norm(self.blocks[-1].forward_at(x, index + self.num_cls_tokens))

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        out = self.encode(self.embed(batch["x"]))
        if self.pool == "cls":
            return out[:, : self.num_cls_tokens].mean(1)
        return out[:, self.num_cls_tokens :].mean(1)


def _init_weights(module: nn.Module) -> None:
    """timm ViT init: trunc-normal(0.02) linear weights, zero biases, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.MultiheadAttention):
        nn.init.trunc_normal_(module.in_proj_weight, std=0.02)
        nn.init.zeros_(module.in_proj_bias)


def build_ast(config: ASTConfig, data_info: Mapping[str, Any]) -> ASTEncoder:
    return ASTEncoder(config, data_info)
