"""The ``biggan-d`` encoder factory: the discriminator trunk, sized from ``data_info``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from selfsup.errors import ConfigError

from ..configs import BigGANDiscriminatorConfig
from .biggan import DiscriminatorTrunk

__all__ = ["build_discriminator_trunk"]


def build_discriminator_trunk(config: BigGANDiscriminatorConfig, data_info: Mapping[str, Any]) -> DiscriminatorTrunk:
    if "channels" not in data_info:
        raise ConfigError("biggan-d needs image data: data_info has no 'channels'. Use a vision dataset.")
    if config.channels < 1 or config.blocks < 1 or not 0 <= config.downsample_blocks <= config.blocks:
        raise ConfigError(
            f"encoder_config channels={config.channels}, blocks={config.blocks}, downsample_blocks="
            f"{config.downsample_blocks} are invalid. Use channels >= 1, blocks >= 1, 0 <= downsample_blocks <= blocks."
        )
    return DiscriminatorTrunk(
        image_channels=int(data_info["channels"]), channels=config.channels, blocks=config.blocks,
        downsample_blocks=config.downsample_blocks, spectral_norm=config.spectral_norm, init_std=config.init_std,
    )
