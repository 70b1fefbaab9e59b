"""Image backbones from timm, registered as vision encoders (``resnet18``, ``resnet50``,
``vit-tiny``, ``vit-small``, ``vit-base``, ``regnety``).

Every backbone is wrapped in :class:`ImageBackbone`: ``encoder(batch)`` embeds
``batch["x"]`` (float ``[B, C, H, W]`` in ``[-1, 1]``, the vision datasets' convention;
no further normalisation, a deliberate simplification of the ImageNet mean/std
normalisation the papers use), ``forward_images(x)`` embeds a tensor (the objectives'
views) and ``feature_map(x)`` returns the last spatial features (``[B, C, h, w]`` for the
CNNs, patch tokens ``[B, N, D]`` for ViTs; OBoW-style methods) and, for the ResNets,
``feature_maps(x)`` the last two stages' maps (``layer3``, ``layer4``: OBoW's ``block3`` and
``block4``). ``embed_dim`` is the pooled
width (ResNet-18 512, ResNet-50 2048) or the CLS token's width (ViT-T 192, S 384, B 768).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import torch
from torch import nn

from selfsup.errors import ConfigError

from ..backbone_configs import RESNET_DEPTHS, VIT_SIZES, RegNetYConfig, ResNetConfig, ViTConfig

__all__ = [
    "ImageBackbone",
    "image_geometry",
    "build_resnet",
    "build_resnet18",
    "build_resnet50",
    "build_vit",
    "build_vit_tiny",
    "build_vit_small",
    "build_vit_base",
    "build_regnety",
]


class ImageBackbone(nn.Module):
    """A timm trunk with ``num_classes=0`` behind the selfsup encoder contract."""

    def __init__(self, trunk: nn.Module, embed_dim: int, family: str) -> None:
        super().__init__()
        self.trunk = trunk
        self.embed_dim = int(embed_dim)
        self.family = family

    def forward_images(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> ``[B, embed_dim]`` (pooled features or the CLS token)."""
        return self.trunk(x)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk's last features before pooling."""
        return self.trunk.forward_features(x)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """ResNets: ``[layer3(x), layer4(x)]`` (``[B, C3, h3, w3]``, ``[B, C4, h4, w4]``; ResNet-18:
        256 and 512 channels), the stages OBoW builds its BoW targets on; ``layer4`` is the map
        ``forward_images`` pools. Other families raise a named :class:`ConfigError`."""
        if not self.family.startswith("resnet"):
            raise ConfigError(
                f"feature_maps: {self.family} has no ResNet stages (block3/block4). Use encoder=resnet18 or encoder=resnet50."
            )
        t = self.trunk
        h = t.maxpool(t.act1(t.bn1(t.conv1(x))))
        h3 = t.layer3(t.layer2(t.layer1(h)))
        return [h3, t.layer4(h3)]

    def feature_map_channels(self) -> list[int]:
        """Channels of :meth:`feature_maps`' two maps."""
        t = self.trunk
        return [int(t.feature_info[-2]["num_chs"]), int(t.feature_info[-1]["num_chs"])]

    def forward(self, batch: Union[Mapping[str, Any], torch.Tensor]) -> torch.Tensor:
        x = batch["x"] if isinstance(batch, Mapping) else batch
        return self.forward_images(x)


def image_geometry(data_info: Mapping[str, Any], encoder: str) -> tuple[int, int]:
    """(channels, side) of the data's images; a named error for non-image data."""
    if "channels" not in data_info or "height" not in data_info:
        raise ConfigError(f"{encoder} needs image data: data_info has no 'channels'/'height'. Use a vision dataset.")
    return int(data_info["channels"]), int(data_info["height"])


