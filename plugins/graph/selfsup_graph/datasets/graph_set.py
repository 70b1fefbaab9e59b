"""A graph-level data source: a list of torch-geometric graphs with named splits.

Contract (for every graph-level dataset of this plugin: TU datasets, molecules, ...)
-------------------------------------------------------------------------------------

Build one with :class:`GraphSetSource` ``(name, graphs, labels, splits, ...)``:

* ``graphs``: a sequence of :class:`torch_geometric.data.Data`, each with
  ``x`` ``[n_i, F]`` (any dtype: float features, or integer categories such as
  atom types; ``n_i >= 1``) and ``edge_index`` int64 ``[2, E_i]`` (0-based
  within the graph; ``E_i`` may be 0). Optional ``edge_attr`` ``[E_i, D]`` and
  any other attribute are carried along by batching. Graph labels are *not*
  read from ``Data.y``; pass them as ``labels``.
* ``labels``: one row per graph, either

  - int64 ``[N]`` class ids in ``[0, num_classes)`` (``task="classification"``), or
  - float32 ``[N, T]`` binary (0/1) task targets with ``NaN`` for a missing label
    (``task="multitask-binary"``, e.g. Tox21; a single-task molecule set such as
    BBBP is ``[N, 1]``), or
  - float32 ``[N]`` / ``[N, T]`` real-valued targets (``task="regression"``, e.g. ESOL).

* ``task``: the declared task (``"binary"``, ``"multiclass"``, ``"multilabel"``,
  ``"regression"``), recorded as ``info["label_tasks"]`` (:mod:`selfsup.tasks`);
  ``None`` reads int64 ``[N]`` as multiclass and float ``[N, T]`` as multilabel.

* ``splits``: ``{split name: list of graph indices}``; ``"train"`` is required.
  A split ``"all"`` (every graph, in order) is added unless given, so node- and
  graph-level datasets both answer the modality's default clustering evaluator.
* ``node_features`` / ``edge_features``: one-line descriptions of what the
  columns of ``x`` / ``edge_attr`` mean (recorded in ``info``).
* ``extra_info``: more JSON-serialisable facts merged into ``info`` (e.g. the
  split protocol, a fold index, counts of skipped inputs).

Every problem (a label count that does not match, an index outside the graph,
a split index past the last graph, a missing ``train`` split) raises
:class:`selfsup.errors.DatasetError` naming the dataset and the culprit.

What a run sees
---------------

* ``split(name)`` is a map-style dataset whose item ``i`` is
  ``{"graph": Data, "label": tensor}`` (a 0-d int64 class id, or a float32 ``[T]`` row).
* ``collate(items)`` returns ``{"graph": torch_geometric.data.Batch, "label": tensor}``
  with ``label`` int64 ``[B]`` or float32 ``[B, T]``; ``batch["graph"].batch``
  maps each node to its graph (``0..B-1``), ``batch["graph"].num_graphs == B``.
  An encoder returns one embedding per graph (``[B, embed_dim]``), so the core's
  evaluators (which read ``"label"``) work unchanged.
* ``full_batch = False``: the engine samples mini-batches of graphs.
* ``info``: ``name``, ``task`` (``"classification"`` or ``"multitask-binary"``),
  ``level`` (``"graph"``), ``num_graphs``, ``num_node_features`` (``F``),
  ``num_edge_features`` (``D``, 0 without ``edge_attr``), ``node_features``,
  ``edge_features``, ``num_classes`` (classification) or ``num_tasks``
  (multi-task), ``split_sizes``, plus ``extra_info``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from selfsup.errors import DatasetError
from selfsup.interfaces import DataSource
from selfsup.tasks import declare_task

__all__ = ["GraphSetSource", "GraphSubset", "collate_graphs"]

CLASSIFICATION = "classification"
MULTITASK = "multitask-binary"
REGRESSION = "regression"


class GraphSubset(torch.utils.data.Dataset):
    """The graphs of one split: item ``i`` is ``{"graph": Data, "label": tensor}``."""

    def __init__(self, graphs: Sequence[Any], labels: torch.Tensor, indices: torch.Tensor) -> None:
        self.graphs = graphs
        self.labels = labels
        self.indices = indices

    def __len__(self) -> int:
        return int(self.indices.numel())

    def __getitem__(self, index: int) -> dict[str, Any]:
        graph_id = int(self.indices[index])
        return {"graph": self.graphs[graph_id], "label": self.labels[graph_id]}


def collate_graphs(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"graph": Batch.from_data_list(graphs), "label": stacked labels}`` of a list of items."""
    from torch_geometric.data import Batch

    if len(items) == 0:
        raise DatasetError("collate_graphs got no items. Use a non-empty split.")
    return {
        "graph": Batch.from_data_list([item["graph"] for item in items]),
        "label": torch.stack([torch.as_tensor(item["label"]) for item in items]),
    }


