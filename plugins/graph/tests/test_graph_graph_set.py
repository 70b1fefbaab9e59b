"""The shared graph-level data source: items, collation, info, splits and its bad-input messages."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from torch_geometric.data import Data

from selfsup.errors import DatasetError
from selfsup_graph.datasets.graph_set import GraphSetSource


def _graph(nodes: int, edges: list[tuple[int, int]], width: int = 3, edge_width: int | None = None) -> Data:
    edge_index = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).T.contiguous()
    data = Data(x=torch.arange(nodes * width, dtype=torch.float32).reshape(nodes, width), edge_index=edge_index)
    if edge_width is not None:
        data.edge_attr = torch.ones(edge_index.shape[1], edge_width)
    return data


def _three() -> list[Data]:
    return [_graph(2, [(0, 1), (1, 0)]), _graph(3, [(0, 2), (2, 0), (1, 2), (2, 1)]), _graph(1, [])]


def test_collate_batches_graphs_and_class_labels() -> None:
    source = GraphSetSource("toy", _three(), torch.tensor([1, 0, 1]), {"train": [0, 2], "test": [1]},
                            node_features="3 floats")
    assert source.splits == ("train", "test", "all") and not source.full_batch
    train = source.split("train")
    assert len(train) == 2 and int(train[1]["label"]) == 1 and train[1]["graph"].num_nodes == 1
    batch = source.collate([train[0], train[1]])
    graph = batch["graph"]
    assert graph.num_graphs == 2 and graph.batch.tolist() == [0, 0, 1]
    assert batch["label"].dtype == torch.long and batch["label"].tolist() == [1, 1]
    everything = source.collate([source.split("all")[i] for i in range(3)])
    # node ids are offset per graph: graph 1's edge 0-2 becomes 2-4
    assert everything["graph"].edge_index[:, 2].tolist() == [2, 4]
    assert source.info == {
        "name": "toy", "task": "classification", "level": "graph", "num_graphs": 3,
        "num_node_features": 3, "num_edge_features": 0, "node_features": "3 floats", "edge_features": "",
        "split_sizes": {"train": 2, "test": 1, "all": 3}, "num_classes": 2,
        "label_tasks": {"label": {"type": "binary", "num_classes": 2}},  # the declared task (selfsup.tasks)
    }
    assert source.split_indices("test").tolist() == [1]
    clone = pickle.loads(pickle.dumps(source))
    assert torch.equal(clone.split("all")[1]["graph"].x, source.graphs[1].x)


def test_multitask_labels_keep_nan_and_edge_features() -> None:
    graphs = [_graph(2, [(0, 1), (1, 0)], edge_width=2), _graph(2, [], edge_width=2)]
    graphs[1].edge_attr = torch.zeros(0, 2)
    labels = torch.tensor([[1.0, math.nan], [0.0, 1.0]])
    source = GraphSetSource("mol", graphs, labels, {"train": [0, 1]}, extra_info={"split_protocol": "scaffold"})
    batch = source.collate([source.split("train")[0], source.split("train")[1]])
    assert batch["label"].shape == (2, 2) and batch["label"].dtype == torch.float32
    assert torch.isnan(batch["label"][0, 1]) and batch["graph"].edge_attr.shape == (2, 2)
    assert source.info["task"] == "multitask-binary" and source.info["num_tasks"] == 2
    assert "num_classes" not in source.info and source.info["num_edge_features"] == 2
    assert source.info["split_protocol"] == "scaffold"


@pytest.mark.parametrize(
    ("graphs", "labels", "splits", "message"),
    [
        ([_graph(2, [(0, 2)])], [0], {"train": [0]}, r"toy: graph 0 has an edge to node 2 but only 2 nodes"),
        (_three(), [0, 1], {"train": [0]}, r"2 labels for 3 graphs"),
        (_three(), [0, 1, 1], {"test": [0]}, r"no 'train' split"),
        (_three(), [0, 1, 1], {"train": [0, 3]}, r"split 'train' names graph 3 but there are 3 graphs"),
        (_three(), [0, -1, 1], {"train": [0]}, r"class ids must be >= 0"),
        ([_graph(2, []), _graph(2, [], width=4)], [0, 1], {"train": [0]}, r"different feature widths"),
        ([Data(x=torch.zeros(0, 3), edge_index=torch.zeros(2, 0, dtype=torch.long))], [0], {"train": [0]}, r"nodes >= 1"),
    ],
)
def test_bad_graph_sets_are_dataset_errors(graphs, labels, splits, message) -> None:
    with pytest.raises(DatasetError, match=message):
        GraphSetSource("toy", graphs, torch.tensor(labels), splits)


def test_multitask_labels_must_be_binary_or_missing() -> None:
    with pytest.raises(DatasetError, match=r"0, 1 or NaN"):
        GraphSetSource("mol", _three(), torch.tensor([[1.0], [-1.0], [0.0]]), {"train": [0]})
