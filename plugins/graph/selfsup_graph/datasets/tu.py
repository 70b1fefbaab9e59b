"""TU graph-classification datasets (Morris et al. 2020, "TUDataset") from their raw text files.

Format (the collection's README, e.g. ``MUTAG/README.txt``), ``n`` nodes, ``m``
edges and ``N`` graphs in all, comma-separated, ids 1-based:

* ``<NAME>_A.txt`` (m lines): ``row, col``, the block-diagonal adjacency, usually both directions;
* ``<NAME>_graph_indicator.txt`` (n lines): the graph id of node ``i``;
* ``<NAME>_graph_labels.txt`` (N lines): the class of graph ``i``;
* optional ``<NAME>_node_labels.txt`` (n lines), ``<NAME>_node_attributes.txt``
  (n lines of floats), ``<NAME>_edge_labels.txt`` and ``<NAME>_edge_attributes.txt``
  (m lines each, aligned with ``_A.txt``).

Assembly follows torch-geometric's ``read_tu_data`` (``torch_geometric/io/tu.py``):
node labels ``value - min`` one-hot per column, then attributes; edge labels
one-hot, then attributes; self-loops removed and duplicate edges merged (the
first occurrence's features kept). Each graph's node ids become 0-based local ids.
Graph labels are mapped to ``0..K-1`` in sorted order. Problems are
:class:`~selfsup.errors.DatasetError`\\ s that name the file and, for bad
values, the line.

Why not ``torch_geometric.io.read_tu_data`` itself (checked 2026-12-07, torch-geometric as
pinned): on the MUTAG files it reads the same, to the bit, for all 188 graphs (``x``,
``edge_index``, ``edge_attr``; labels the same after the sorted mapping), and
``plugins/graph/tests/test_graph_tu.py`` keeps checking that. It is kept apart because
(1) ``selfsup embed`` must one-hot a new folder's labels with *the run's* ``[min, width]``
codes (``encodings``) and read folders without ``_graph_labels.txt``; ``read_tu_data`` fits
``value - min`` and the width on each folder, so a folder holding only some label values gets
other columns; (2) the bad-file errors name the file and the line; measured on the tests'
``tiny_tu`` folder, ``read_tu_data`` reads an ``_A.txt`` line ``1; 2`` as ``ValueError: invalid
literal for int() with base 10: '1; 2'`` (no file, no line), and an added edge ``3, 4`` that
joins two graphs without any error, into one graph's slice; (3) it is faster: 17 ms against 72 ms of CPU for MUTAG (mean of 5 warm calls, one
shared CPU core).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from selfsup.errors import DatasetError
from selfsup.progress import track

from ..configs import TUConfig
from .graph_set import GraphSetSource

__all__ = ["TUDataset", "mutag", "proteins", "read_tu_graphs", "read_table", "stratified_split", "stratified_folds", "REQUIRED", "OPTIONAL"]

REQUIRED = ("A", "graph_indicator", "graph_labels")
OPTIONAL = ("node_labels", "node_attributes", "edge_labels", "edge_attributes")


def _path(root: Path, name: str, part: str) -> Path:
    return root / f"{name}_{part}.txt"


def _missing(path: Path, name: str) -> DatasetError:
    return DatasetError(
        f"TU file {str(path)!r} not found. A TU dataset folder holds {name}_A.txt, {name}_graph_indicator.txt and "
        f"{name}_graph_labels.txt (optionally {name}_node_labels.txt, _node_attributes.txt, _edge_labels.txt, "
        "_edge_attributes.txt), as unpacked from the TUDataset collection (chrsmrrs.github.io/datasets); "
        "set data.root to that folder and data.name to the file prefix."
    )


def read_table(path: Path, *, dtype: type, columns: int | None = None, allow_empty: bool = False) -> np.ndarray:
    """The comma-separated numbers of ``path`` as a 2-D array ``[lines, columns]``.

    Raises :class:`DatasetError` naming the file and the first bad line (an
    unparsable value, or a different number of columns than line 1 or than
    ``columns``). An empty file is an error unless ``allow_empty`` (then ``[0, columns]``).
    """
    import warnings

    try:  # the fast path; on any problem the line-by-line scan below finds the culprit
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            table = np.loadtxt(path, delimiter=",", dtype=np.int64 if dtype is int else np.float32, ndmin=2)
        if table.shape[0] and (columns is None or table.shape[1] == columns):
            return table
    except (ValueError, UserWarning):
        pass
    lines = path.read_text().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    rows: list[list[Any]] = []
    width = columns
    for number, line in enumerate(lines, start=1):
        fields = [field.strip() for field in line.split(",")]
        try:
            values = [dtype(float(field)) if dtype is int else dtype(field) for field in fields]
        except ValueError:
            raise DatasetError(f"{path.name} line {number}: cannot read {line.strip()!r} as {dtype.__name__} values. Fix or remove that line.") from None
        if dtype is int and any(float(field) != value for field, value in zip(fields, values)):
            raise DatasetError(f"{path.name} line {number}: {line.strip()!r} is not an integer. Fix that line.")
        if width is None:
            width = len(values)
        if len(values) != width:
            raise DatasetError(f"{path.name} line {number}: {len(values)} values, expected {width}. Fix that line.")
        rows.append(values)
    if not rows and allow_empty and columns is not None:
        return np.zeros((0, columns), dtype=np.int64 if dtype is int else np.float32)
    if not rows:
        raise DatasetError(f"{path.name} is empty. Replace it with the dataset's original file.")
    return np.asarray(rows, dtype=np.int64 if dtype is int else np.float32)


def _one_hot(values: np.ndarray, fitted: Sequence[Sequence[int]] | None = None) -> tuple[np.ndarray, list[list[int]]]:
    """One-hot of each integer column (``value - min``), concatenated; and each block's
    ``[min, width]``. With ``fitted`` (an earlier call's ``[min, width]`` per column, as saved
    in a run's preprocessing state) those are used, and a value outside a block is all zeros."""
    if fitted is not None and len(fitted) != values.shape[1]:
        raise DatasetError(
            f"The label file has {values.shape[1]} column(s); the run was trained on {len(fitted)}. "
            "Give files with the same columns as the training data."
        )
    blocks, encodings = [], []
    for k, column in enumerate(values.T):
        low, width = (int(column.min()), int(column.max() - column.min()) + 1) if fitted is None else map(int, fitted[k])
        shifted = column - low
        block = np.zeros((len(column), width), dtype=np.float32)
        inside = (shifted >= 0) & (shifted < width)
        block[np.nonzero(inside)[0], shifted[inside]] = 1.0
        blocks.append(block)
        encodings.append([low, width])
    return np.concatenate(blocks, axis=1), encodings


def read_tu_graphs(
    root: str | Path, name: str, *, use_node_attributes: bool = True, use_edge_features: bool = True,
    encodings: Mapping[str, Any] | None = None,
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """``(graphs, raw graph labels [N], description)`` of the TU dataset ``name`` in ``root``.

    ``graphs`` are torch-geometric ``Data`` objects with float32 ``x``, int64
    ``edge_index`` (local, 0-based) and, when the files give edge features,
    float32 ``edge_attr``. ``description`` says what the feature columns are, and under
    ``"encodings"`` the ``[min, width]`` of each one-hot label column. Given ``encodings``
    (a run's, for new graphs), those one-hot blocks are reused and ``graph_labels`` may be
    absent (the labels are then ``-1``).
    """
    from torch_geometric.data import Data

    root = Path(root)
    for part in REQUIRED:
        if not _path(root, name, part).is_file() and not (encodings is not None and part == "graph_labels"):
            raise _missing(_path(root, name, part), name)
    a_path = _path(root, name, "A")
    edges = read_table(a_path, dtype=int, columns=2, allow_empty=True)  # no edges at all is a valid (if odd) dataset
    indicator = read_table(_path(root, name, "graph_indicator"), dtype=int, columns=1)[:, 0]
    if encodings is not None and not _path(root, name, "graph_labels").is_file():
        graph_labels = np.full((int(indicator.max()), 1), -1, dtype=np.int64)
    else:
        graph_labels = read_table(_path(root, name, "graph_labels"), dtype=int)
    if graph_labels.shape[1] != 1:
        raise DatasetError(f"{name}_graph_labels.txt has {graph_labels.shape[1]} columns; one class per graph is expected.")
    graph_labels = graph_labels[:, 0]
    num_nodes, num_graphs = len(indicator), len(graph_labels)

    bad = np.nonzero((edges < 1).any(axis=1) | (edges > num_nodes).any(axis=1))[0]
    if len(bad):
        line = int(bad[0]) + 1
        raise DatasetError(
            f"{a_path.name} line {line}: edge {edges[bad[0], 0]}, {edges[bad[0], 1]} points past the last node "
            f"({num_nodes} nodes in {name}_graph_indicator.txt; ids are 1-based, 1..{num_nodes}). "
            "Fix the edge list or use the matching graph_indicator file."
        )
    if int(indicator.min()) < 1 or int(indicator.max()) > num_graphs:
        line = int(np.nonzero((indicator < 1) | (indicator > num_graphs))[0][0]) + 1
        raise DatasetError(
            f"{name}_graph_indicator.txt line {line}: graph id {indicator[line - 1]} is outside 1..{num_graphs} "
            f"({num_graphs} lines in {name}_graph_labels.txt). Use files from one dataset."
        )
    if (np.diff(indicator) < 0).any():
        line = int(np.nonzero(np.diff(indicator) < 0)[0][0]) + 2
        raise DatasetError(f"{name}_graph_indicator.txt line {line}: graph ids must not decrease (each graph's nodes are consecutive). Sort the nodes by graph.")
    counts = np.bincount(indicator - 1, minlength=num_graphs)
    if (counts == 0).any():
        raise DatasetError(f"{name}: graph {int(np.nonzero(counts == 0)[0][0]) + 1} has no nodes in {name}_graph_indicator.txt. Use files from one dataset.")

    description: dict[str, Any] = {"node_features": [], "edge_features": [], "encodings": {}}
    fitted = dict(encodings or {})
    node_blocks: list[np.ndarray] = []
    node_label_path = _path(root, name, "node_labels")
    if node_label_path.is_file():
        values = read_table(node_label_path, dtype=int)
        if len(values) != num_nodes:
            raise DatasetError(f"{node_label_path.name} has {len(values)} lines for {num_nodes} nodes. Use files from one dataset.")
        block, coding = _one_hot(values, fitted.get("node_labels") if encodings is not None else None)
        description["encodings"]["node_labels"] = coding
        node_blocks.append(block)
        description["node_features"].append(f"one-hot node labels ({'+'.join(str(w) for _, w in coding)})")
    node_attr_path = _path(root, name, "node_attributes")
    if use_node_attributes and node_attr_path.is_file():
        values = read_table(node_attr_path, dtype=float)
        if len(values) != num_nodes:
            raise DatasetError(f"{node_attr_path.name} has {len(values)} lines for {num_nodes} nodes. Use files from one dataset.")
        node_blocks.append(values)
        description["node_features"].append(f"node attributes ({values.shape[1]})")
    if not node_blocks:  # no node information at all: a constant feature, as GIN does for social graphs
        node_blocks.append(np.ones((num_nodes, 1), dtype=np.float32))
        description["node_features"].append("constant 1 (the files give no node labels or attributes)")
    x_all = torch.from_numpy(np.concatenate(node_blocks, axis=1))

    edge_blocks: list[np.ndarray] = []
    if use_edge_features:
        for part, kind in (("edge_labels", int), ("edge_attributes", float)):
            path = _path(root, name, part)
            if not path.is_file():
                continue
            values = read_table(path, dtype=kind)
            if len(values) != len(edges):
                raise DatasetError(f"{path.name} has {len(values)} lines for {len(edges)} edges in {a_path.name}. Use files from one dataset.")
            if kind is int:
                block, coding = _one_hot(values, fitted.get("edge_labels") if encodings is not None else None)
                description["encodings"]["edge_labels"] = coding
                edge_blocks.append(block)
                description["edge_features"].append(f"one-hot edge labels ({'+'.join(str(w) for _, w in coding)})")
            else:
                edge_blocks.append(values)
                description["edge_features"].append(f"edge attributes ({values.shape[1]})")
    edge_attr_all = torch.from_numpy(np.concatenate(edge_blocks, axis=1)) if edge_blocks else None

    src, dst = edges[:, 0] - 1, edges[:, 1] - 1
    crossing = np.nonzero(indicator[src] != indicator[dst])[0]
    if len(crossing):
        line = int(crossing[0]) + 1
        raise DatasetError(f"{a_path.name} line {line}: edge {src[crossing[0]] + 1}, {dst[crossing[0]] + 1} joins two graphs. Fix the edge list.")
    # self-loops removed; duplicates merged keeping the first occurrence (sorted by graph, then source, target)
    keep = src != dst
    order = np.nonzero(keep)[0]
    keys = src[order].astype(np.int64) * num_nodes + dst[order]
    _, first = np.unique(keys, return_index=True)
    order = order[first]  # sorted by (src, dst), which sorts by graph too
    starts = np.concatenate([[0], np.cumsum(counts)])
    edge_graph = indicator[src[order]] - 1
    edge_bounds = np.searchsorted(edge_graph, np.arange(num_graphs + 1))
    src_t, dst_t = torch.from_numpy(src[order]), torch.from_numpy(dst[order])
    order_t = torch.from_numpy(order)
    graphs = []
    for g in track(range(num_graphs), f"data: building {name} graphs", unit="graphs"):
        lo, hi = int(edge_bounds[g]), int(edge_bounds[g + 1])
        offset = int(starts[g])
        data = Data(
            x=x_all[offset : int(starts[g + 1])],
            edge_index=torch.stack([src_t[lo:hi], dst_t[lo:hi]]) - offset,
        )
        if edge_attr_all is not None:
            data.edge_attr = edge_attr_all[order_t[lo:hi]]
        graphs.append(data)
    description["num_nodes"] = num_nodes
    description["num_edges"] = int(len(order))
    return graphs, graph_labels, description


def stratified_split(labels: torch.Tensor, val_fraction: float, test_fraction: float, seed: int) -> dict[str, list[int]]:
    """Seeded class-stratified ``train``/``val``/``test`` index lists (each class split by the fractions)."""
    generator = torch.Generator().manual_seed(seed)
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for cls in torch.unique(labels).tolist():
        members = torch.nonzero(labels == cls).flatten()
        members = members[torch.randperm(len(members), generator=generator)].tolist()
        n_test = round(len(members) * test_fraction)
        n_val = round(len(members) * val_fraction)
        out["test"] += members[:n_test]
        out["val"] += members[n_test : n_test + n_val]
        out["train"] += members[n_test + n_val :]
    return {split: sorted(index) for split, index in out.items()}


def stratified_folds(labels: torch.Tensor, num_folds: int, seed: int) -> list[list[int]]:
    """Seeded class-stratified folds: each class's shuffled members are dealt round-robin to the folds."""
    generator = torch.Generator().manual_seed(seed)
    folds: list[list[int]] = [[] for _ in range(num_folds)]
    position = 0
    for cls in torch.unique(labels).tolist():
        members = torch.nonzero(labels == cls).flatten()
        for index in members[torch.randperm(len(members), generator=generator)].tolist():
            folds[position % num_folds].append(index)
            position += 1
    return [sorted(fold) for fold in folds]


def _infer_name(root: Path) -> str:
    found = sorted(p.name[: -len("_A.txt")] for p in root.glob("*_A.txt"))
    if len(found) != 1:
        raise DatasetError(
            f"Cannot tell which TU dataset {str(root)!r} holds (found {found or 'no *_A.txt file'}). "
            "Set data.name to the file prefix (e.g. data.name=MUTAG)."
        )
    return found[0]


class TUDataset(GraphSetSource):
    """The ``tu`` dataset (and ``mutag``): see :class:`~selfsup_graph.configs.TUConfig`."""

    def __init__(self, config: TUConfig) -> None:
        if config.root is None:
            raise DatasetError("A TU dataset needs data.root: the folder holding <NAME>_A.txt etc. (e.g. data.root=/path/to/mutag).")
        root = Path(config.root).expanduser()
        if not root.is_dir():
            raise DatasetError(f"data.root {str(root)!r} is not a folder. Point data.root at the folder holding <NAME>_A.txt etc.")
        name = config.name or _infer_name(root)
        graphs, raw_labels, description = read_tu_graphs(
            root, name, use_node_attributes=config.use_node_attributes, use_edge_features=config.use_edge_features
        )
        values, labels = np.unique(raw_labels, return_inverse=True)
        if len(values) < 2:
            raise DatasetError(f"{name}_graph_labels.txt holds one class ({values.tolist()}); graph classification needs at least two.")
        labels_t = torch.from_numpy(labels.astype(np.int64))
        protocol: dict[str, Any]
        if config.folds is not None:  # the core's data.folds/data.fold protocol
            from selfsup.folds import check_fold

            check_fold(config.folds, config.fold, dataset=name, rows=len(labels_t))
            config.split, config.num_folds = "kfold", int(config.folds)
        if config.split == "stratified":
            if not (0 <= config.val_fraction < 1 and 0 < config.test_fraction < 1 and config.val_fraction + config.test_fraction < 1):
                raise DatasetError(
                    f"{name}: val_fraction={config.val_fraction} and test_fraction={config.test_fraction} must be in [0, 1) "
                    "and leave graphs for training. Use e.g. data.val_fraction=0.1 data.test_fraction=0.1."
                )
            splits: dict[str, list[int]] = stratified_split(labels_t, config.val_fraction, config.test_fraction, config.seed)
            if not splits["val"]:
                del splits["val"]
            protocol = {"split": "stratified", "val_fraction": config.val_fraction, "test_fraction": config.test_fraction, "split_seed": config.seed}
        elif config.split == "kfold":
            if config.num_folds < 2 or not 0 <= config.fold < config.num_folds:
                raise DatasetError(
                    f"{name}: fold {config.fold} of num_folds={config.num_folds} does not exist. "
                    "Use num_folds >= 2 and 0 <= fold < num_folds."
                )
            folds = stratified_folds(labels_t, config.num_folds, config.seed)
            splits = {"train": sorted(i for k, f in enumerate(folds) if k != config.fold for i in f), "test": folds[config.fold]}
            protocol = {"split": "kfold", "num_folds": config.num_folds, "fold": config.fold, "split_seed": config.seed,
                        "cv": {"folds": config.num_folds, "fold": config.fold, "seed": config.seed, "stratified": True}}
        else:
            raise DatasetError(f"{name}: data.split={config.split!r} is not a split protocol. Use 'stratified' or 'kfold'.")
        super().__init__(
            name,
            graphs,
            labels_t,
            splits,
            node_features=" + ".join(description["node_features"]),
            edge_features=" + ".join(description["edge_features"]),
            num_classes=len(values),
            task="multiclass",
            extra_info={
                **protocol,
                "label_values": values.tolist(),
                "num_nodes": description["num_nodes"],
                "num_edges": description["num_edges"],
            },
        )
        # selfsup embed: new TU graphs get this run's one-hot encodings of the label columns
        self.input_state = {
            "reader": "tu",
            "encodings": description["encodings"],
            "use_node_attributes": config.use_node_attributes,
            "use_edge_features": config.use_edge_features,
        }


def mutag(config: TUConfig) -> TUDataset:
    """``dataset=mutag``: :class:`TUDataset` with ``name`` defaulting to ``MUTAG``."""
    if config.name is None:
        config.name = "MUTAG"
    return TUDataset(config)


def proteins(config: TUConfig) -> TUDataset:
    """``dataset=proteins``: :class:`TUDataset` with ``name`` defaulting to ``PROTEINS``."""
    if config.name is None:
        config.name = "PROTEINS"
    return TUDataset(config)
