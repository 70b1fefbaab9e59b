"""The generated graph-classification set `sbm-graphs` (D-SLA's default dataset)."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import DatasetError
from selfsup.registry import get_registry
from selfsup.testing import DatasetContract
from selfsup_graph.configs import SBMGraphsConfig
from selfsup_graph.datasets.sbm_graphs import SBMGraphs


class TestSBMGraphsContract(DatasetContract):
    modality = "graph"
    dataset = "sbm-graphs"
    dataset_config = {"num_graphs": 40}


def test_the_class_is_in_the_structure():
    """Class-1 graphs keep their edges inside the two communities (nodes of equal index parity);
    class-0 graphs spread them evenly at the same expected density."""
    data = SBMGraphs(SBMGraphsConfig(num_graphs=200))
    inside = {0: [], 1: []}
    for graph, label in zip(data.graphs, data.labels.tolist()):
        src, dst = graph.edge_index
        if src.numel():
            inside[int(label)].append(float(((src % 2) == (dst % 2)).float().mean()))
    assert sum(inside[1]) / len(inside[1]) > 0.8 and sum(inside[0]) / len(inside[0]) < 0.6
    assert data.info["label_tasks"] and data.info["num_classes"] == 2
    assert abs(int(data.labels.sum()) - 100) == 0  # balanced


def test_d_sla_defaults_to_gin_on_sbm_graphs():
    spec = get_registry().get("objective", "d-sla", modality="graph")
    assert (spec.default_encoder, spec.default_dataset) == ("gin", "sbm-graphs")


def test_bad_settings_are_dataset_errors():
    with pytest.raises(DatasetError, match="min_nodes"):
        SBMGraphs(SBMGraphsConfig(min_nodes=30, max_nodes=10))
    with pytest.raises(DatasetError, match="p_in"):
        SBMGraphs(SBMGraphsConfig(p_in=1.5))
    assert torch.equal(SBMGraphs(SBMGraphsConfig(num_graphs=20)).labels, SBMGraphs(SBMGraphsConfig(num_graphs=20)).labels)