def build_resnet(config: ResNetConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    import timm

    if config.depth not in RESNET_DEPTHS:
        raise ConfigError(f"encoder_config.depth={config.depth} is not available. Use depth=18 or depth=50.")
    channels, side = image_geometry(data_info, f"resnet{config.depth}")
    trunk = timm.create_model(
        RESNET_DEPTHS[config.depth], pretrained=False, num_classes=0, in_chans=channels,
        zero_init_last=config.zero_init_last,
    )
    cifar = config.cifar_stem if config.cifar_stem is not None else side <= 64
    if cifar:
        trunk.conv1 = nn.Conv2d(channels, trunk.conv1.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        nn.init.kaiming_normal_(trunk.conv1.weight, mode="fan_out", nonlinearity="relu")
        trunk.maxpool = nn.Identity()
    return ImageBackbone(trunk, trunk.num_features, f"resnet{config.depth}")


def build_vit(config: ViTConfig, data_info: Mapping[str, Any], size: str | None = None) -> ImageBackbone:
    import timm

    size = size or config.size
    if size not in VIT_SIZES:
        raise ConfigError(f"encoder_config.size={size!r} is not a ViT size. Use one of {sorted(VIT_SIZES)}.")
    channels, side = image_geometry(data_info, f"vit-{size}")
    img_size = config.img_size or side
    if config.patch_size < 1 or img_size % config.patch_size:
        raise ConfigError(
            f"encoder_config.patch_size={config.patch_size} does not divide the {img_size}-px images. "
            f"Use a divisor of {img_size}, e.g. encoder_config.patch_size={4 if img_size % 4 == 0 else 1}."
        )
    if config.depth is not None and config.depth < 1:
        raise ConfigError(f"encoder_config.depth={config.depth} must be a positive number of blocks. Use depth=12 (or null).")
    depth = {} if config.depth is None else {"depth": config.depth}
    trunk = timm.create_model(
        VIT_SIZES[size], pretrained=False, num_classes=0, in_chans=channels, img_size=img_size,
        patch_size=config.patch_size, drop_path_rate=config.drop_path_rate, global_pool="token", **depth,
        dynamic_img_size=True, dynamic_img_pad=True,  # multi-crop: smaller crops, interpolated positions (DINO)
    )
    return ImageBackbone(trunk, trunk.num_features, f"vit-{size}")


def build_vit_tiny(config: ViTConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    return build_vit(config, data_info, "tiny")


def build_vit_small(config: ViTConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    return build_vit(config, data_info, "small")


def build_vit_base(config: ViTConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    return build_vit(config, data_info, "base")


def build_resnet18(config: ResNetConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    return build_resnet(ResNetConfig(depth=18, cifar_stem=config.cifar_stem, zero_init_last=config.zero_init_last), data_info)


def build_resnet50(config: ResNetConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    return build_resnet(ResNetConfig(depth=50, cifar_stem=config.cifar_stem, zero_init_last=config.zero_init_last), data_info)


def build_regnety(config: RegNetYConfig, data_info: Mapping[str, Any]) -> ImageBackbone:
    import timm

    if not config.variant.startswith("regnety_") or config.variant not in timm.list_models("regnety_*"):
        raise ConfigError(
            f"encoder_config.variant={config.variant!r} is not a timm RegNetY. Use e.g. encoder_config.variant=regnety_002."
        )
    channels, side = image_geometry(data_info, "regnety")
    trunk = timm.create_model(
        config.variant, pretrained=False, num_classes=0, in_chans=channels, zero_init_last=config.zero_init_last,
    )
    cifar = config.cifar_stem if config.cifar_stem is not None else side <= 64
    if cifar:
        _regnet_cifar_stem(trunk)
    return ImageBackbone(trunk, trunk.num_features, "regnety")


def _regnet_cifar_stem(trunk: nn.Module) -> None:
    """Total stride 32 -> 8: the stem's 3×3 convolution (pycls ``ResStemCifar``) and the first
    stage's strided convolutions (the grouped 3×3 and the 1×1 shortcut of ``s1.b1``) get stride 1.

    Only strides change: the weights keep timm's initialisation and the static paddings (1 for
    3×3, 0 for 1×1) are those of stride 1 too, so each map keeps its side."""
    first = trunk.s1.b1
    stem, shortcut = getattr(trunk.stem, "conv", trunk.stem), getattr(first.downsample, "conv", first.downsample)
    for conv in (stem, first.conv2.conv, shortcut):
        if not isinstance(conv, nn.Conv2d) or conv.padding != ((conv.kernel_size[0] - 1) // 2,) * 2:
            raise ConfigError(
                f"encoder_config.cifar_stem=true needs timm's plain RegNetY stem; this variant has {conv!r}. "
                "Use encoder_config.cifar_stem=false."
            )
        conv.stride = (1, 1)
    for info in trunk.feature_info:
        info["reduction"] = max(1, info["reduction"] // (2 if info["module"] == "stem" else 4))