def _check_graph(name: str, index: int, graph: Any) -> tuple[int, int]:
    """``(F, D)`` of one graph after checking its shapes; ``DatasetError`` naming the graph otherwise."""
    x = getattr(graph, "x", None)
    edge_index = getattr(graph, "edge_index", None)
    if x is None or x.ndim != 2 or x.shape[0] == 0:
        shape = None if x is None else tuple(x.shape)
        raise DatasetError(f"{name}: graph {index} has node features x of shape {shape}; expected [nodes >= 1, features].")
    if edge_index is None or edge_index.ndim != 2 or edge_index.shape[0] != 2 or edge_index.dtype != torch.long:
        raise DatasetError(f"{name}: graph {index} needs edge_index as int64 [2, edges] (0-based node ids within the graph).")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= x.shape[0]):
        raise DatasetError(
            f"{name}: graph {index} has an edge to node {int(edge_index.max())} but only {x.shape[0]} nodes "
            f"(ids 0..{x.shape[0] - 1}). Fix its edge list."
        )
    edge_attr = getattr(graph, "edge_attr", None)
    if edge_attr is None:
        return int(x.shape[1]), 0
    if edge_attr.shape[0] != edge_index.shape[1]:
        raise DatasetError(f"{name}: graph {index} has {edge_attr.shape[0]} edge_attr rows for {edge_index.shape[1]} edges.")
    return int(x.shape[1]), int(edge_attr.shape[1]) if edge_attr.ndim == 2 else 1


