"""The graph components pass selfsup's conformance kits (built through the registry)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from selfsup.testing import DatasetContract, ObjectiveContract, PluginImportContract

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
SMALL_MLP = {"hidden_dims": [32, 32], "embed_dim": 8}
SMALL_SBM = {"num_nodes": 60, "num_features": 12}


class TestSBMContract(DatasetContract):
    modality = "graph"
    dataset = "sbm"
    dataset_config = SMALL_SBM


@pytest.mark.skipif(not (DATA / "cora" / "ind.cora.graph").is_file(), reason="Cora files not found (set SELFSUP_DATA)")
class TestCoraContract(DatasetContract):
    modality = "graph"
    dataset = "cora"
    dataset_config = {"root": str(DATA / "cora")}


class TestSCGCContract(ObjectiveContract):
    modality = "graph"
    dataset = "sbm"
    dataset_config = SMALL_SBM
    encoder = "mlp"
    encoder_config = SMALL_MLP
    objective = "scgc"
    # step 1 is past the warm-up: k-means initialises the centres, every term is on
    objective_config = {"pretrain_steps": 0, "decoder_dims": [16], "kmeans_n_init": 2}


class TestSCGCStarContract(ObjectiveContract):
    modality = "graph"
    dataset = "sbm"
    dataset_config = SMALL_SBM
    encoder = "mlp"
    encoder_config = SMALL_MLP
    objective = "scgc-star"
    objective_config = {"pretrain_steps": 0, "kmeans_n_init": 2}


class TestGraphPluginImport(PluginImportContract):
    plugin_module = "selfsup_graph.plugin"
    heavy_modules = ("torch", "torch_geometric", "rdkit", "scipy")
