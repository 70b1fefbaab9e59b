"""``mae-vit``: MAE's ViT encoder (``facebookresearch/mae:models_mae.py``, commit ``efb2a80``).

timm's ``PatchEmbed`` and ``Block`` (as the official code imports them), a class token, fixed
2-D sin-cos position embeddings (``util/pos_embed.py``), a final LayerNorm (eps 1e-6).
Parameter names equal the official ones (``patch_embed``, ``cls_token``, ``pos_embed``,
``blocks``, ``norm``), so an official state dict's encoder part loads as is.

* :meth:`MAEViT.forward_masked` is the official ``forward_encoder``: add positions, keep a
  random ``1 − mask_ratio`` of the patches per image (:func:`random_masking`, argsort of
  uniform noise), prepend the class token, run the blocks on the visible tokens only.
* ``forward(batch)`` (probes, embed, export) runs every patch and returns ``[N, embed_dim]``:
  the mean of the normalised patch tokens (``pool="mean"``) or the class token (``"cls"``).
  Deviation: the official fine-tuning model averages the *un-normalised* tokens and applies a
  fresh ``fc_norm``; one encoder serves every probe here, so the pretrained ``norm`` is reused.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Optional

import torch
from torch import nn

from selfsup.errors import ConfigError

from ..configs_mim import MAEViTConfig

__all__ = ["MAEViT", "build_mae_vit", "sincos_2d", "patchify", "random_masking"]


def _sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    out = positions.reshape(-1).to(torch.float64)[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_2d(dim: int, grid_size: int, *, cls_token: bool = True) -> torch.Tensor:
    """The official ``get_2d_sincos_pos_embed``: ``[(1 +) grid², dim]``, float32.

    Half the channels encode ``grid[0]`` (the column index: numpy's ``meshgrid(w, h)``), half
    ``grid[1]`` (the row); each half is ``[sin(pos·ω), cos(pos·ω)]`` with ``ω_k = 10000^(−2k/(dim/2))``.
    A leading zero row for the class token.
    """
    if dim % 4:
        raise ConfigError(f"sin-cos position embeddings need a width divisible by 4, got {dim}. Use e.g. embed_dim=192.")
    coords = torch.arange(grid_size, dtype=torch.float64)
    cols, rows = torch.meshgrid(coords, coords, indexing="xy")  # numpy meshgrid(w, h): cols vary along a row
    emb = torch.cat([_sincos_1d(dim // 2, cols), _sincos_1d(dim // 2, rows)], dim=1)
    if cls_token:
        emb = torch.cat([torch.zeros(1, dim, dtype=emb.dtype), emb], dim=0)
    return emb.float()


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """``[N, C, H, W] → [N, L, p²·C]`` in the official order (``nchpwq → nhwpqc``)."""
    n, c, h, w = images.shape
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    x = torch.einsum("nchpwq->nhwpqc", x)
    return x.reshape(n, (h // patch) * (w // patch), patch * patch * c)


def random_masking(
    x: torch.Tensor, mask_ratio: float, noise: Optional[torch.Tensor] = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The official per-sample shuffle: keep the ``int(L·(1 − mask_ratio))`` patches of smallest noise.

    Returns ``(kept tokens [N, keep, D], mask [N, L] with 1 = removed, ids_restore [N, L])``.
    """
    n, length, dim = x.shape
    keep = int(length * (1 - mask_ratio))
    if noise is None:
        noise = torch.rand(n, length, device=x.device)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :keep]
    kept = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, dim))
    mask = torch.ones(n, length, device=x.device)
    mask[:, :keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return kept, mask, ids_restore


def init_like_official(module: nn.Module) -> None:
    """``_init_weights``: xavier-uniform Linear weights, zero biases, unit LayerNorms."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class MAEViT(nn.Module):
    """The MAE encoder; ``embed_dim`` is the token width."""

    export_formats = ("onnx", "torchscript", "safetensors")

    def __init__(
        self, *, image_size: int, in_chans: int, patch_size: int, embed_dim: int, depth: int,
        num_heads: int, mlp_ratio: float, pool: str = "mean",
    ) -> None:
        super().__init__()
        from timm.models.vision_transformer import Block, PatchEmbed

        self.patch_size = patch_size
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.pool = pool
        self.mlp_ratio = mlp_ratio
        self.patch_embed = PatchEmbed(image_size, patch_size, in_chans, embed_dim)
        self.num_patches = int(self.patch_embed.num_patches)
        self.grid_size = image_size // patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches + 1, embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=_layer_norm) for _ in range(depth)
        )
        self.norm = _layer_norm(embed_dim)
        self.pos_embed.data.copy_(sincos_2d(embed_dim, self.grid_size).unsqueeze(0))
        w = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.normal_(self.cls_token, std=0.02)
        for module in [*self.blocks.modules(), self.norm]:
            init_like_official(module)

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Patch tokens with their positions, ``[N, L, D]``."""
        return self.patch_embed(images) + self.pos_embed[:, 1:, :]

    def run_blocks(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prepend the class token, run the blocks and the final norm: ``[N, 1 + L', D]``."""
        cls = (self.cls_token + self.pos_embed[:, :1, :]).expand(tokens.shape[0], -1, -1)
        x = torch.cat([cls, tokens], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward_masked(
        self, images: torch.Tensor, mask_ratio: float, noise: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The official ``forward_encoder``: ``(latent [N, 1 + keep, D], mask [N, L], ids_restore)``."""
        kept, mask, ids_restore = random_masking(self.tokens(images), mask_ratio, noise)
        return self.run_blocks(kept), mask, ids_restore

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        x = self.run_blocks(self.tokens(batch["x"]))
        return x[:, 0] if self.pool == "cls" else x[:, 1:].mean(dim=1)


#: The official ``partial(nn.LayerNorm, eps=1e-6)``.
_layer_norm = functools.partial(nn.LayerNorm, eps=1e-6)


def build_mae_vit(config: MAEViTConfig, data_info: Mapping[str, Any]) -> MAEViT:
    """The ``mae-vit`` factory: sized from ``data_info`` (``channels``, ``height``, ``width``)."""
    if "channels" not in data_info or "height" not in data_info:
        raise ConfigError("mae-vit needs image data: data_info has no 'channels'/'height'. Use a vision dataset.")
    height, width = int(data_info["height"]), int(data_info.get("width", data_info["height"]))
    if height != width or height % config.patch_size:
        raise ConfigError(
            f"mae-vit needs square images whose side is a multiple of encoder_config.patch_size="
            f"{config.patch_size}, got {height}x{width}. Set data.image_size to a multiple of {config.patch_size}."
        )
    if config.embed_dim % config.num_heads or config.embed_dim % 4:
        raise ConfigError(
            f"mae-vit: encoder_config.embed_dim={config.embed_dim} must be divisible by 4 and by "
            f"num_heads={config.num_heads}. Use e.g. embed_dim=192 num_heads=3."
        )
    if config.pool not in ("mean", "cls"):
        raise ConfigError(f"mae-vit: encoder_config.pool={config.pool!r} is not 'mean' or 'cls'. Use pool=mean.")
    if config.depth < 1 or config.patch_size < 1 or config.mlp_ratio <= 0:
        raise ConfigError("mae-vit: depth, patch_size and mlp_ratio must be positive. Use e.g. depth=6 patch_size=4.")
    return MAEViT(
        image_size=height, in_chans=int(data_info["channels"]), patch_size=config.patch_size,
        embed_dim=config.embed_dim, depth=config.depth, num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio, pool=config.pool,
    )
