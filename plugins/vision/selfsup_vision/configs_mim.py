"""Config dataclasses of the masked-image-modelling components (``mae-vit``, ``mae``).

Standard library only (``plugin.py`` registers every component without importing torch).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAEViTConfig", "MAEConfig"]


@dataclass
class MAEViTConfig:
    """``mae-vit``: the MAE encoder, a ViT of timm ``Block`` s with fixed 2-D sin-cos positions.

    Defaults are a CPU-sized ViT for 32×32 images (patch 4 → 64 patches, width 192, 6 blocks);
    the paper's ViT-B/16 is ``patch_size=16 embed_dim=768 depth=12 num_heads=12``.
    """

    #: Side of the square patches; the image side must be a multiple of it.
    patch_size: int = 4
    #: Token width, also the embedding size the probes read.
    embed_dim: int = 192
    #: Number of transformer blocks.
    depth: int = 6
    #: Attention heads per block (must divide ``embed_dim``).
    num_heads: int = 3
    #: MLP hidden width / token width.
    mlp_ratio: float = 4.0
    #: The embedding probes read: ``mean`` (average of the normalised patch tokens, the
    #: official fine-tuning default ``global_pool``) or ``cls`` (the class token, the official
    #: linear-probing default).
    pool: str = "mean"


@dataclass
class MAEConfig:
    """``mae``: masked autoencoder (He et al. 2022), ``facebookresearch/mae:models_mae.py``."""

    #: Fraction of patches removed per image (the paper's 0.75).
    mask_ratio: float = 0.75
    #: Decoder width (the paper's 512 for ViT-B; narrower here for the CPU-sized encoder).
    decoder_embed_dim: int = 128
    #: Decoder blocks (the paper's 8; its Table 1a: deeper decoders help linear probing, one block suffices for fine-tuning).
    decoder_depth: int = 2
    #: Decoder attention heads.
    decoder_num_heads: int = 4
    #: Regress per-patch normalised pixels (the paper's default, ``--norm_pix_loss``).
    norm_pix_loss: bool = True
