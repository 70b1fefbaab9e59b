"""Planetoid citation graphs (Cora, CiteSeer, PubMed) from the original ``ind.<name>.*`` files.

The files (Yang, Cohen & Salakhutdinov, ICML 2016; ``kimiyoung/planetoid``) are
Python-2 pickles: ``x``, ``tx``, ``allx`` are ``scipy.sparse.csr_matrix`` features
of the labelled training nodes, the test nodes and all non-test nodes; ``y``,
``ty``, ``ally`` one-hot ``numpy`` labels; ``graph`` a ``defaultdict(list)``
adjacency list; ``test.index`` one test node id per line. They are read with
``encoding="latin1"`` through :class:`RestrictedUnpickler`, which resolves only
the handful of numpy / scipy / collections globals these files reference, so a
tampered file cannot run code.

Assembly follows ``tkipf/gcn:gcn/utils.py`` (``load_data``): features =
``vstack(allx, tx)`` with the test rows put back in ``test.index`` order, and for
CiteSeer the ids missing from the test range (15 isolated nodes without features)
are padded with zero feature rows and zero label rows (their class becomes 0 after
``argmax``, as in the GCN loader and torch-geometric's ``Planetoid``).
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.errors import DatasetError

from ..configs import PlanetoidConfig
from .source import NodeGraphSource

__all__ = ["Planetoid", "RestrictedUnpickler", "load_planetoid_object", "read_planetoid", "FILES"]

FILES = ("x", "y", "tx", "ty", "allx", "ally", "graph")
KNOWN = ("cora", "citeseer", "pubmed")


def _allowed() -> dict[tuple[str, str], Any]:
    import collections

    import scipy.sparse

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]

    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("collections", "defaultdict"): collections.defaultdict,
        ("__builtin__", "list"): list,
        ("builtins", "list"): list,
    }
    for module in ("scipy.sparse.csr", "scipy.sparse._csr", "scipy.sparse"):
        table[(module, "csr_matrix")] = scipy.sparse.csr_matrix
    return table


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of the Planetoid files.

    Allowed: ``numpy.ndarray``, ``numpy.dtype``, numpy's ``_reconstruct``,
    ``scipy.sparse.csr_matrix`` (old and new module paths),
    ``collections.defaultdict`` and ``list``. Anything else raises
    ``pickle.UnpicklingError`` naming the global.
    """

    def find_class(self, module: str, name: str) -> Any:
        table = _allowed()
        if (module, name) in table:
            return table[(module, name)]
        raise pickle.UnpicklingError(
            f"global '{module}.{name}' is not allowed in a Planetoid file (only numpy arrays, "
            "scipy CSR matrices and the adjacency dict are)"
        )


def load_planetoid_object(path: Path) -> Any:
    """Unpickle one ``ind.<name>.<part>`` file (Python 2 pickle, latin1) through :class:`RestrictedUnpickler`."""
    with open(path, "rb") as handle:
        data = handle.read()
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def _missing(path: Path, name: str) -> DatasetError:
    return DatasetError(
        f"Planetoid file {str(path)!r} not found. Put the original files "
        f"ind.{name}.{{x,y,tx,ty,allx,ally,graph,test.index}} (from github.com/kimiyoung/planetoid, "
        f"folder data/) in that folder and set data.root to it."
    )


