"""What the joint-embedding objectives share: the image-encoder capability, the view
pipeline built from a :class:`~selfsup_vision.ssl_configs.ViewsConfig`, and multi-resolution
forwards (views of one size go through the network together, as DINO's ``MultiCropWrapper``
and SwAV's ``forward`` do, so BatchNorm sees the same batches as in the official code).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from selfsup.capabilities import require_capability
from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective

from ..ssl_configs import ViewsConfig
from ..views.bss import batch_styles_standardization
from ..views.multicrop import MultiCrop
from ..views.policies import CropSet, preset

__all__ = ["ImageEncoder", "ViewObjective", "crop_sets", "multi_res_forward", "Branch"]


@runtime_checkable
class ImageEncoder(Protocol):
    """An encoder that embeds image tensors: ``forward_images(x [B, C, H, W]) -> [B, embed_dim]``."""

    embed_dim: int

    def forward_images(self, x: torch.Tensor) -> torch.Tensor: ...


def crop_sets(config: ViewsConfig, data_info: Mapping[str, Any]) -> tuple[CropSet, ...]:
    side = int(data_info.get("height", 32))
    blur = config.blur if config.blur is not None else side >= 64
    return preset(
        config.views,
        local_crops=config.local_crops,
        global_scale=tuple(config.global_scale) if config.global_scale is not None else None,
        local_scale=tuple(config.local_scale) if config.local_scale is not None else None,
        local_size=config.local_size,
        blur=blur,
    )


def multi_res_forward(network: Callable[[torch.Tensor], torch.Tensor], views: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``network`` on each view; consecutive views of one size share one forward pass."""
    outputs: list[torch.Tensor] = []
    start = 0
    while start < len(views):
        end = start
        while end < len(views) and views[end].shape[-2:] == views[start].shape[-2:]:
            end += 1
        out = network(torch.cat(list(views[start:end])))
        outputs.extend(out.chunk(end - start))
        start = end
    return outputs


class Branch(nn.Module):
    """``head(backbone.forward_images(x))``: an online or target branch."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.forward_images(x))


class ViewObjective(Objective):
    """Base of the joint-embedding objectives: checks the encoder and owns the view pipeline."""

    method = "view objective"

    def __init__(self, encoder: nn.Module, config: ViewsConfig, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        require_capability(
            encoder, ImageEncoder, objective=self.method,
            fix="Use an image backbone, e.g. encoder=resnet18 or encoder=vit-small.",
        )
        self.config = config
        self.views = MultiCrop(crop_sets(config, data_info))
        if config.view_transform not in (None, "bss"):
            raise ConfigError(
                f"objective_config.view_transform={config.view_transform!r} is unknown. Use view_transform=bss or null."
            )
        if not (0.0 <= config.bss_ratio <= 1.0 and 0.0 <= config.bss_strength <= 1.0):
            raise ConfigError(
                f"objective_config.bss_ratio={config.bss_ratio}, bss_strength={config.bss_strength} must be in [0, 1]. "
                "Use bss_ratio=0.1, bss_strength=1.0."
            )

    def make_views(self, batch: Batch) -> list[torch.Tensor]:
        views, _ = self.views(batch["x"])
        if self.config.view_transform == "bss":
            views = [
                batch_styles_standardization(v, ratio=self.config.bss_ratio, strength=self.config.bss_strength)
                for v in views
            ]
        return views
