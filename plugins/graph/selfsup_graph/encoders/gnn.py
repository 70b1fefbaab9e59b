"""``gin`` and ``gcn``: message-passing encoders on torch-geometric, for graph-level and node-level data.

Graph-level architecture (Hu et al. 2020, the D-SLA encoder;
``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/model.py``, classes
``GINConv``, ``GCNConv``, ``GNN``, ``GNN_graphpred``):

* input: h⁰_v = Σ_k Emb_k(x_v,k) for integer node categories
  (``data_info["node_categories"]``: atom type + chirality; xavier-uniform
  init), or a linear map of float node features (TU one-hot labels, attributes);
* L layers (default 5, width 300); each layer adds self-loops and aggregates
  with sum over u ∈ N(v) ∪ {v}:

  - GIN: h^{l+1}_v = MLP( Σ_u (h^l_u + e^l_uv) ),  MLP = Linear(D, 2D), ReLU, Linear(2D, D);
  - GCN: h^{l+1}_v = Σ_u d_u^{-1/2} d_v^{-1/2} (W h^l_u + e^l_uv)  (degrees counted with the self-loop);

  then BatchNorm, ReLU (not after the last layer) and dropout;
* edge embeddings e^l_uv, one table set per layer: integer categories
  (``data_info["edge_categories"]``, bond type + direction; the first table
  gets two extra rows, self-loop = ``categories[0]`` and mask, as Hu's
  ``num_bond_type = 6``), or a linear map of float edge features plus a
  learned self-loop vector, or none at all (no edge features, or
  ``use_edge_features=False``): then e = 0 and the GIN layer is GIN-0 of Xu et al. 2019;
* jumping knowledge over [h⁰, ..., h^L]: ``last`` (D-SLA), ``sum``, ``max``
  (element-wise) or ``concat`` (width (L+1)·D);
* readout: ``mean`` (D-SLA) or ``sum`` pooling per graph (torch-geometric
  ``global_mean_pool`` / ``global_add_pool``).

``GraphGNN(batch)`` returns ``[num_graphs, embed_dim]`` for a graph-level batch
(``batch["graph"]``, a torch-geometric ``Batch``) and ``[num_nodes, embed_dim]``
for a node-level batch (``batch["x"]``, ``batch["edge_index"]``).

Node-level ``gcn`` (:class:`NodeGCN`): torch-geometric ``GCNConv`` layers
(Kipf & Welling 2017) on the full graph, ReLU and dropout between layers.

Deviation: the chirality table has 4 rows (Hu's code declares 3 but its
vocabulary lists CHI_OTHER as a fourth value, which would index past it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv, MessagePassing, global_add_pool, global_mean_pool

from selfsup.errors import ConfigError, DatasetError

from ..configs import GCNConfig, GINConfig

__all__ = [
    "GraphGNN",
    "NodeGCN",
    "HuGINConv",
    "HuGCNConv",
    "NodeInput",
    "EdgeInput",
    "build_gin",
    "build_gcn",
    "POOLINGS",
    "JK_MODES",
]

POOLINGS = {"mean": global_mean_pool, "sum": global_add_pool}
JK_MODES = ("last", "sum", "max", "concat")

#: The level defaults of ``gcn`` (``num_layers``, ``hidden_dim``).
GCN_DEFAULTS = {"graph": (5, 300), "node": (2, 256)}


def _num_node_features(data_info: Mapping[str, Any]) -> int:
    return int(data_info.get("num_node_features", data_info.get("num_features", 0)))


class NodeInput(nn.Module):
    """h⁰: a sum of embeddings of integer node categories, or a linear map of float features."""

    def __init__(self, categories: Sequence[int] | None, num_features: int, dim: int) -> None:
        super().__init__()
        self.categorical = bool(categories)
        self.num_columns = len(categories) if categories else max(num_features, 1)
        if self.categorical:
            self.tables = nn.ModuleList(nn.Embedding(int(size), dim) for size in categories or ())
            for table in self.tables:
                nn.init.xavier_uniform_(table.weight)
        else:
            self.linear = nn.Linear(self.num_columns, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2 and x.shape[1] == 0:
            x = torch.ones(x.shape[0], 1, device=x.device)
        if x.ndim != 2 or x.shape[1] != self.num_columns:
            raise DatasetError(
                f"The encoder was built for node features with {self.num_columns} columns but got x of shape "
                f"{tuple(x.shape)}. Build the encoder from this dataset's data_info."
            )
        if self.categorical:
            return sum(table(x[:, k].long()) for k, table in enumerate(self.tables))  # type: ignore[return-value]
        return self.linear(x.float())


class EdgeInput(nn.Module):
    """One layer's edge embeddings ``[E + N, D]`` (self-loop edges appended last), or ``None`` without edge features."""

    def __init__(self, categories: Sequence[int] | None, num_features: int, dim: int) -> None:
        super().__init__()
        self.mode = "categorical" if categories else ("float" if num_features > 0 else "none")
        self.num_columns = len(categories) if categories else num_features
        if self.mode == "categorical":
            assert categories is not None
            sizes = [int(categories[0]) + 2, *(int(c) for c in categories[1:])]
            self.self_loop_type = int(categories[0])
            self.tables = nn.ModuleList(nn.Embedding(size, dim) for size in sizes)
            for table in self.tables:
                nn.init.xavier_uniform_(table.weight)
        elif self.mode == "float":
            self.linear = nn.Linear(num_features, dim)
            self.self_loop = nn.Parameter(torch.zeros(dim))

    def forward(self, edge_attr: torch.Tensor | None, num_edges: int, num_nodes: int) -> torch.Tensor | None:
        if self.mode == "none":
            return None
        if edge_attr is None:
            raise DatasetError(
                "The encoder was built with edge features (data_info num_edge_features > 0) but the batch has no "
                "edge_attr. Give every graph edge_attr, or set encoder_config.use_edge_features=false."
            )
        attr = edge_attr if edge_attr.ndim == 2 else edge_attr.reshape(num_edges, -1)
        if attr.shape[1] != self.num_columns:
            raise DatasetError(f"The encoder expects {self.num_columns} edge-feature columns, the batch has {attr.shape[1]}.")
        if self.mode == "categorical":  # self-loop rows: (self_loop_type, 0, ..., 0), built without in-place writes (ONNX)
            loop_type = torch.full((num_nodes, 1), self.self_loop_type, dtype=torch.long, device=attr.device)
            loops = torch.cat([loop_type, torch.zeros(num_nodes, attr.shape[1] - 1, dtype=torch.long, device=attr.device)], 1)
            attr = torch.cat([attr.long(), loops])
            return sum(table(attr[:, k]) for k, table in enumerate(self.tables))  # type: ignore[return-value]
        edges = self.linear(attr.float())
        return torch.cat([edges, self.self_loop.expand(num_nodes, -1)])


