"""Planetoid loader (real files when present), its restricted unpickler, the SBM source, bad inputs."""

from __future__ import annotations

import io
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsup.errors import DatasetError
from selfsup_graph.configs import PlanetoidConfig, SBMConfig
from selfsup_graph.datasets.planetoid import Planetoid, RestrictedUnpickler, load_planetoid_object
from selfsup_graph.datasets.sbm import StochasticBlockModel
from selfsup_graph.datasets.source import NodeGraphSource

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))


def planetoid_root(name: str) -> Path:
    return DATA / name


def has_planetoid(name: str) -> bool:
    return (planetoid_root(name) / f"ind.{name}.graph").is_file()


def _check_graph(source: NodeGraphSource, nodes: int, features: int, edges: int, classes: int) -> None:
    assert source.full_batch and source.splits == ("train", "val", "test", "all")
    item = source.split("all")[0]
    assert item["x"].shape == (nodes, features) and item["x"].dtype == torch.float32
    assert item["label"].shape == (nodes,) and int(item["label"].max()) + 1 == classes
    assert item["edge_index"].shape == (2, 2 * edges)
    assert source.info["num_edges"] == edges and source.info["num_classes"] == classes
    assert bool(item["eval_mask"].all())
    counts = {s: int(source.split(s)[0]["eval_mask"].sum()) for s in ("train", "val", "test")}
    assert counts == {"train": 20 * classes, "val": 500, "test": 1000}
    assert source.collate([item]) is item


@pytest.mark.skipif(not has_planetoid("cora"), reason="Cora files not found (set SELFSUP_DATA)")
def test_cora_counts() -> None:
    source = Planetoid(PlanetoidConfig(root=str(planetoid_root("cora"))))
    _check_graph(source, 2708, 1433, 5278, 7)
    assert source.info["name"] == "cora"


@pytest.mark.skipif(not has_planetoid("citeseer"), reason="CiteSeer files not found (set SELFSUP_DATA)")
def test_citeseer_counts_and_isolated_padding() -> None:
    source = Planetoid(PlanetoidConfig(root=str(planetoid_root("citeseer"))))
    _check_graph(source, 3327, 3703, 4552, 6)
    x = source.split("all")[0]["x"]
    assert int((x.sum(dim=1) == 0).sum()) == 15  # the isolated test-range ids padded with zeros
    assert torch.bincount(source.split("all")[0]["label"]).tolist() == [264, 590, 668, 701, 596, 508]


@pytest.mark.skipif(not has_planetoid("cora"), reason="Cora files not found (set SELFSUP_DATA)")
def test_missing_file_names_it_and_the_fix(tmp_path) -> None:
    for path in planetoid_root("cora").glob("ind.cora.*"):
        if not path.name.endswith(".ty"):
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(DatasetError, match=r"ind\.cora\.ty.*not found.*data\.root"):
        Planetoid(PlanetoidConfig(root=str(tmp_path), name="cora"))


def test_missing_root_is_a_dataset_error(tmp_path) -> None:
    with pytest.raises(DatasetError, match="data.root"):
        Planetoid(PlanetoidConfig(root=None))
    with pytest.raises(DatasetError, match="not a folder"):
        Planetoid(PlanetoidConfig(root=str(tmp_path / "nowhere")))
    with pytest.raises(DatasetError, match=r"ind\.citeseer\.x.*not found"):
        Planetoid(PlanetoidConfig(root=str(tmp_path), name="citeseer"))


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("payload", [_Evil(), torch.zeros(2), __import__("collections").OrderedDict(a=1)])
def test_restricted_unpickler_rejects_other_globals(payload) -> None:
    data = pickle.dumps(payload, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def test_restricted_unpickler_accepts_planetoid_types(tmp_path) -> None:
    import collections

    import scipy.sparse as sp

    matrix = sp.csr_matrix(np.eye(3, dtype=np.float32))
    graph = collections.defaultdict(list, {0: [1], 1: [0]})
    for name, obj in {"m": matrix, "g": graph, "a": np.arange(4)}.items():
        (tmp_path / name).write_bytes(pickle.dumps(obj, protocol=4))
    assert (load_planetoid_object(tmp_path / "m") != matrix).nnz == 0
    assert load_planetoid_object(tmp_path / "g") == graph
    assert load_planetoid_object(tmp_path / "a").tolist() == [0, 1, 2, 3]


def test_tampered_planetoid_file_is_a_dataset_error(tmp_path) -> None:
    if not has_planetoid("cora"):
        pytest.skip("Cora files not found (set SELFSUP_DATA)")
    for path in planetoid_root("cora").glob("ind.cora.*"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "ind.cora.graph").write_bytes(pickle.dumps(_Evil(), protocol=2))
    with pytest.raises(DatasetError, match=r"ind\.cora\.graph.*could not be read.*not allowed"):
        Planetoid(PlanetoidConfig(root=str(tmp_path), name="cora"))


def test_sbm_is_seeded_and_has_communities() -> None:
    a = StochasticBlockModel(SBMConfig())
    b = StochasticBlockModel(SBMConfig())
    item = a.split("train")[0]
    assert a.splits == ("train", "val", "test", "all") and a.info["num_classes"] == 3
    masks = [a.split(s)[0]["eval_mask"] for s in ("train", "val", "test")]
    assert [int(m.sum()) for m in masks] == [180, 60, 60] and bool((masks[0] | masks[1] | masks[2]).all())
    assert torch.equal(item["edge_index"], b.split("train")[0]["edge_index"])
    src, dst = item["edge_index"]
    labels = item["label"]
    assert float((labels[src] == labels[dst]).float().mean()) > 0.7  # assortative
    assert a.info["num_edges"] > 0


def test_graph_with_no_edges_is_valid() -> None:
    source = StochasticBlockModel(SBMConfig(p_in=0.0, p_out=0.0, num_nodes=30))
    item = source.split("all")[0]
    assert item["edge_index"].shape == (2, 0) and source.info["num_edges"] == 0


def test_bad_sbm_settings_are_dataset_errors() -> None:
    with pytest.raises(DatasetError, match="p_in"):
        StochasticBlockModel(SBMConfig(p_in=1.5))
    with pytest.raises(DatasetError, match="num_nodes"):
        StochasticBlockModel(SBMConfig(num_nodes=3, num_classes=3))


def test_bad_edges_are_dataset_errors() -> None:
    with pytest.raises(DatasetError, match="outside"):
        NodeGraphSource("g", torch.zeros(3, 2), torch.tensor([[0], [5]]), torch.zeros(3), {}, 1)
    with pytest.raises(DatasetError, match="labels"):
        NodeGraphSource("g", torch.zeros(3, 2), torch.zeros(2, 0), torch.zeros(2), {}, 1)
