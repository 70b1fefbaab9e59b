"""CIFAR-10 / CIFAR-100 from the python pickle batches (Krizhevsky, 2009).

``cifar-10-batches-py/``: ``data_batch_1`` … ``data_batch_5`` and ``test_batch``, each a
pickled dict with ``data`` (uint8 ``[N, 3072]``, rows of R, G, B planes of 32×32) and
``labels`` (list of int); ``batches.meta`` holds ``label_names``.
``cifar-100-python/``: ``train`` and ``test`` with ``fine_labels`` / ``coarse_labels``;
``meta`` holds ``fine_label_names`` / ``coarse_label_names``.
The pickles are Python-2 (keys are bytes). They are read with
:class:`RestrictedUnpickler`, which resolves only numpy's array reconstruction globals,
so a tampered file cannot run code. ``data.root`` may be the batches folder itself or
its parent.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from selfsup.errors import DatasetError

from ..configs import CifarConfig
from .source import ImageSource

__all__ = ["CifarImages", "RestrictedUnpickler", "load_cifar_pickle", "cifar10", "cifar100"]


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only ``numpy.ndarray``, ``numpy.dtype``, numpy's ``_reconstruct`` and
    ``_codecs.encode`` (how Python 3 writes ``bytes`` into a protocol-2 pickle)."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            from numpy._core import multiarray
        except ImportError:  # numpy < 2
            from numpy.core import multiarray  # type: ignore[no-redef]
        import _codecs

        allowed = {
            ("_codecs", "encode"): _codecs.encode,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a CIFAR batch (only numpy arrays are)")


def load_cifar_pickle(path: Path) -> dict[str, Any]:
    """One CIFAR pickle as a dict with ``str`` keys (bytes keys decoded)."""
    try:
        with path.open("rb") as handle:
            payload = RestrictedUnpickler(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DatasetError(f"{path} is not a readable CIFAR pickle batch ({error}). Copy the original file again.") from None
    if not isinstance(payload, dict):
        raise DatasetError(f"{path} holds a {type(payload).__name__}, not a CIFAR batch dict. Give the original file.")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in payload.items()}


def _batch_arrays(path: Path, label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    batch = load_cifar_pickle(path)
    if "data" not in batch or label_key not in batch:
        raise DatasetError(f"{path} has keys {sorted(batch)}; a CIFAR batch has 'data' and '{label_key}'.")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise DatasetError(f"{path}: 'data' has shape {data.shape} for {labels.shape[0]} labels; expected [N, 3072].")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)


def _names(meta_path: Path, key: str) -> Optional[list[str]]:
    if not meta_path.is_file():
        return None
    meta = load_cifar_pickle(meta_path)
    names = meta.get(key)
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names] if names is not None else None


class CifarImages(ImageSource):
    """CIFAR-10 or CIFAR-100 pickle batches (see the module docstring)."""

    def __init__(self, config: CifarConfig, *, classes: int) -> None:
        name = f"cifar{classes}"
        folder_name = "cifar-10-batches-py" if classes == 10 else "cifar-100-python"
        if config.root is None:
            raise DatasetError(f"{name} needs data.root: the '{folder_name}' folder (or its parent).")
        root = Path(config.root).expanduser()
        if (root / folder_name).is_dir():
            root = root / folder_name
        if classes == 10:
            train_files = [root / f"data_batch_{i}" for i in range(1, 6)]
            test_files = [root / "test_batch"]
            label_key, meta, names_key = "labels", root / "batches.meta", "label_names"
        else:
            if config.label_kind not in ("fine", "coarse"):
                raise DatasetError(f"data.label_kind='{config.label_kind}' is unknown. Use 'fine' (100 classes) or 'coarse' (20).")
            train_files, test_files = [root / "train"], [root / "test"]
            label_key = f"{config.label_kind}_labels"
            meta, names_key = root / "meta", f"{config.label_kind}_label_names"
        present = [p for p in train_files + test_files if p.is_file()]
        if not present:
            expected = ", ".join(p.name for p in train_files + test_files)
            raise DatasetError(f"{name}: none of {expected} is in '{root}'. Extract the python version of {name} there.")
        parts = {}
        for split, files in (("train", train_files), ("test", test_files)):
            arrays = [_batch_arrays(p, label_key) for p in files if p.is_file()]
            if arrays:
                parts[split] = (torch.cat([a for a, _ in arrays]), torch.cat([b for _, b in arrays]))
        super().__init__(name, parts, config, class_names=_names(meta, names_key))


def cifar10(config: CifarConfig) -> CifarImages:
    """``cifar10``: 50,000 + 10,000 colour 32×32 images, 10 classes."""
    return CifarImages(config, classes=10)


def cifar100(config: CifarConfig) -> CifarImages:
    """``cifar100``: 50,000 + 10,000 colour 32×32 images, 100 fine / 20 coarse classes."""
    return CifarImages(config, classes=100)
