"""``image-folder``: PNG/JPEG/BMP/GIF/WebP files in class folders, flat, or split folders.

Layouts (``root`` is ``data.root``):

* ``root/<class>/*.jpg``: labelled; classes are the sorted folder names;
* ``root/*.png``: unlabelled;
* ``root/{train,val,test}/`` holding either layout: the CIFAR-10 JPEG layout
  (``test/<class>/<NNNN>.jpg``); missing splits are carved out of the data.

Files are decoded once with ``torchvision.io.decode_image``. A file that cannot be
decoded is skipped and counted: a ``UserWarning`` names the first few, and
``info["skipped"]`` records the count. Grayscale, RGB and RGBA images are
converted to one channel count (``data.channels``, or RGB when any image is colour).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import torch

from selfsup.errors import DatasetError

from ..configs import ImageFolderConfig
from .source import ImageSource, resize_uint8, to_channels

__all__ = ["ImageFolder", "IMAGE_SUFFIXES", "decode_files"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SPLIT_NAMES = ("train", "val", "test")


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def decode_files(paths: list[Path], *, channels: Optional[int], image_size: Optional[int]) -> tuple[torch.Tensor, list[int], list[Path]]:
    """Decode ``paths`` into ``uint8 [N, C, H, W]``; returns (images, kept positions, skipped paths)."""
    from torchvision.io import ImageReadMode, decode_image, read_file

    decoded: list[torch.Tensor] = []
    kept: list[int] = []
    skipped: list[Path] = []
    for position, path in enumerate(paths):
        try:
            image = decode_image(read_file(str(path)), mode=ImageReadMode.UNCHANGED)
        except (RuntimeError, ValueError, OSError):
            skipped.append(path)
            continue
        if image.ndim == 4:  # animated GIF: first frame
            image = image[0]
        decoded.append(image)
        kept.append(position)
    if not decoded:
        return torch.zeros(0, channels or 1, image_size or 1, image_size or 1, dtype=torch.uint8), kept, skipped
    target = channels or (3 if any(image.shape[0] >= 3 for image in decoded) else 1)
    converted = []
    for image in decoded:
        image = to_channels(image.unsqueeze(0), target)
        if image_size is not None:
            image = resize_uint8(image, image_size)
        converted.append(image)
    sizes = {tuple(image.shape[-2:]) for image in converted}
    if len(sizes) > 1:
        raise DatasetError(
            f"Images under {paths[0].parent.parent} have different sizes ({len(sizes)} distinct, e.g. "
            f"{sorted(sizes)[:3]}). Set data.image_size to resize them, e.g. data.image_size=32."
        )
    return torch.cat(converted), kept, skipped


def _read_layout(folder: Path) -> tuple[list[Path], Optional[list[int]], list[str]]:
    """Files and labels of one folder in the class-folder or the flat layout."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes:
        paths: list[Path] = []
        labels: list[int] = []
        for label, name in enumerate(classes):
            files = _images_in(folder / name)
            paths += files
            labels += [label] * len(files)
        return paths, labels, classes
    return _images_in(folder), None, []


class ImageFolder(ImageSource):
    """Images decoded from a folder tree (see the module docstring)."""

    def __init__(self, config: ImageFolderConfig) -> None:
        if config.root is None:
            raise DatasetError("image-folder needs data.root: a folder of class sub-folders or of images.")
        root = Path(config.root).expanduser()
        if not root.is_dir():
            raise DatasetError(f"image-folder: data.root '{root}' is not a folder. Point data.root at the image folder.")
        split_dirs = {name: root / name for name in SPLIT_NAMES if (root / name).is_dir()}
        layouts = {name: _read_layout(path) for name, path in split_dirs.items()} or {"train": _read_layout(root)}
        class_sets = {tuple(classes) for _, _, classes in layouts.values()}
        if len(class_sets) > 1:
            raise DatasetError(f"image-folder: the split folders under '{root}' have different class folders. Give every split the same classes.")
        classes = list(next(iter(class_sets)))
        parts = {}
        skipped: list[Path] = []
        for split, (paths, labels, _) in layouts.items():
            images, kept, bad = decode_files(paths, channels=config.channels, image_size=config.image_size)
            skipped += bad
            label_tensor = torch.tensor([labels[i] for i in kept], dtype=torch.long) if labels is not None else None
            parts[split] = (images, label_tensor)
        if skipped:
            shown = ", ".join(str(p) for p in skipped[:3])
            warnings.warn(
                f"image-folder: skipped {len(skipped)} file(s) that could not be decoded as images ({shown}"
                f"{', ...' if len(skipped) > 3 else ''}). Remove or re-encode them.",
                UserWarning,
                stacklevel=2,
            )
        if sum(images.shape[0] for images, _ in parts.values()) == 0:
            raise DatasetError(
                f"image-folder: no readable images under '{root}' (suffixes {', '.join(IMAGE_SUFFIXES)}). "
                "Point data.root at a folder of class sub-folders or of images."
            )
        super().__init__(
            "image-folder", parts, config, class_names=classes or None,
            extra_info={"skipped": len(skipped), "root": str(root)},
        )