def read_planetoid(root: str | os.PathLike[str], name: str) -> tuple[np.ndarray, torch.Tensor, np.ndarray, dict[str, np.ndarray]]:
    """``(features [N, F] float32, edge_index [2, E], labels [N], masks)`` of a Planetoid graph.

    ``masks`` holds boolean ``train`` (``range(len(y))``), ``val``
    (``range(len(y), len(y) + 500)``) and ``test`` (the ``test.index`` ids).
    """
    import scipy.sparse as sp

    root = Path(root)
    objects = {}
    for part in FILES:
        path = root / f"ind.{name}.{part}"
        if not path.is_file():
            raise _missing(path, name)
        try:
            objects[part] = load_planetoid_object(path)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise DatasetError(f"Planetoid file {str(path)!r} could not be read: {exc}. Replace it with the original file.") from exc
    index_path = root / f"ind.{name}.test.index"
    if not index_path.is_file():
        raise _missing(index_path, name)
    try:
        test_index = np.array([int(line) for line in index_path.read_text().split()], dtype=np.int64)
    except ValueError as exc:
        raise DatasetError(f"{str(index_path)!r} must hold one integer node id per line: {exc}.") from exc
    x, y, tx, ty, allx, ally, graph = (objects[p] for p in FILES)
    for part in ("x", "tx", "allx"):
        if not sp.issparse(objects[part]):
            raise DatasetError(f"ind.{name}.{part} holds a {type(objects[part]).__name__}, not a sparse matrix. Replace it with the original file.")
    if len(test_index) != tx.shape[0] or len(test_index) != ty.shape[0]:
        raise DatasetError(
            f"ind.{name}.test.index lists {len(test_index)} ids but ind.{name}.tx has {tx.shape[0]} rows. "
            "The files come from different datasets; replace them with one consistent set."
        )
    test_sorted = np.sort(test_index)
    low, high = int(test_sorted.min()), int(test_sorted.max())
    if name == "citeseer" or high - low + 1 != len(test_index):
        # CiteSeer: some ids in the test range have no features (isolated nodes); pad with zeros.
        span = high - low + 1
        tx_full = sp.lil_matrix((span, tx.shape[1]), dtype=np.float32)
        tx_full[test_sorted - low, :] = tx
        tx = tx_full
        ty_full = np.zeros((span, ty.shape[1]), dtype=ty.dtype)
        ty_full[test_sorted - low, :] = ty
        ty = ty_full
    features = sp.vstack((allx, tx)).tolil()
    features[test_index, :] = features[test_sorted, :]
    labels_onehot = np.vstack((ally, ty))
    labels_onehot[test_index, :] = labels_onehot[test_sorted, :]
    num_nodes = features.shape[0]
    rows, cols = [], []
    for node, neighbours in graph.items():
        for neighbour in neighbours:
            rows.append(int(node))
            cols.append(int(neighbour))
    edge_index = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
    if edge_index.numel():
        keep = (edge_index < num_nodes).all(dim=0)  # the adjacency dict may name ids beyond the feature rows
        edge_index = edge_index[:, keep]
    labels = labels_onehot.argmax(axis=1).astype(np.int64)
    masks = {
        "train": np.zeros(num_nodes, dtype=bool),
        "val": np.zeros(num_nodes, dtype=bool),
        "test": np.zeros(num_nodes, dtype=bool),
    }
    masks["train"][: y.shape[0]] = True
    masks["val"][y.shape[0] : y.shape[0] + 500] = True
    masks["test"][test_index] = True
    return np.asarray(features.todense(), dtype=np.float32), edge_index, labels, masks


class Planetoid(NodeGraphSource):
    """The ``cora`` / ``citeseer`` / ``planetoid`` datasets; see :class:`~selfsup_graph.configs.PlanetoidConfig`."""

    def __init__(self, config: PlanetoidConfig) -> None:
        if config.root is None:
            raise DatasetError(
                "Planetoid needs data.root: the folder holding the ind.<name>.* files "
                "(e.g. data.root=/path/to/citeseer)."
            )
        root = Path(config.root).expanduser()
        if not root.is_dir():
            raise DatasetError(f"data.root {str(root)!r} is not a folder. Point data.root at the folder holding ind.<name>.* files.")
        name = (config.name or root.name).strip().lower()
        if config.name is None and name not in KNOWN:
            found = sorted({p.name.split(".")[1] for p in root.glob("ind.*.x")})
            if len(found) != 1:
                raise DatasetError(
                    f"Cannot tell which Planetoid graph {str(root)!r} holds (found {found or 'no ind.*.x files'}). "
                    "Set data.name (cora, citeseer or pubmed)."
                )
            name = found[0]
        x, edge_index, labels, masks = read_planetoid(root, name)
        if config.normalize_features:
            sums = x.sum(axis=1, keepdims=True)
            x = np.divide(x, sums, out=np.zeros_like(x), where=sums > 0)
        num_classes = int(labels.max()) + 1
        super().__init__(
            name,
            torch.from_numpy(x),
            edge_index,
            torch.from_numpy(labels),
            {k: torch.from_numpy(v) for k, v in masks.items()},
            num_classes,
        )
        # selfsup embed: new Planetoid-format graphs are read and normalised the same way
        self.input_state = {"reader": "planetoid", "name": name, "normalize_features": config.normalize_features}


def cora(config: PlanetoidConfig) -> Planetoid:
    """``dataset=cora``: :class:`Planetoid` with ``name`` defaulting to ``cora``."""
    if config.name is None:
        config.name = "cora"
    return Planetoid(config)


def citeseer(config: PlanetoidConfig) -> Planetoid:
    """``dataset=citeseer``: :class:`Planetoid` with ``name`` defaulting to ``citeseer``."""
    if config.name is None:
        config.name = "citeseer"
    return Planetoid(config)
