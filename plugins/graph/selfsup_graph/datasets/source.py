"""A full-batch node-level data source: every split is the whole graph with its own ``eval_mask``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from selfsup.errors import DatasetError
from selfsup.interfaces import DataSource
from selfsup.tasks import declare_task

from ..graph_ops import undirected_edge_index

__all__ = ["NodeGraphSource", "GraphItem"]


class GraphItem(torch.utils.data.Dataset):
    """A dataset of exactly one item: the graph batch of one split."""

    def __init__(self, item: dict[str, torch.Tensor]) -> None:
        self.item = item

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index != 0:
            raise IndexError(f"a full-batch graph split has one item (index 0), not index {index}")
        return self.item


class NodeGraphSource(DataSource):
    """One attributed graph for node-level pretraining (``full_batch = True``).

    Each split's single item is the batch

    * ``x``: float32 node features ``[N, F]``;
    * ``edge_index``: int64 ``[2, E]``, both directions of every undirected
      edge, no self-loops, no duplicates (``E`` may be 0);
    * ``label``: int64 node classes ``[N]``;
    * ``eval_mask``: bool ``[N]``, the nodes that belong to the split (the
      evaluators keep these rows). Split ``all`` selects every node: node
      clustering scores it.

    ``info``: ``name``, ``task`` (``"node-clustering"``), ``level`` (``"node"``), ``num_nodes``,
    ``num_features``, ``num_classes``, ``num_edges`` (undirected), ``splits``.
    """

    full_batch = True
    #: Progress throughputs count nodes (each step sees every node of the graph).
    sample_unit = "nodes"

    def __init__(
        self,
        name: str,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        labels: torch.Tensor,
        masks: Mapping[str, torch.Tensor],
        num_classes: int,
    ) -> None:
        x = torch.as_tensor(x, dtype=torch.float32)
        num_nodes = x.shape[0]
        if x.ndim != 2 or num_nodes == 0:
            raise DatasetError(f"Graph {name!r} has node features of shape {tuple(x.shape)}; expected [nodes, features] with nodes >= 1.")
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.shape != (num_nodes,):
            raise DatasetError(f"Graph {name!r}: {labels.shape[0]} labels for {num_nodes} nodes. Give one label per node.")
        try:
            edges = undirected_edge_index(edge_index, num_nodes)
        except ValueError as exc:
            raise DatasetError(f"Graph {name!r}: {exc} Check the edge list.") from exc
        self.name = name
        self.splits = tuple(dict.fromkeys(["train", *masks, "all"]))
        shared = {"x": x, "edge_index": edges, "label": labels}
        all_nodes = torch.ones(num_nodes, dtype=torch.bool)
        self._items: dict[str, dict[str, torch.Tensor]] = {}
        for split in self.splits:
            mask = all_nodes if split == "all" else torch.as_tensor(masks.get(split, all_nodes), dtype=torch.bool)
            self._items[split] = {**shared, "eval_mask": mask}
        self.info: dict[str, Any] = {
            "name": name,
            "task": "node-clustering",
            "level": "node",
            "num_nodes": int(num_nodes),
            "num_features": int(x.shape[1]),
            "num_classes": int(num_classes),
            "num_edges": int(edges.shape[1] // 2),
            "splits": list(self.splits),
        }
        declare_task(self.info, "multiclass", num_classes=int(num_classes))

    def raw_feature_encoder(self) -> torch.nn.Module:
        """The raw-feature baseline (:class:`selfsup.tasks.RawFeatureSource`): each node's features."""
        from .raw import GraphRawFeatures

        return GraphRawFeatures(self.info)

    #: Set by sources whose raw files ``selfsup embed`` can read (Planetoid: ``{"reader": "planetoid", ...}``).
    input_state: dict[str, Any] = {}

    def preprocessing_state(self) -> dict[str, Any]:
        """``input_state`` plus the node feature width the encoder was built for."""
        return {"num_node_features": self.info["num_features"], **self.input_state} if self.input_state else {}

    def split(self, name: str) -> GraphItem:
        if name not in self._items:
            raise KeyError(name)
        return GraphItem(self._items[name])

    def collate(self, items: Sequence[dict[str, torch.Tensor]] | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The one graph item, unchanged (a full-batch source has nothing to stack)."""
        if isinstance(items, dict):
            return items
        if len(items) != 1:
            raise DatasetError(f"Graph {self.name!r} is full-batch: collate expects one item, got {len(items)}.")
        return items[0]