class GraphSetSource(DataSource):
    """Named splits of a list of graphs; see the module docstring for the full contract."""

    full_batch = False

    def __init__(
        self,
        name: str,
        graphs: Sequence[Any],
        labels: torch.Tensor,
        splits: Mapping[str, Sequence[int] | torch.Tensor],
        *,
        node_features: str = "",
        edge_features: str = "",
        num_classes: int | None = None,
        extra_info: Mapping[str, Any] | None = None,
        task: str | None = None,
    ) -> None:
        self.name = name
        self.graphs = list(graphs)
        if not self.graphs:
            raise DatasetError(f"{name}: no graphs. Check the dataset's files.")
        labels = torch.as_tensor(labels)
        if labels.shape[0] != len(self.graphs):
            raise DatasetError(f"{name}: {labels.shape[0]} labels for {len(self.graphs)} graphs. Give one label row per graph.")
        declared = task
        if declared is None:  # callers that predate declared tasks: the label layout names the task
            declared = "multiclass" if labels.ndim == 1 and not labels.is_floating_point() else "multilabel"
        if declared in ("binary", "multiclass"):
            task = CLASSIFICATION
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if labels.ndim != 1 or (labels.is_floating_point() and not bool((labels == labels.round()).all())):
                raise DatasetError(f"{name}: task {declared!r} needs one integer class id per graph, got labels of shape {tuple(labels.shape)}.")
            labels = labels.long()
            if int(labels.min()) < 0:
                raise DatasetError(f"{name}: class ids must be >= 0 (found {int(labels.min())}). Map the labels to 0..K-1.")
            num_classes = int(num_classes if num_classes is not None else int(labels.max()) + 1)
            if int(labels.max()) >= num_classes:
                raise DatasetError(f"{name}: class id {int(labels.max())} is not below num_classes={num_classes}.")
        elif declared == "multilabel":
            task = MULTITASK
            labels = labels.float()
            if labels.ndim != 2:
                raise DatasetError(
                    f"{name}: labels of shape {tuple(labels.shape)} and dtype {labels.dtype}; expected int64 [graphs] "
                    "class ids or float32 [graphs, tasks] with NaN for missing."
                )
            known = labels[~torch.isnan(labels)]
            if known.numel() and not bool(((known == 0) | (known == 1)).all()):
                raise DatasetError(
                    f"{name}: multi-task labels must be 0, 1 or NaN (missing). Convert them (e.g. -1 -> 0), "
                    "or declare real-valued targets as a regression task (molecule-csv: data.task=regression)."
                )
        elif declared == "regression":
            task = REGRESSION
            labels = labels.float()
            labels = labels.unsqueeze(1) if labels.ndim == 1 else labels
            if labels.ndim != 2:
                raise DatasetError(f"{name}: regression targets need shape [graphs] or [graphs, targets], got {tuple(labels.shape)}.")
        else:
            raise DatasetError(
                f"{name}: task={declared!r} is not a graph task. Use 'binary', 'multiclass', 'multilabel' or 'regression'."
            )
        self.labels = labels
        widths = {_check_graph(name, i, g) for i, g in enumerate(self.graphs)}
        if len({w[0] for w in widths}) != 1 or len({w[1] for w in widths}) != 1:
            raise DatasetError(f"{name}: graphs have different feature widths {sorted(widths)} ((node, edge)). Give every graph the same columns.")
        num_node_features, num_edge_features = widths.pop()
        if "train" not in splits:
            raise DatasetError(f"{name}: no 'train' split (given: {sorted(splits)}). Add one.")
        self._indices: dict[str, torch.Tensor] = {}
        for split, indices in {**splits, **({} if "all" in splits else {"all": range(len(self.graphs))})}.items():
            index = torch.as_tensor(list(indices) if not isinstance(indices, torch.Tensor) else indices, dtype=torch.long)
            if index.numel() and (int(index.min()) < 0 or int(index.max()) >= len(self.graphs)):
                raise DatasetError(f"{name}: split {split!r} names graph {int(index.max())} but there are {len(self.graphs)} graphs.")
            self._indices[split] = index
        self.splits = tuple(self._indices)
        self.info: dict[str, Any] = {
            "name": name,
            "task": task,
            "level": "graph",
            "num_graphs": len(self.graphs),
            "num_node_features": num_node_features,
            "num_edge_features": num_edge_features,
            "node_features": node_features,
            "edge_features": edge_features,
            "split_sizes": {split: int(index.numel()) for split, index in self._indices.items()},
        }
        if task == CLASSIFICATION:
            self.info["num_classes"] = num_classes
            declare_task(self.info, "multiclass", num_classes=num_classes)
        else:
            self.info["num_tasks"] = int(labels.shape[1])
            declare_task(self.info, "multilabel" if task == MULTITASK else "regression", num_targets=int(labels.shape[1]))
        self.info.update(dict(extra_info or {}))

    #: What the creator of the source records for ``selfsup embed`` (``"reader"`` and its
    #: settings: ``"tu"`` with the label encodings, ``"smiles"`` with the SMILES column).
    input_state: dict[str, Any] = {}

    def preprocessing_state(self) -> dict[str, Any]:
        """``input_state`` plus the feature widths the encoder was built for."""
        widths = {key: self.info[key] for key in ("num_node_features", "num_edge_features")}
        return {**widths, **self.input_state} if self.input_state else {}

    def raw_feature_encoder(self) -> torch.nn.Module:
        """The raw-feature baseline (:class:`selfsup.tasks.RawFeatureSource`): pooled node features."""
        from .raw import GraphRawFeatures

        return GraphRawFeatures(self.info)

    def split(self, name: str) -> GraphSubset:
        if name not in self._indices:
            raise KeyError(name)
        return GraphSubset(self.graphs, self.labels, self._indices[name])

    def split_indices(self, name: str) -> torch.Tensor:
        """The graph ids of split ``name`` (int64, in split order)."""
        if name not in self._indices:
            raise KeyError(name)
        return self._indices[name].clone()

    def collate(self, items: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> dict[str, Any]:
        """``{"graph": Batch, "label": [B] or [B, T]}``; an already collated dict passes through."""
        if isinstance(items, Mapping):
            return dict(items)
        return collate_graphs(items)