def _with_self_loops(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    loops = torch.arange(num_nodes, device=edge_index.device)
    return torch.cat([edge_index, torch.stack([loops, loops])], dim=1)


class HuGINConv(MessagePassing):
    """GIN with edge embeddings: MLP(Σ_{u ∈ N(v) ∪ {v}} h_u + e_uv) (Hu et al.'s ``GINConv``)."""

    def __init__(self, dim: int, edges: EdgeInput) -> None:
        super().__init__(aggr="add")
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.edges = edges

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None) -> torch.Tensor:
        num_nodes = h.shape[0]
        edge_embedding = self.edges(edge_attr, edge_index.shape[1], num_nodes)
        return self.mlp(self.propagate(_with_self_loops(edge_index, num_nodes), x=h, edge_embedding=edge_embedding))

    def message(self, x_j: torch.Tensor, edge_embedding: torch.Tensor | None) -> torch.Tensor:
        return x_j if edge_embedding is None else x_j + edge_embedding


class HuGCNConv(MessagePassing):
    """GCN with edge embeddings: Σ_{u ∈ N(v) ∪ {v}} d_u^{-1/2} d_v^{-1/2} (W h_u + e_uv) (Hu et al.'s ``GCNConv``)."""

    def __init__(self, dim: int, edges: EdgeInput) -> None:
        super().__init__(aggr="add")
        self.linear = nn.Linear(dim, dim)
        self.edges = edges

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None) -> torch.Tensor:
        num_nodes = h.shape[0]
        edge_embedding = self.edges(edge_attr, edge_index.shape[1], num_nodes)
        index = _with_self_loops(edge_index, num_nodes)
        # degrees as a scatter-add of ones (bincount has no ONNX op; index_add exports without accumulation); >= 1: every node has its self-loop
        degree = torch.zeros(num_nodes, dtype=h.dtype, device=h.device).scatter_add(0, index[0], torch.ones_like(index[0], dtype=h.dtype))
        inv_sqrt = degree.pow(-0.5)
        norm = inv_sqrt[index[0]] * inv_sqrt[index[1]]
        return self.propagate(index, x=self.linear(h), edge_embedding=edge_embedding, norm=norm)

    def message(self, x_j: torch.Tensor, edge_embedding: torch.Tensor | None, norm: torch.Tensor) -> torch.Tensor:
        messages = x_j if edge_embedding is None else x_j + edge_embedding
        return norm.unsqueeze(-1) * messages


