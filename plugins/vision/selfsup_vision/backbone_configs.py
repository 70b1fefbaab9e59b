"""Config dataclasses of the image backbones (torch-free, so ``plugin.py`` imports nothing heavy).

Each backbone is built by :mod:`selfsup_vision.encoders.backbones` with timm; the image
channels and side come from the dataset's ``data_info``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["ResNetConfig", "ViTConfig", "RegNetYConfig", "VIT_SIZES", "RESNET_DEPTHS"]

#: timm model names of the ViT sizes (width, depth, heads as in DeiT / DINO).
VIT_SIZES = {"tiny": "vit_tiny_patch16_224", "small": "vit_small_patch16_224", "base": "vit_base_patch16_224"}
#: timm model names of the ResNet depths.
RESNET_DEPTHS = {18: "resnet18", 50: "resnet50"}


@dataclass
class ResNetConfig:
    """``resnet18`` / ``resnet50``: timm's ResNet, global-average-pooled features (512 / 2048-d).

    ``cifar_stem=true`` replaces the 7×7 stride-2 convolution and the max-pool by one 3×3
    stride-1 convolution (the CIFAR variant of SimCLR's ``resnet.py``, solo-learn, lightly),
    so 32 px images keep a 4×4 map at the last stage.
    """

    #: 18 or 50.
    depth: int = 18
    #: 3×3 stride-1 first convolution and no max-pool (for 32 px images); ``None``: on when the images are at most 64 px.
    cifar_stem: Optional[bool] = None
    #: Zero-initialise the last BatchNorm of every residual block (timm's ``zero_init_last``).
    zero_init_last: bool = True


@dataclass
class ViTConfig:
    """``vit-tiny`` / ``vit-small`` / ``vit-base``: timm's VisionTransformer; the CLS token is the embedding.

    ``img_size`` defaults to the data's side; ``patch_size`` 16 at 224 px (DINO's ViT-S/16),
    4 for 32 px CIFAR images (64 tokens).
    """

    #: ``tiny`` (192-d, 3 heads), ``small`` (384-d, 6 heads) or ``base`` (768-d, 12 heads); 12 blocks each.
    size: str = "small"
    #: Patch side in pixels; must divide the image side.
    patch_size: int = 16
    #: Input side; ``None``: the dataset's ``image_size``.
    img_size: Optional[int] = None
    #: Stochastic depth rate (DINO: 0.1 for ViT-S).
    drop_path_rate: float = 0.0
    #: Transformer blocks; ``None``: the size's 12. Fewer blocks give a CPU-sized ViT (the quality tests use 2).
    depth: Optional[int] = None


@dataclass
class RegNetYConfig:
    """``regnety``: timm's RegNetY trunk (SEER's architecture family), global-average-pooled.

    SEER trains RegNetY-256GF and larger; ``variant`` picks any timm ``regnety_*`` model
    (``regnety_002`` is the CPU-scale default, ``regnety_016`` / ``regnety_032`` / ``regnety_320`` larger).

    ``cifar_stem=true`` makes the 3×3 stem convolution stride 1 (pycls's ``ResStemCifar``: 3×3,
    BN, ReLU) and the first stage stride 1, so the trunk's total stride is 8 instead of 32 and
    32 px images keep a 4×4 map at the last stage (as the ResNets' CIFAR stem). Without it a
    ≤ 32 px image ends as a 1×1 map, and with ``zero_init_last`` (every block's residual branch
    zero at init, so a block passes its strided 1×1 shortcut) the random-init trunk reads only
    the image's top-left 2×2 pixels: on ``digits`` every image gives the same vector.
    """

    #: A timm ``regnety_*`` model name.
    variant: str = "regnety_002"
    #: Stride-1 3×3 stem and stride-1 first stage (total stride 8; for 32 px images); ``None``: on when the images are at most 64 px.
    cifar_stem: Optional[bool] = None
    #: Zero-initialise the last BatchNorm of every residual block (timm's ``zero_init_last``).
    zero_init_last: bool = True
