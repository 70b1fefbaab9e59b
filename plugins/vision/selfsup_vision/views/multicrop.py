"""A batched multi-crop view pipeline on image tensors with per-sample randomness.

``MultiCrop(crop_sets)(x)`` turns a batch ``x`` (float ``[B, C, H, W]`` in ``[-1, 1]``, the
vision datasets' convention, on any device) into one view batch per crop:
``sum(crop.count)`` tensors, each ``[B, C, s, s]`` with ``s = round(crop.size * H)``, in
``[-1, 1]``. Every sample of every view draws its own parameters, in the order of
SimCLR/BYOL/DINO's pipelines:

1. random resized crop (torchvision's ``RandomResizedCrop.get_params``: area in ``scale``,
   log-uniform aspect in ``ratio``, 10 tries then a centre crop), antialiased resize;
2. horizontal flip with ``flip_p``;
3. with ``jitter_p``: torchvision's ``ColorJitter`` (brightness, contrast, saturation, hue
   in a random order);
4. grey with ``gray_p``; 5. Gaussian blur with ``blur_p`` (σ ~ U(blur_sigma), kernel ~10 % of
   the side, odd); 6. solarize (threshold 0.5) with ``solarize_p``.

The image operations are torchvision.transforms.v2's functional kernels, applied sample by
sample (they take one parameter set per call); the parameters are drawn from torch's global
RNG, which the engine seeds and checkpoints. ``return_params=True`` also returns, per view, a
float tensor ``[B, len(PARAM_NAMES)]`` of the parameters each sample got (crop box relative
to the image, flip, jitter factors — 1/1/1/0 when not applied —, grey, blur σ — 0 when not
applied —, solarize), for methods that need them (AugSelf, MYOW-style mining, checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import torch

from .policies import CropSet, ViewPolicy

__all__ = ["MultiCrop", "PARAM_NAMES", "augment_one"]

PARAM_NAMES = (
    "crop_top", "crop_left", "crop_height", "crop_width", "flip",
    "brightness", "contrast", "saturation", "hue", "gray", "blur_sigma", "solarize",
)


def _kernel_size(side: int) -> int:
    k = max(3, int(round(0.1 * side)))
    return k if k % 2 else k + 1


def augment_one(image: torch.Tensor, size: int, crop: CropSet) -> tuple[torch.Tensor, list[float]]:
    """One sample (float ``[C, H, W]`` in ``[0, 1]``) through one crop set's pipeline."""
    from torchvision.transforms import ColorJitter, RandomResizedCrop
    from torchvision.transforms.v2 import functional as tvf

    policy: ViewPolicy = crop.policy
    height, width = image.shape[-2:]
    top, left, h, w = RandomResizedCrop.get_params(image, list(crop.scale), list(crop.ratio))
    out = tvf.resized_crop(image, top, left, h, w, [size, size], antialias=True)
    draws = torch.rand(5).tolist()
    flip = draws[0] < policy.flip_p
    if flip:
        out = tvf.horizontal_flip(out)
    factors = [1.0, 1.0, 1.0, 0.0]
    colour = out.shape[0] == 3
    if draws[1] < policy.jitter_p:
        order, b, c, s, hue = ColorJitter.get_params(
            [max(0.0, 1 - policy.brightness), 1 + policy.brightness],
            [max(0.0, 1 - policy.contrast), 1 + policy.contrast],
            [max(0.0, 1 - policy.saturation), 1 + policy.saturation] if colour else None,
            [-policy.hue, policy.hue] if colour else None,
        )
        for index in order.tolist():
            if index == 0 and b is not None:
                out, factors[0] = tvf.adjust_brightness(out, b), b
            elif index == 1 and c is not None:
                out, factors[1] = tvf.adjust_contrast(out, c), c
            elif index == 2 and s is not None:
                out, factors[2] = tvf.adjust_saturation(out, s), s
            elif index == 3 and hue is not None:
                out, factors[3] = tvf.adjust_hue(out, hue), hue
    gray = colour and draws[2] < policy.gray_p
    if gray:
        out = tvf.rgb_to_grayscale(out, num_output_channels=3)
    sigma = 0.0
    if draws[3] < policy.blur_p:
        low, high = policy.blur_sigma
        sigma = low + (high - low) * float(torch.rand(()))
        k = _kernel_size(size)
        out = tvf.gaussian_blur(out, [k, k], [sigma, sigma])
    solarize = draws[4] < policy.solarize_p
    if solarize:
        out = tvf.solarize(out, 0.5)
    params = [top / height, left / width, h / height, w / width, float(flip), *factors, float(gray), sigma, float(solarize)]
    return out, params


class MultiCrop:
    """``n`` global + ``m`` local crops per image, each crop set with its own size, scale and policy."""

    def __init__(self, crop_sets: Sequence[CropSet]) -> None:
        from selfsup.errors import ConfigError

        if not crop_sets or any(c.count < 1 or c.size <= 0 for c in crop_sets):
            raise ConfigError("The view pipeline needs at least one crop set with count >= 1 and size > 0. Check the views setting.")
        for c in crop_sets:
            if not 0 < c.scale[0] <= c.scale[1] <= 1:
                raise ConfigError(f"Crop scale {tuple(c.scale)} is not 0 < low <= high <= 1. Use e.g. (0.08, 1.0).")
        self.crop_sets = tuple(crop_sets)

    @property
    def num_views(self) -> int:
        return sum(c.count for c in self.crop_sets)

    def sizes(self, side: int) -> list[int]:
        """The side of each view for ``side``-px images."""
        return [max(1, int(round(c.size * side))) for c in self.crop_sets for _ in range(c.count)]

    def __call__(
        self, x: torch.Tensor, *, return_params: bool = False
    ) -> tuple[list[torch.Tensor], Optional[list[torch.Tensor]]]:
        unit = (x.detach() + 1.0) * 0.5
        views: list[torch.Tensor] = []
        params: list[torch.Tensor] = []
        side = int(x.shape[-1])
        for crop in self.crop_sets:
            size = max(1, int(round(crop.size * side)))
            for _ in range(crop.count):
                outs, rows = [], []
                for image in unit:
                    out, row = augment_one(image, size, crop)
                    outs.append(out)
                    rows.append(row)
                views.append(torch.stack(outs).clamp_(0.0, 1.0).mul_(2.0).sub_(1.0))
                if return_params:
                    params.append(torch.tensor(rows, dtype=torch.float32, device=x.device))
        return views, (params if return_params else None)