def _check_common(name: str, num_layers: int, hidden_dim: int, dropout: float, pooling: str, jk: str) -> None:
    if num_layers < 1 or hidden_dim < 1:
        raise ConfigError(
            f"{name}: num_layers and hidden_dim must be >= 1 (got {num_layers}, {hidden_dim}). "
            "Set encoder_config.num_layers / encoder_config.hidden_dim."
        )
    if pooling not in POOLINGS:
        raise ConfigError(f"{name}: pooling {pooling!r} is not one of {sorted(POOLINGS)}. Set encoder_config.pooling to one of them.")
    if jk not in JK_MODES:
        raise ConfigError(f"{name}: jk {jk!r} is not one of {list(JK_MODES)}. Set encoder_config.jk=last (D-SLA's setting).")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"{name}: dropout must be in [0, 1), got {dropout}. Set encoder_config.dropout in [0, 1).")


class GraphGNN(nn.Module):
    """Hu et al.'s GIN/GCN (see the module docstring); ``forward(batch)`` gives graph or node embeddings."""

    def __init__(
        self,
        data_info: Mapping[str, Any],
        *,
        conv: str,
        num_layers: int,
        hidden_dim: int,
        dropout: float = 0.0,
        pooling: str = "mean",
        jk: str = "last",
        use_edge_features: bool = True,
    ) -> None:
        super().__init__()
        if conv not in ("gin", "gcn"):
            raise ConfigError(f"GraphGNN: conv {conv!r} is not 'gin' or 'gcn'.")
        _check_common(conv, num_layers, hidden_dim, dropout, pooling, jk)
        dim = int(hidden_dim)
        self.conv_type = conv
        self.dropout = float(dropout)
        self.pooling = pooling
        self.jk = jk
        self.embed_dim = dim * (num_layers + 1) if jk == "concat" else dim
        node_categories = data_info.get("node_categories")
        num_node_features = _num_node_features(data_info)
        if node_categories and len(node_categories) != num_node_features:
            raise ConfigError(
                f"{conv}: data_info lists {len(node_categories)} node categories for {num_node_features} node-feature "
                "columns. The dataset's info is inconsistent; rebuild it."
            )
        edge_categories = data_info.get("edge_categories") if use_edge_features else None
        num_edge_features = int(data_info.get("num_edge_features", 0)) if use_edge_features else 0
        self.use_edge_features = bool(use_edge_features)
        self.node_input = NodeInput(node_categories, num_node_features, dim)
        layer = HuGINConv if conv == "gin" else HuGCNConv
        self.convs = nn.ModuleList(layer(dim, EdgeInput(edge_categories, num_edge_features, dim)) for _ in range(num_layers))
        self.norms = nn.ModuleList(nn.BatchNorm1d(dim) for _ in range(num_layers))

    def embed_nodes(self, graph: Any) -> torch.Tensor:
        """Node representations ``[num_nodes, embed_dim]`` of a graph or a batch of graphs (after JK)."""
        h = self.node_input(graph.x)
        edge_attr = getattr(graph, "edge_attr", None) if self.use_edge_features else None
        layers = [h]
        last = len(self.convs) - 1
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            h = norm(conv(h, graph.edge_index, edge_attr))
            if index != last:
                h = F.relu(h)
            h = F.dropout(h, self.dropout, training=self.training)
            layers.append(h)
        if self.jk == "last":
            return h
        if self.jk == "concat":
            return torch.cat(layers, dim=1)
        stacked = torch.stack(layers)
        return stacked.sum(0) if self.jk == "sum" else stacked.amax(0)

    def pool(self, nodes: torch.Tensor, graph: Any) -> torch.Tensor:
        """Mean or sum of each graph's node representations: ``[num_graphs, embed_dim]``."""
        batch = getattr(graph, "batch", None)
        if batch is None:
            batch = torch.zeros(nodes.shape[0], dtype=torch.long, device=nodes.device)
        num_graphs = int(getattr(graph, "num_graphs", 1) or 1)
        return POOLINGS[self.pooling](nodes, batch, size=num_graphs)

    def export_batch(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """A graph-level batch as tensors only (``selfsup export`` to ONNX/TorchScript): ``x``,
        ``edge_index``, ``edge_attr`` (when the graphs have it), ``batch`` (each node's graph) and
        ``graphs`` (``arange(num_graphs)``: its length is the number of graphs, so graphs without
        nodes keep their row). ``forward`` on it equals ``forward(batch)``; a node-level batch is
        returned as it is."""
        if "graph" not in batch:
            return dict(batch)
        graph = batch["graph"]
        tensors = {"x": graph.x, "edge_index": graph.edge_index}
        if getattr(graph, "edge_attr", None) is not None:
            tensors["edge_attr"] = graph.edge_attr
        nodes = int(graph.x.shape[0])
        index = getattr(graph, "batch", None)
        tensors["batch"] = index if index is not None else torch.zeros(nodes, dtype=torch.long)
        tensors["graphs"] = torch.arange(int(getattr(graph, "num_graphs", 1) or 1))
        return tensors

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        if "graph" in batch:
            graph = batch["graph"]
            return self.pool(self.embed_nodes(graph), graph).float()
        if "x" in batch and "edge_index" in batch:  # node level: one embedding per node
            graph = SimpleNamespace(x=batch["x"], edge_index=batch["edge_index"], edge_attr=batch.get("edge_attr"))
            nodes = self.embed_nodes(graph)
            if "batch" in batch and "graphs" in batch:  # graph level as tensors (export_batch)
                return POOLINGS[self.pooling](nodes, batch["batch"], size=batch["graphs"].shape[0]).float()
            return nodes.float()
        raise DatasetError(
            f"{self.conv_type} needs a batch with 'graph' (graph level) or 'x' and 'edge_index' (node level); "
            f"got keys {sorted(batch)}. Use a graph dataset."
        )


class NodeGCN(nn.Module):
    """Node-level GCN: torch-geometric ``GCNConv`` layers on one full graph; ``forward(batch) -> [N, hidden_dim]``."""

    def __init__(self, data_info: Mapping[str, Any], *, num_layers: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        _check_common("gcn", num_layers, hidden_dim, dropout, "mean", "last")
        self.num_features = _num_node_features(data_info)
        if self.num_features < 1:
            raise ConfigError("gcn: data_info has no num_features. Use a node-level graph dataset (e.g. dataset=cora).")
        self.embed_dim = int(hidden_dim)
        self.dropout = float(dropout)
        widths = [self.num_features] + [self.embed_dim] * num_layers
        self.convs = nn.ModuleList(GCNConv(d_in, d_out) for d_in, d_out in zip(widths[:-1], widths[1:]))

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        if "x" not in batch or "edge_index" not in batch:
            raise DatasetError(
                f"Node-level gcn needs a batch with 'x' and 'edge_index'; got keys {sorted(batch)}. "
                "Use a node-level graph dataset, or build gcn from a graph-level dataset's data_info."
            )
        h = batch["x"].float()
        edge_index = batch["edge_index"]
        last = len(self.convs) - 1
        for index, conv in enumerate(self.convs):
            h = conv(h, edge_index)
            if index != last:
                h = F.dropout(F.relu(h), self.dropout, training=self.training)
        return h


def build_gin(config: GINConfig, data_info: Mapping[str, Any]) -> GraphGNN:
    """``encoder=gin``: :class:`GraphGNN` with GIN layers (graph or node level, by the batch)."""
    return GraphGNN(
        data_info,
        conv="gin",
        num_layers=config.num_layers,
        hidden_dim=config.hidden_dim,
        dropout=config.dropout,
        pooling=config.pooling,
        jk=config.jk,
        use_edge_features=config.use_edge_features,
    )


def build_gcn(config: GCNConfig, data_info: Mapping[str, Any]) -> nn.Module:
    """``encoder=gcn``: Hu et al.'s graph-level GCN on graph-level data (``info["level"] == "graph"``), else :class:`NodeGCN`."""
    level = "graph" if data_info.get("level") == "graph" else "node"
    default_layers, default_width = GCN_DEFAULTS[level]
    num_layers = config.num_layers if config.num_layers is not None else default_layers
    hidden_dim = config.hidden_dim if config.hidden_dim is not None else default_width
    if level == "node":
        return NodeGCN(data_info, num_layers=num_layers, hidden_dim=hidden_dim, dropout=config.dropout)
    return GraphGNN(
        data_info,
        conv="gcn",
        num_layers=num_layers,
        hidden_dim=hidden_dim,
        dropout=config.dropout,
        pooling=config.pooling,
        jk=config.jk,
        use_edge_features=config.use_edge_features,
    )
