"""BigGAN-style residual generator and discriminator for small images (Brock et al., ICLR 2019).

Architecture as in ``ajbrock/BigGAN-PyTorch`` ``G_arch[32]`` / ``D_arch[32]``, which
``liang-hou/augself-gan:augself-biggan/BigGAN.py`` uses for CIFAR:

* **G**: z -> linear -> ``[C, 4, 4]``; ``log2(side/4)`` GBlocks (BN-ReLU-upsample-conv3-BN-ReLU-conv3
  plus an upsample-conv1 shortcut); BN-ReLU-conv3-tanh. Class-conditional BatchNorm
  (gain 1 + e_g(y), bias e_b(y), plain embeddings without spectral norm) when ``num_classes`` is given. Simplification: no
  hierarchical z / shared embedding (BigGAN's ``hier``), which the 32-px CIFAR model
  also leaves off.
* **D trunk** (the encoder): ``blocks`` DBlocks of ``channels`` channels (conv3-ReLU-conv3 with a
  conv1 shortcut, average-pool downsampling in the first ``downsample_blocks``; blocks after
  the first are pre-activated), then ReLU and global **sum** pooling (SN-GAN), giving
  the feature h that the output layer, the projection and AugSelf's heads read.

Spectral normalisation (Miyato et al., 2018) with one power iteration per training
forward, as BigGAN's ``layers.SN``; written here as plain modules (a buffer ``u``) so
that the networks pickle and deep-copy.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.errors import ConfigError

__all__ = ["SNConv2d", "SNLinear", "SNEmbedding", "DBlock", "GBlock", "Generator", "DiscriminatorTrunk", "init_normal"]


class _SpectralNorm:
    """Mixin: ``self.weight`` divided by its largest singular value (one power iteration per train forward)."""

    weight: nn.Parameter
    u: torch.Tensor
    use_sn: bool

    def _setup_sn(self, use_sn: bool) -> None:
        self.use_sn = use_sn
        rows = self.weight.shape[0]
        self.register_buffer("u", F.normalize(torch.randn(1, rows), dim=1))  # type: ignore[attr-defined]

    def normalised_weight(self) -> torch.Tensor:
        if not self.use_sn:
            return self.weight
        matrix = self.weight.view(self.weight.shape[0], -1)
        with torch.no_grad():
            v = F.normalize(self.u @ matrix, dim=1, eps=1e-12)
            u = F.normalize(v @ matrix.t(), dim=1, eps=1e-12)
            if self.training:  # type: ignore[attr-defined]
                self.u.copy_(u)
        sigma = (u @ matrix @ v.t()).squeeze()
        return self.weight / sigma


class SNConv2d(nn.Conv2d, _SpectralNorm):
    def __init__(self, *args: Any, spectral_norm: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_sn(spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.normalised_weight(), self.bias, self.stride, self.padding, self.dilation, self.groups)


class SNLinear(nn.Linear, _SpectralNorm):
    def __init__(self, *args: Any, spectral_norm: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_sn(spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalised_weight(), self.bias)


class SNEmbedding(nn.Embedding, _SpectralNorm):
    def __init__(self, *args: Any, spectral_norm: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_sn(spectral_norm)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        return F.embedding(index, self.normalised_weight())


def init_normal(module: nn.Module, std: float) -> None:
    """BigGAN's ``N02`` init: N(0, std) for every conv, linear and embedding weight."""
    for child in module.modules():
        if isinstance(child, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(child.weight, 0.0, std)
            if getattr(child, "bias", None) is not None:
                nn.init.zeros_(child.bias)


class DBlock(nn.Module):
    """conv3-ReLU-conv3 (+ optional avg-pool) with a conv1 shortcut; pre-activation after block 1."""

    def __init__(self, in_channels: int, out_channels: int, *, downsample: bool, preactivation: bool, sn: bool) -> None:
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = SNConv2d(in_channels, out_channels, 3, padding=1, spectral_norm=sn)
        self.conv2 = SNConv2d(out_channels, out_channels, 3, padding=1, spectral_norm=sn)
        self.learnable_shortcut = in_channels != out_channels or downsample
        self.conv_sc = SNConv2d(in_channels, out_channels, 1, spectral_norm=sn) if self.learnable_shortcut else None

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_sc is None:
            return x
        if self.preactivation:
            x = self.conv_sc(x)
            return F.avg_pool2d(x, 2) if self.downsample else x
        x = F.avg_pool2d(x, 2) if self.downsample else x
        return self.conv_sc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        return h + self._shortcut(x)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without affine, then gain 1 + e_g(y) and bias e_b(y) (or learned constants).

    The class embeddings are plain ``nn.Embedding``s, never spectrally normalised, as BigGAN's
    ``G.which_embedding = nn.Embedding`` in ``augself-biggan/BigGAN.py`` (BigGAN's note: spectral
    norm on G's embeddings can cripple G), even when the generator's convolutions use it.
    """

    def __init__(self, channels: int, num_classes: Optional[int]) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.num_classes = num_classes
        if num_classes:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
        else:
            self.gain_const = nn.Parameter(torch.zeros(channels))
            self.bias_const = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        h = self.norm(x)
        if self.num_classes:
            assert y is not None
            gain, bias = 1.0 + self.gain(y), self.bias(y)
        else:
            gain, bias = (1.0 + self.gain_const).unsqueeze(0), self.bias_const.unsqueeze(0)
        return h * gain[:, :, None, None] + bias[:, :, None, None]


class GBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, num_classes: Optional[int], sn: bool) -> None:
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(in_channels, num_classes)
        self.conv1 = SNConv2d(in_channels, out_channels, 3, padding=1, spectral_norm=sn)
        self.bn2 = ConditionalBatchNorm2d(out_channels, num_classes)
        self.conv2 = SNConv2d(out_channels, out_channels, 3, padding=1, spectral_norm=sn)
        self.conv_sc = SNConv2d(in_channels, out_channels, 1, spectral_norm=sn)

    def forward(self, x: torch.Tensor, y: Optional[torch.Tensor]) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.conv_sc(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Generator(nn.Module):
    """z [N, dim_z] (+ class y [N]) -> images [N, C, side, side] in [−1, 1]."""

    def __init__(
        self, *, image_size: int, image_channels: int, channels: int = 256, dim_z: int = 128,
        num_classes: Optional[int] = None, spectral_norm: bool = True, init_std: float = 0.02,
    ) -> None:
        super().__init__()
        ups = math.log2(image_size / 4)
        if image_size < 8 or not ups.is_integer():
            raise ConfigError(
                f"The generator makes square images of side 4·2^k (8, 16, 32, 64, ...), not {image_size}. "
                "Resize the data, e.g. data.image_size=32."
            )
        self.dim_z, self.num_classes, self.channels = dim_z, num_classes, channels
        self.linear = SNLinear(dim_z, 16 * channels, spectral_norm=spectral_norm)
        self.blocks = nn.ModuleList(GBlock(channels, channels, num_classes, spectral_norm) for _ in range(int(ups)))
        self.out_bn = nn.BatchNorm2d(channels)
        self.out_conv = SNConv2d(channels, image_channels, 3, padding=1, spectral_norm=spectral_norm)
        init_normal(self, init_std)

    def forward(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], self.channels, 4, 4)
        for block in self.blocks:
            h = block(h, y)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


class DiscriminatorTrunk(nn.Module):
    """The encoder: images -> h = Σ_{spatial} ReLU(DBlocks(x)) ∈ R^channels.

    ``forward(batch)`` reads ``batch["x"]`` (float [N, C, H, W] in [−1, 1]); ``features(x)``
    takes the image tensor directly (what the GAN objectives call).
    """

    def __init__(self, *, image_channels: int, channels: int = 256, blocks: int = 4, downsample_blocks: int = 2,
                 spectral_norm: bool = True, init_std: float = 0.02) -> None:
        super().__init__()
        if blocks < 1 or not 0 <= downsample_blocks <= blocks:
            raise ConfigError(
                f"The discriminator needs blocks >= 1 and 0 <= downsample_blocks <= blocks, got {blocks}, "
                f"{downsample_blocks}. Use e.g. encoder_config.blocks=4, encoder_config.downsample_blocks=2."
            )
        self.embed_dim = int(channels)
        self.blocks = nn.ModuleList(
            DBlock(image_channels if i == 0 else channels, channels, downsample=i < downsample_blocks,
                   preactivation=i > 0, sn=spectral_norm)
            for i in range(blocks)
        )
        init_normal(self, init_std)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for block in self.blocks:
            h = block(h)
        return F.relu(h).sum(dim=(2, 3))

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.features(batch["x"].float())
