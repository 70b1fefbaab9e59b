"""The raw-feature baseline of graph data (:class:`selfsup.tasks.RawFeatureSource`).

:class:`GraphRawFeatures` is a parameter-free "encoder" the core scores with the run's
evaluators beside the pretrained and random-init encoders:

* graph level (a batch ``{"graph": torch_geometric Batch}``): each node's features (integer
  category columns, as ``info["node_categories"]`` declares for molecules, one-hot encoded;
  float columns as they are), pooled per graph as ``[mean, sum]`` -- a bag of node features;
* node level (one full-batch graph): each node's feature row ``x``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["GraphRawFeatures"]


class GraphRawFeatures(nn.Module):
    """See the module docstring; ``embed_dim`` is the width of the rows it returns."""

    def __init__(self, info: Mapping[str, Any]) -> None:
        super().__init__()
        self.level = str(info.get("level", "graph"))
        categories = info.get("node_categories")
        self.categories = [int(c) for c in categories] if categories else None
        width = sum(self.categories) if self.categories else int(info.get("num_node_features", info.get("num_features", 0)))
        self.node_width = width
        self.embed_dim = 2 * width if self.level == "graph" else width

    def node_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.categories is None:
            return x.float()
        columns = [
            nn.functional.one_hot(x[:, i].long().clamp(0, size - 1), size).float() for i, size in enumerate(self.categories)
        ]
        return torch.cat(columns, dim=1)

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        if "graph" not in batch:  # a node-level full-batch item: {"x", "edge_index", ...}
            return self.node_features(batch["x"])
        graph = batch["graph"]
        x = self.node_features(graph.x)
        if self.level != "graph":
            return x
        index = graph.batch if getattr(graph, "batch", None) is not None else torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        count = int(getattr(graph, "num_graphs", int(index.max()) + 1))
        total = torch.zeros(count, x.shape[1], device=x.device).index_add_(0, index, x)
        nodes = torch.bincount(index, minlength=count).clamp_min(1).to(x.dtype)[:, None]
        return torch.cat([total / nodes, total], dim=1)
