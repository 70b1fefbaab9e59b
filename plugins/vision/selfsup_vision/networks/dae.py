"""G-SimCLR's denoising convolutional autoencoder (``ariG23498/G-SimCLR``,
``CIFAR10/Autoencoder.ipynb``, ``make_autoencoder``): Gaussian input noise (σ = 0.01), an encoder
of three ``Conv3x3(32, 64, 128) -> BatchNorm -> ReLU -> MaxPool2`` blocks (the last pool is the
notebook's ``retrieval`` layer), a decoder mirroring it (``Upsample2 -> Conv3x3(128, 64, 32) ->
BatchNorm -> ReLU``, the last block without a pool before it) and a sigmoid ``Conv3x3`` back to
the image's channels, trained with the mean squared error on images in [0, 1] (Keras' Adam
defaults: lr 1e-3). :meth:`DenoisingAutoencoder.features` is the bottleneck, average-pooled
over space (the research notes' "global-average-pool the bottleneck"), for k-means.

:func:`fit_denoising_autoencoder` trains one for a fixed number of epochs, the batches reshuffled
each epoch by its own generator (the notebook: up to 100 epochs in the data's order with early
stopping on the test images' loss, patience 2); images whose side is not a multiple of 8 are
resized to the next multiple (bilinear) first, for the three poolings. After training, the
BatchNorm running statistics are recomputed exactly over the images (a cumulative average over
one pass without noise): at Keras' momentum 0.99 they would otherwise still be far from the data's
after the few hundred steps a small dataset gives (on ``digits``, 3 epochs: reconstruction error
0.086 in eval mode, worse than the mean image's 0.044).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DenoisingAutoencoder", "fit_denoising_autoencoder", "bottleneck_features"]

WIDTHS = (32, 64, 128)


def _block(inputs: int, outputs: int) -> list[nn.Module]:
    # Keras' BatchNormalization: momentum 0.99 (torch's 0.01) and epsilon 1e-3
    return [nn.Conv2d(inputs, outputs, 3, padding=1), nn.BatchNorm2d(outputs, eps=1e-3, momentum=0.01), nn.ReLU()]


class DenoisingAutoencoder(nn.Module):
    """Images ``[B, C, H, W]`` in [0, 1] (H and W divisible by 8) -> reconstructions in [0, 1]."""

    def __init__(self, channels: int, noise: float = 0.01) -> None:
        super().__init__()
        self.noise = noise
        down: list[nn.Module] = []
        previous = channels
        for width in WIDTHS:
            down += [*_block(previous, width), nn.MaxPool2d(2)]
            previous = width
        self.encoder = nn.Sequential(*down)
        up: list[nn.Module] = []
        for width in reversed(WIDTHS):
            up += [nn.Upsample(scale_factor=2), *_block(previous, width)]
            previous = width
        self.decoder = nn.Sequential(*up, nn.Conv2d(previous, channels, 3, padding=1), nn.Sigmoid())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise > 0:  # GaussianNoise: active only while training
            images = images + self.noise * torch.randn_like(images)
        return self.decoder(self.encoder(images))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The average-pooled bottleneck ``[B, 128]``."""
        return self.encoder(images).mean(dim=(2, 3))


def _side_multiple_of_8(images: torch.Tensor) -> torch.Tensor:
    height, width = images.shape[-2:]
    target = (-(-height // 8) * 8, -(-width // 8) * 8)
    if target == (height, width):
        return images
    return F.interpolate(images, size=target, mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


def fit_denoising_autoencoder(
    images: torch.Tensor, *, noise: float, epochs: int, lr: float, batch_size: int, seed: int,
    device: torch.device | str = "cpu",
) -> DenoisingAutoencoder:
    """A :class:`DenoisingAutoencoder` trained on ``images`` (``[N, C, H, W]`` in [0, 1]) with
    Adam and the mean squared error; deterministic for a ``seed`` (its own generator for the
    initialisation, the order and the noise; the global RNG is left as it was)."""
    images = _side_multiple_of_8(images.float())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DenoisingAutoencoder(images.shape[1], noise=noise).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(images.shape[0], generator=generator)
            for start in range(0, max(images.shape[0] - batch_size, 0) + 1, batch_size):  # the last short batch dropped
                batch = images[order[start : start + batch_size]].to(device)
                loss = F.mse_loss(model(batch), batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        _recompute_batchnorm_statistics(model, images, batch_size, device)
    return model.eval()


@torch.no_grad()
def _recompute_batchnorm_statistics(model: DenoisingAutoencoder, images: torch.Tensor, batch_size: int,
                                    device: torch.device | str) -> None:
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [(m.momentum, model.noise) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the pass
    model.noise = 0.0
    model.train()
    for start in range(0, images.shape[0], batch_size):
        model(images[start : start + batch_size].to(device))
    for m, (momentum, noise) in zip(norms, saved):
        m.momentum, model.noise = momentum, noise


@torch.no_grad()
def bottleneck_features(model: DenoisingAutoencoder, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The eval-mode average-pooled bottleneck of ``images`` (``[N, C, H, W]`` in [0, 1]): ``[N, 128]``."""
    device = next(model.parameters()).device
    images = _side_multiple_of_8(images.float())
    model.eval()
    return torch.cat([model.features(images[i : i + batch_size].to(device)).cpu() for i in range(0, images.shape[0], batch_size)])
