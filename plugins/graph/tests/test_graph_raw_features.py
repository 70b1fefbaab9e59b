"""The graph raw-feature baseline (selfsup.tasks.RawFeatureSource) and declared tasks."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("torch_geometric")

from torch_geometric.data import Data  # noqa: E402

from selfsup.errors import DatasetError  # noqa: E402
from selfsup.tasks import label_task  # noqa: E402
from selfsup_graph.datasets.graph_set import GraphSetSource  # noqa: E402


def _graph(x: list[list[int]]) -> Data:
    return Data(x=torch.tensor(x), edge_index=torch.zeros(2, 0, dtype=torch.long))


def test_categorical_node_features_are_one_hot_then_mean_and_sum_pooled() -> None:
    graphs = [_graph([[0, 1], [2, 0], [2, 1]]), _graph([[1, 0]])]
    source = GraphSetSource("mols", graphs, torch.tensor([[1.5], [-0.5]]), {"train": [0, 1]}, task="regression",
                            extra_info={"node_categories": [3, 2]})
    assert label_task(source.info).type == "regression" and source.labels.shape == (2, 1)
    raw = source.raw_feature_encoder()
    assert raw.embed_dim == 10
    out = raw(source.collate([source.split("train")[0], source.split("train")[1]]))
    # graph 0: atom types 0, 2, 2 -> counts [1, 0, 2]; chirality 1, 0, 1 -> counts [1, 2]
    assert out[0, 5:].tolist() == [1.0, 0.0, 2.0, 1.0, 2.0]
    assert out[0, :5].tolist() == pytest.approx([1 / 3, 0.0, 2 / 3, 1 / 3, 2 / 3])
    assert out[1].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_declared_tasks_check_the_labels() -> None:
    graphs = [_graph([[0]]), _graph([[1]])]
    with pytest.raises(DatasetError, match="0, 1 or NaN"):
        GraphSetSource("m", graphs, torch.tensor([[0.0], [3.0]]), {"train": [0, 1]}, task="multilabel")
    with pytest.raises(DatasetError, match="one integer class id per graph"):
        GraphSetSource("m", graphs, torch.tensor([0.5, 1.0]), {"train": [0, 1]}, task="multiclass")
    binary = GraphSetSource("m", graphs, torch.tensor([[0.0], [1.0]]), {"train": [0, 1]}, task="binary")
    assert binary.labels.dtype == torch.long and binary.labels.tolist() == [0, 1]
    assert label_task(binary.info).type == "binary"
