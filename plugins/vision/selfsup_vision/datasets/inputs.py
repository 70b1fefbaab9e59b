"""New image files -> a batch, as the run's dataset prepared its images.

The ``input_transform`` of every vision dataset: ``image_inputs(config, state)`` rebuilds
:class:`ImageInputs` from :meth:`.source.ImageSource.preprocessing_state` (the channel count
and the ``height × width`` the encoder was trained on). Each image is decoded, converted to
those channels (alpha dropped, gray <-> RGB as in training), resized (antialiased bilinear)
to that size and scaled to ``[-1, 1]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from selfsup.errors import CheckpointError, DatasetError

from .folder import IMAGE_SUFFIXES
from .source import to_channels, to_unit_range

__all__ = ["ImageInputs", "image_inputs"]


class ImageInputs:
    """``read(path)``: an image file, or a folder searched recursively -> ``(relative path, file)``
    pairs in sorted order; ``batch(files)`` -> ``{"x": float32 [B, C, H, W] in [-1, 1]}``."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        self.channels, self.height, self.width = int(channels), int(height), int(width)

    def read(self, source: Any) -> list[tuple[str, Any]]:
        root = Path(source)
        if root.is_file():
            return [(root.name, root)]
        if not root.is_dir():
            raise DatasetError(f"data.root={str(root)!r} does not exist. Point it at an image file or a folder of images.")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(
                f"No image files ({', '.join(IMAGE_SUFFIXES)}) under {str(root)!r}. Point data.root at a folder of images."
            )
        return [(p.relative_to(root).as_posix(), p) for p in files]

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        from torchvision.io import ImageReadMode, decode_image, read_file
        from torchvision.transforms.v2 import functional as tvf

        images = []
        for path in items:
            try:
                image = decode_image(read_file(str(path)), mode=ImageReadMode.UNCHANGED)
            except (RuntimeError, ValueError, OSError) as exc:
                raise DatasetError(f"Cannot decode image {str(path)!r} ({exc}). Remove it or re-save it as PNG/JPEG.") from exc
            if image.ndim == 4:  # animated GIF: first frame, as in training
                image = image[0]
            image = to_channels(image.unsqueeze(0), self.channels)
            if tuple(image.shape[-2:]) != (self.height, self.width):
                image = tvf.resize(image, [self.height, self.width], antialias=True)
            images.append(image)
        return {"x": to_unit_range(torch.cat(images))}, [1] * len(items)


def image_inputs(config: Any, state: Mapping[str, Any]) -> ImageInputs:
    """``DatasetSpec.input_transform`` of the vision datasets."""
    try:
        return ImageInputs(state["channels"], state["height"], state["width"])
    except KeyError as exc:
        raise CheckpointError(
            f"The run's preprocessing.json lacks {exc.args[0]!r}: it predates saved image preprocessing. "
            "Pretrain it again to embed new images."
        ) from exc
