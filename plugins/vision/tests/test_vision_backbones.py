"""timm backbones behind the encoder contract: CIFAR stem, CLS token, named errors."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_vision.backbone_configs import RegNetYConfig, ResNetConfig, ViTConfig
from selfsup_vision.encoders.backbones import build_regnety, build_resnet18, build_resnet50, build_vit_tiny

INFO32 = {"channels": 3, "height": 32, "width": 32}


def test_resnet18_cifar_stem_keeps_a_4x4_map_at_32px() -> None:
    enc = build_resnet18(ResNetConfig(), INFO32)
    assert enc.embed_dim == 512
    conv = enc.trunk.conv1
    assert (conv.kernel_size, conv.stride) == ((3, 3), (1, 1)) and isinstance(enc.trunk.maxpool, torch.nn.Identity)
    x = torch.randn(2, 3, 32, 32)
    assert enc.feature_map(x).shape == (2, 512, 4, 4)
    assert torch.allclose(enc({"x": x}), enc.feature_map(x).mean((2, 3)), atol=1e-5)  # average pooling


def test_resnet_imagenet_stem_when_asked_and_for_large_images() -> None:
    enc = build_resnet18(ResNetConfig(cifar_stem=False), INFO32)
    assert enc.trunk.conv1.kernel_size == (7, 7)
    assert build_resnet18(ResNetConfig(), {"channels": 1, "height": 96}).trunk.conv1.kernel_size == (7, 7)
    assert build_resnet50(ResNetConfig(), INFO32).embed_dim == 2048


def test_vit_embeds_the_cls_token() -> None:
    enc = build_vit_tiny(ViTConfig(patch_size=4), INFO32)
    assert enc.embed_dim == 192
    x = torch.randn(2, 3, 32, 32)
    tokens = enc.feature_map(x)
    assert tokens.shape == (2, 1 + 64, 192)
    assert torch.allclose(enc({"x": x}), tokens[:, 0], atol=1e-5)


def test_vit_takes_smaller_crops_with_interpolated_positions() -> None:
    enc = build_vit_tiny(ViTConfig(patch_size=4), INFO32)
    assert enc({"x": torch.randn(2, 3, 14, 14)}).shape == (2, 192)  # a DINO local crop at 32 px


def test_vit_patch_must_divide_the_image() -> None:
    with pytest.raises(ConfigError, match="patch_size=5"):
        build_vit_tiny(ViTConfig(patch_size=5), INFO32)


def test_vit_depth_sets_the_number_of_blocks() -> None:
    assert len(build_vit_tiny(ViTConfig(patch_size=4), INFO32).trunk.blocks) == 12
    shallow = build_vit_tiny(ViTConfig(patch_size=4, depth=2), INFO32)
    assert len(shallow.trunk.blocks) == 2 and shallow.embed_dim == 192
    with pytest.raises(ConfigError, match="encoder_config.depth=0"):
        build_vit_tiny(ViTConfig(patch_size=4, depth=0), INFO32)


def test_regnety_and_bad_variant() -> None:
    enc = build_regnety(RegNetYConfig(), INFO32)
    assert enc({"x": torch.randn(2, 3, 32, 32)}).shape == (2, enc.embed_dim)
    with pytest.raises(ConfigError, match="regnety_002"):
        build_regnety(RegNetYConfig(variant="resnet18"), INFO32)


def test_non_image_data_is_a_named_error() -> None:
    with pytest.raises(ConfigError, match="needs image data"):
        build_resnet18(ResNetConfig(), {"num_features": 4})
