"""Decoded images held as one uint8 tensor; vectorised batches; splits, fractions, resizing.

Every vision dataset decodes its files once into ``uint8 [N, C, H, W]`` and hands the
result to :class:`ImageSource`, which converts channels, resizes, splits and subsets.
Batches are ``{"x": float32 [rows, C, H, W] in [-1, 1], "label": int64 [rows]}``
("label" only when the data are labelled), produced by one tensor gather in
:meth:`ImageSplit.__getitems__`.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch

from selfsup.errors import DatasetError
from selfsup.interfaces import Batch, DataSource
from selfsup.tasks import declare_task

from ..configs import ImageDataConfig

__all__ = ["ImageSplit", "ImageSource", "to_channels", "resize_uint8", "to_unit_range"]


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1] (the GAN convention: x/127.5 − 1)."""
    return images.float().div_(127.5).sub_(1.0)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Convert uint8 ``[N, C, H, W]`` (C in 1, 2, 3, 4) to 1 or 3 channels.

    Alpha channels are dropped; gray -> RGB repeats the channel; RGB -> gray uses the
    ITU-R 601 luma weights (0.299, 0.587, 0.114), as PIL's ``convert("L")`` does.
    """
    if images.shape[1] in (2, 4):
        images = images[:, : images.shape[1] - 1]
    have = images.shape[1]
    if have == channels:
        return images
    if channels == 3 and have == 1:
        return images.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and have == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise DatasetError(f"Cannot convert {have}-channel images to {channels} channels. Use data.channels=1 or 3.")


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """Antialiased bilinear resize of uint8 ``[N, C, H, W]`` to ``size × size`` (uint8 again)."""
    if images.shape[-2:] == (size, size):
        return images
    from torchvision.transforms.v2 import functional as tvf

    return tvf.resize(images, [size, size], antialias=True)


class ImageSplit(torch.utils.data.Dataset):
    """One split: uint8 images and optional int64 labels; batches in one gather."""

    def __init__(self, images: torch.Tensor, labels: Optional[torch.Tensor]) -> None:
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> Batch:
        item = {"x": to_unit_range(self.images[index])}
        if self.labels is not None:
            item["label"] = self.labels[index]
        return item

    def __getitems__(self, indices: list[int]) -> Batch:
        index = torch.as_tensor(indices, dtype=torch.long)
        batch = {"x": to_unit_range(self.images[index])}
        if self.labels is not None:
            batch["label"] = self.labels[index]
        return batch


def _check_fraction(name: str, value: float, *, low_open: bool) -> None:
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value < 1.0)
    if not ok or not math.isfinite(value):
        bound = "in (0, 1]" if low_open else "in [0, 1)"
        raise DatasetError(f"data.{name}={value} is not {bound}. Give a fraction, e.g. data.{name}=0.1.")


class ImageSource(DataSource):
    """Named splits of decoded images, built from per-split uint8 tensors.

    ``parts`` maps split names to ``(images, labels)``. Splits the files do not have are
    carved out of ``train`` (``val``) or out of the only split (``val`` and ``test``) with
    a seeded permutation; then ``fraction`` keeps a seeded subset of ``train``.
    """

    splits = ("train", "val", "test")

    def __init__(
        self,
        name: str,
        parts: dict[str, tuple[torch.Tensor, Optional[torch.Tensor]]],
        config: ImageDataConfig,
        *,
        class_names: Optional[list[str]] = None,
        extra_info: Optional[dict[str, Any]] = None,
    ) -> None:
        _check_fraction("fraction", config.fraction, low_open=True)
        _check_fraction("val_fraction", config.val_fraction, low_open=False)
        _check_fraction("test_fraction", config.test_fraction, low_open=False)
        if config.image_size is not None and config.image_size < 4:
            raise DatasetError(f"data.image_size={config.image_size} is too small. Use a side of at least 4, e.g. 32.")
        if config.channels not in (None, 1, 3):
            raise DatasetError(f"data.channels={config.channels} is not supported. Use 1 (grayscale), 3 (RGB) or null.")
        parts = {k: v for k, v in parts.items() if v[0].shape[0] > 0}
        if not parts:
            raise DatasetError(f"{name}: no images were read. Point data.root at a folder with the {name} files.")
        channels = config.channels or (3 if any(images.shape[1] >= 3 for images, _ in parts.values()) else 1)
        prepared: dict[str, tuple[torch.Tensor, Optional[torch.Tensor]]] = {}
        for split, (images, labels) in parts.items():
            images = to_channels(images, channels)
            if config.image_size is not None:
                images = resize_uint8(images, config.image_size)
            prepared[split] = (images.contiguous(), labels)
        sizes = {tuple(images.shape[-2:]) for images, _ in prepared.values()}
        if len(sizes) > 1:
            raise DatasetError(f"{name}: splits have different image sizes {sorted(sizes)}. Set data.image_size.")
        self._splits = self._complete(prepared, config)
        train_images, train_labels = self._splits["train"]
        if config.fraction < 1.0:
            keep = max(1, int(round(config.fraction * train_images.shape[0])))
            order = torch.randperm(train_images.shape[0], generator=torch.Generator().manual_seed(config.fraction_seed))
            index = order[:keep].sort().values
            self._splits["train"] = (train_images[index], train_labels[index] if train_labels is not None else None)
        # the splits that hold images: an empty one (data.val_fraction=0, cifar10-jpg's fixed 8k/2k) is
        # not offered, so a probe carves its validation rows out of train instead of failing on it
        self.splits = tuple(split for split in ImageSource.splits if self._splits[split][0].shape[0] > 0)
        labelled = all(labels is not None for _, labels in self._splits.values())
        height, width = self._splits["train"][0].shape[-2:]
        self.info: dict[str, Any] = {
            "name": name,
            "task": "classification" if labelled else "unlabelled",
            "channels": int(channels),
            "image_size": int(height),
            "height": int(height),
            "width": int(width),
            "sizes": {split: int(images.shape[0]) for split, (images, _) in self._splits.items()},
        }
        if labelled:
            all_labels = torch.cat([labels for _, labels in self._splits.values() if labels is not None])
            self.info["num_classes"] = len(class_names) if class_names else int(all_labels.max()) + 1
        if class_names:
            self.info["class_names"] = list(class_names)
        if extra_info:
            self.info.update(extra_info)
        if labelled:
            declare_task(self.info, "multiclass", num_classes=int(self.info["num_classes"]))
        else:
            declare_task(self.info, "none")

    @staticmethod
    def _complete(
        parts: dict[str, tuple[torch.Tensor, Optional[torch.Tensor]]], config: ImageDataConfig
    ) -> dict[str, tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """Fill missing val/test splits by carving seeded slices out of the data."""
        splits = dict(parts)
        if "train" not in splits:
            # the files hold one split (e.g. only a test folder): it becomes the pool
            pool_name = "test" if "test" in splits else next(iter(splits))
            splits = {"train": splits.pop(pool_name), **splits}
        wanted = [s for s in ("val", "test") if s not in splits]
        if not wanted:
            return splits
        images, labels = splits["train"]
        n = images.shape[0]
        order = torch.randperm(n, generator=torch.Generator().manual_seed(config.split_seed))
        start = 0
        for split in wanted:
            fraction = config.val_fraction if split == "val" else config.test_fraction
            count = int(round(fraction * n))
            index = order[start : start + count].sort().values
            splits[split] = (images[index], labels[index] if labels is not None else None)
            start += count
        rest = order[start:].sort().values
        if rest.numel() == 0:
            raise DatasetError(f"No images left for training out of {n}. Lower data.val_fraction / data.test_fraction.")
        splits["train"] = (images[rest], labels[rest] if labels is not None else None)
        return splits

    def preprocessing_state(self) -> dict[str, Any]:
        """The channels and size new images are converted to (``selfsup embed``)."""
        return {key: self.info[key] for key in ("channels", "height", "width")}

    def split(self, name: str) -> ImageSplit:
        if name not in self._splits:
            raise KeyError(name)
        return ImageSplit(*self._splits[name])
