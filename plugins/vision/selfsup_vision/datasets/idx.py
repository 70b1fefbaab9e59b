"""MNIST and Fashion-MNIST from their IDX files (gzip-compressed or not).

IDX (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, magic
``0x00000803`` (uint8, 3 dimensions: images ``[N, rows, cols]``) or ``0x00000801``
(uint8, 1 dimension: labels ``[N]``), then the dimension sizes as int32, then the data.
Files: ``{train,t10k}-images-idx3-ubyte[.gz]`` and ``{train,t10k}-labels-idx1-ubyte[.gz]``;
either split may be absent (the shared copy has only ``t10k``: val and test are then
carved out of it, see :class:`~selfsup_vision.datasets.source.ImageSource`).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from selfsup.errors import DatasetError

from ..configs import IdxConfig
from .source import ImageSource

__all__ = ["IdxImages", "mnist", "fashion_mnist", "read_idx"]

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
IDX_UINT8 = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file of uint8 data (gzip detected from its magic bytes)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DatasetError(f"{path} is a damaged gzip file ({error}). Copy the file again.") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"{path} is not an IDX file (bad magic number). Give the original MNIST/Fashion-MNIST files.")
    kind, ndim = raw[2], raw[3]
    if kind != IDX_UINT8:
        raise DatasetError(f"{path} holds IDX type 0x{kind:02x}; only uint8 (0x08) images and labels are supported.")
    header = 4 + 4 * ndim
    dims = struct.unpack(">" + "i" * ndim, raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path} is truncated or padded: the header promises {expected} bytes of data for shape {dims}, "
            f"found {len(raw) - header}. Copy the file again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(root: Path, stem: str) -> Optional[Path]:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


class IdxImages(ImageSource):
    """IDX image/label pairs under ``root`` (train and/or t10k)."""

    def __init__(self, config: IdxConfig, *, name: str = "mnist", class_names: Optional[list[str]] = None) -> None:
        if config.root is None:
            raise DatasetError(f"{name} needs data.root: the folder holding t10k-images-idx3-ubyte.gz (and the train files).")
        root = Path(config.root).expanduser()
        parts = {}
        for split, prefix in (("train", "train"), ("test", "t10k")):
            images_path = _find(root, f"{prefix}-images-idx3-ubyte")
            labels_path = _find(root, f"{prefix}-labels-idx1-ubyte")
            if images_path is None and labels_path is None:
                continue
            if images_path is None or labels_path is None:
                missing = f"{prefix}-images-idx3-ubyte.gz" if images_path is None else f"{prefix}-labels-idx1-ubyte.gz"
                raise DatasetError(f"{name}: {missing} is missing from '{root}'. Place it beside its pair.")
            images = read_idx(images_path)
            labels = read_idx(labels_path)
            if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
                raise DatasetError(
                    f"{name}: {images_path.name} has shape {images.shape} and {labels_path.name} {labels.shape}; "
                    "expected [N, rows, cols] images and [N] labels of the same N."
                )
            parts[split] = (torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64)))
        if not parts:
            raise DatasetError(
                f"{name}: no IDX files in '{root}'. Place t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                "(and/or the train-* pair) there."
            )
        super().__init__(name, parts, config, class_names=class_names)


def mnist(config: IdxConfig) -> IdxImages:
    """``mnist``: handwritten digits, 28×28 grayscale, 10 classes."""
    return IdxImages(config, name="mnist", class_names=MNIST_CLASSES)


def fashion_mnist(config: IdxConfig) -> IdxImages:
    """``fashion-mnist``: Zalando article images, 28×28 grayscale, 10 classes (same IDX format)."""
    return IdxImages(config, name="fashion-mnist", class_names=FASHION_CLASSES)
