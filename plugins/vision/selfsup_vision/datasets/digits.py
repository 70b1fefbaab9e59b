"""``digits``: scikit-learn's bundled 8×8 handwritten digits, upsampled (needs no files).

1,797 images with 17 grey levels (0..16), scaled to 0..255 and resized with
antialiased bilinear interpolation to ``data.image_size`` (16 by default); seeded
train/val/test split (``data.val_fraction``, ``data.test_fraction``). The Quick start's default.
"""

from __future__ import annotations

import torch

from selfsup.errors import DatasetError

from ..configs import DigitsConfig
from .source import ImageSource

__all__ = ["Digits"]


class Digits(ImageSource):
    def __init__(self, config: DigitsConfig) -> None:
        if config.root is not None:
            raise DatasetError("digits is bundled with scikit-learn and reads no files. Remove data.root.")
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = torch.from_numpy((bunch.images * (255.0 / 16.0)).round().astype("uint8")).unsqueeze(1)
        labels = torch.from_numpy(bunch.target.astype("int64"))
        super().__init__("digits", {"train": (images, labels)}, config, class_names=[str(d) for d in range(10)])
