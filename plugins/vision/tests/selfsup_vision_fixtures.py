"""Small files in the real on-disk formats: IDX (gzip or raw), CIFAR pickle batches, image trees."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

__all__ = ["write_idx", "write_mnist", "write_cifar10", "write_cifar100", "write_png", "write_jpeg"]


def write_idx(path: Path, array: np.ndarray, *, compress: bool) -> Path:
    """An IDX uint8 file: magic 0x0000 08 <ndim>, big-endian int32 dims, raw bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "i" * array.ndim, *array.shape)
    payload = header + array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def write_mnist(root: Path, prefix: str, images: np.ndarray, labels: np.ndarray, *, compress: bool) -> None:
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / f"{prefix}-images-idx3-ubyte", images, compress=compress)
    write_idx(root / f"{prefix}-labels-idx1-ubyte", labels, compress=compress)


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    """[N, 32, 32, 3] uint8 -> [N, 3072] rows of R, G, B planes (the CIFAR layout)."""
    return images.transpose(0, 3, 1, 2).reshape(images.shape[0], -1)


def write_cifar10(root: Path, train: list[tuple[np.ndarray, list[int]]], test: tuple[np.ndarray, list[int]]) -> Path:
    """``cifar-10-batches-py`` with Python-2 style bytes keys, as the official archive."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(f"data_batch_{i + 1}", part) for i, part in enumerate(train)] + [("test_batch", test)]
    for name, (images, labels) in batches:
        payload = {b"batch_label": name.encode(), b"labels": labels, b"data": _cifar_rows(images), b"filenames": []}
        (folder / name).write_bytes(pickle.dumps(payload, protocol=2))
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)], b"num_cases_per_batch": 10}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def write_cifar100(root: Path, images: np.ndarray, fine: list[int], coarse: list[int]) -> Path:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("train", "test"):
        payload = {b"data": _cifar_rows(images), b"fine_labels": fine, b"coarse_labels": coarse, b"filenames": []}
        (folder / name).write_bytes(pickle.dumps(payload, protocol=2))
    meta = {b"fine_label_names": [f"f{i}".encode() for i in range(100)], b"coarse_label_names": [f"c{i}".encode() for i in range(20)]}
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def write_png(path: Path, image: np.ndarray) -> None:
    """uint8 [H, W] (gray) or [H, W, 3] (RGB) as PNG, via torchvision's encoder."""
    import torch
    from torchvision.io import encode_png, write_file

    tensor = torch.from_numpy(image if image.ndim == 3 else image[:, :, None]).permute(2, 0, 1).contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(str(path), encode_png(tensor))


def write_jpeg(path: Path, image: np.ndarray) -> None:
    import torch
    from torchvision.io import encode_jpeg, write_file

    tensor = torch.from_numpy(image if image.ndim == 3 else image[:, :, None]).permute(2, 0, 1).contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(str(path), encode_jpeg(tensor, quality=95))
