"""``mae``: masked autoencoders (He et al., CVPR 2022), ``facebookresearch/mae:models_mae.py``.

The encoder (:class:`~selfsup_vision.encoders.mae_vit.MAEViT`) sees only the ``1 − mask_ratio``
visible patches; a lightweight decoder (``decoder_embed`` → mask tokens unshuffled into place →
fixed sin-cos positions → ``decoder_depth`` timm blocks → LayerNorm → ``decoder_pred``) predicts
every patch's pixels, and :func:`~selfsup_vision.losses.mae.mae_loss` scores the removed ones
against per-patch-normalised targets. Module names and initialisation equal the official ones;
``plugins/vision/tests/test_vision_mae.py`` checks the loss equals the official model's on one
fixed input with fixed weights and noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import torch
from torch import nn

from selfsup.interfaces import Batch, Objective, StepOutput
from selfsup.errors import ConfigError

from ..configs_mim import MAEConfig
from ..encoders.mae_vit import MAEViT, _layer_norm, init_like_official, patchify, sincos_2d
from ..losses.mae import mae_loss

__all__ = ["MAE", "MAEDecoder"]


class MAEDecoder(nn.Module):
    """The official ``forward_decoder``: latent ``[N, 1 + keep, D]`` → predictions ``[N, L, p²·C]``."""

    def __init__(self, *, embed_dim: int, num_patches: int, grid_size: int, patch_dim: int, config: MAEConfig, mlp_ratio: float) -> None:
        super().__init__()
        from timm.models.vision_transformer import Block

        width = config.decoder_embed_dim
        self.decoder_embed = nn.Linear(embed_dim, width, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, width), requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            Block(width, config.decoder_num_heads, mlp_ratio, qkv_bias=True, norm_layer=_layer_norm)
            for _ in range(config.decoder_depth)
        )
        self.decoder_norm = _layer_norm(width)
        self.decoder_pred = nn.Linear(width, patch_dim, bias=True)
        self.decoder_pos_embed.data.copy_(sincos_2d(width, grid_size).unsqueeze(0))
        nn.init.normal_(self.mask_token, std=0.02)
        self.apply(init_like_official)

    def forward(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(latent)
        n, length = ids_restore.shape
        mask_tokens = self.mask_token.expand(n, length + 1 - x.shape[1], -1)
        rest = torch.cat([x[:, 1:, :], mask_tokens], dim=1)
        rest = torch.gather(rest, 1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[2]))
        x = torch.cat([x[:, :1, :], rest], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:, :]


class MAE(Objective):
    """Masked autoencoder on the batch's ``"x"`` images (``[N, C, H, W]``)."""

    def __init__(self, config: MAEConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        if not isinstance(encoder, MAEViT):
            raise ConfigError(
                f"mae needs the mae-vit encoder (it encodes visible patches only), got {type(encoder).__name__}. "
                "Use encoder=mae-vit."
            )
        if not 0.0 < config.mask_ratio < 1.0:
            raise ConfigError(f"mae: objective_config.mask_ratio={config.mask_ratio} is not in (0, 1). Use 0.75.")
        if config.decoder_embed_dim % config.decoder_num_heads or config.decoder_embed_dim % 4 or config.decoder_depth < 1:
            raise ConfigError(
                f"mae: objective_config.decoder_embed_dim={config.decoder_embed_dim} must be divisible by 4 and by "
                f"decoder_num_heads={config.decoder_num_heads}, and decoder_depth >= 1. Use e.g. decoder_embed_dim=128 decoder_num_heads=4."
            )
        self.config = config
        p = encoder.patch_size
        self.decoder = MAEDecoder(
            embed_dim=encoder.embed_dim, num_patches=encoder.num_patches, grid_size=encoder.grid_size,
            patch_dim=p * p * encoder.in_chans, config=config, mlp_ratio=encoder.mlp_ratio,
        )

    def loss(self, images: torch.Tensor, noise: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(loss, pred, mask)`` as the official ``forward(imgs, mask_ratio)``; ``noise`` fixes the masks."""
        latent, mask, ids_restore = self.encoder.forward_masked(images, self.config.mask_ratio, noise)
        pred = self.decoder(latent, ids_restore)
        target = patchify(images, self.encoder.patch_size)
        return mae_loss(pred, target, mask, norm_pix=self.config.norm_pix_loss), pred, mask

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        loss, _, mask = self.loss(batch["x"])
        return {"loss": loss, "masked_fraction": mask.mean().detach()}
