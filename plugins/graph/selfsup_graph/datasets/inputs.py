"""New graphs -> a batch, featurised as the run's graph-level dataset featurised its graphs.

The ``input_transform`` of the graph-level datasets (``tu``/``mutag``/``proteins`` and
``molecule-csv``/``bbbp``): ``graph_inputs(config, state)`` rebuilds :class:`GraphInputs` from
:meth:`.graph_set.GraphSetSource.preprocessing_state`:

* ``"smiles"`` runs read a CSV with the run's SMILES column (other columns ignored; the id of a
  molecule is its 0-based data row) and featurise each molecule with the Hu et al. atom and
  bond indices, as in training;
* ``"tu"`` runs read a TU folder (``<NAME>_A.txt``, ``_graph_indicator.txt``, optional label
  and attribute files; ``_graph_labels.txt`` may be absent) with the run's one-hot encodings of
  the node and edge label columns (a label value the run never saw gives an all-zero block);
  the id of a graph is its 1-based TU graph id.

Batches are ``{"graph": torch_geometric.data.Batch}``; a graph-level encoder returns one row per
graph, a node-level one (e.g. ``gcn`` built on graph-level data) one row per node.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from selfsup.errors import CheckpointError, DatasetError

__all__ = ["GraphInputs", "graph_inputs"]


class GraphInputs:
    """``read(path)`` -> ``(id, graph)`` pairs; ``batch(graphs)`` -> ``({"graph": Batch}, nodes per graph)``."""

    def __init__(self, state: Mapping[str, Any], config: Any = None) -> None:
        self.reader = str(state["reader"])
        self.state = dict(state)
        self.config = config

    def read(self, source: Any) -> list[tuple[str, Any]]:
        path = Path(source)
        if not path.exists():
            raise DatasetError(f"data.root={str(path)!r} does not exist. Point it at a SMILES CSV or a TU folder.")
        if self.reader == "planetoid":
            return self._read_planetoid(path)
        pairs = self._read_smiles(path) if self.reader == "smiles" else self._read_tu(path)
        for graph_id, graph in pairs:
            self._check_widths(graph_id, graph)
        return pairs

    def _read_smiles(self, path: Path) -> list[tuple[str, Any]]:
        from torch_geometric.data import Data

        from .featurize import UnsupportedMolecule, featurize_mol, parse_smiles

        if path.is_dir():
            raise DatasetError(f"data.root={str(path)!r} is a folder; a molecule run embeds one SMILES CSV file.")
        column = str(self.state.get("smiles_column", "smiles"))
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [c.strip() for c in next(reader, [])]
            if column not in header:
                raise DatasetError(f"{str(path)!r} has no SMILES column {column!r} (columns: {header}). Name the column {column!r}.")
            at = header.index(column)
            pairs: list[tuple[str, Any]] = []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                text = row[at].strip() if at < len(row) else ""
                try:
                    graph = featurize_mol(parse_smiles(text))
                except UnsupportedMolecule as exc:
                    raise DatasetError(
                        f"{str(path)!r} line {reader.line_num}: {exc}. Fix or remove that row."
                    ) from None
                pairs.append((str(len(pairs)), Data(x=graph.x, edge_index=graph.edge_index, edge_attr=graph.edge_attr)))
        return pairs

    def _read_tu(self, path: Path) -> list[tuple[str, Any]]:
        from .tu import _infer_name, read_tu_graphs

        if not path.is_dir():
            raise DatasetError(f"data.root={str(path)!r} is not a folder. Point it at the folder holding <NAME>_A.txt etc.")
        name = getattr(self.config, "name", None) if (path / f"{getattr(self.config, 'name', None)}_A.txt").is_file() else None
        graphs, _, _ = read_tu_graphs(
            path, name or _infer_name(path), encodings=self.state.get("encodings", {}),
            use_node_attributes=bool(self.state.get("use_node_attributes", True)),
            use_edge_features=bool(self.state.get("use_edge_features", True)),
        )
        return [(str(k + 1), graph) for k, graph in enumerate(graphs)]

    def _read_planetoid(self, path: Path) -> list[tuple[str, Any]]:
        from ..configs import PlanetoidConfig
        from .planetoid import Planetoid

        name = str(self.state.get("name") or "")
        has_files = (path / f"ind.{name}.x").is_file()
        source = Planetoid(PlanetoidConfig(
            root=str(path), name=name if has_files else None, normalize_features=bool(self.state.get("normalize_features")),
        ))
        item = source.split("all")[0]
        width, want = int(item["x"].shape[1]), self.state.get("num_node_features")
        if want is not None and width != want:
            raise DatasetError(
                f"The graph in {str(path)!r} has {width} node features; the run was trained on {want}. "
                "Give a graph with the same feature columns (the same vocabulary)."
            )
        return [(source.name, {"x": item["x"], "edge_index": item["edge_index"]})]

    def _check_widths(self, graph_id: str, graph: Any) -> None:
        nodes = int(graph.x.shape[1])
        edges = int(graph.edge_attr.shape[1]) if getattr(graph, "edge_attr", None) is not None else 0
        want_nodes, want_edges = self.state.get("num_node_features"), self.state.get("num_edge_features")
        if (want_nodes is not None and nodes != want_nodes) or (want_edges and edges != want_edges):
            raise DatasetError(
                f"Graph {graph_id} has {nodes} node and {edges} edge feature columns; the run was trained on "
                f"{want_nodes} and {want_edges}. Give graphs with the training data's label and attribute files."
            )

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        if self.reader == "planetoid":  # node level: the graphs side by side (their union), one row per node
            offsets = torch.tensor([0] + [int(g["x"].shape[0]) for g in items]).cumsum(0)
            x = torch.cat([g["x"] for g in items])
            edges = torch.cat([g["edge_index"] + offsets[i] for i, g in enumerate(items)], dim=1)
            return {"x": x, "edge_index": edges}, [int(g["x"].shape[0]) for g in items]
        from torch_geometric.data import Batch

        return {"graph": Batch.from_data_list(list(items))}, [int(g.num_nodes) for g in items]


def graph_inputs(config: Any, state: Mapping[str, Any]) -> GraphInputs:
    """``DatasetSpec.input_transform`` of the graph-level datasets."""
    if state.get("reader") not in ("smiles", "tu", "planetoid"):
        raise CheckpointError(
            "The run's preprocessing.json holds no graph reader (tu or smiles): it predates saved graph "
            "preprocessing. Pretrain it again to embed new graphs."
        )
    return GraphInputs(state, config)
