"""TU datasets from their raw text files: the real MUTAG, a hand-written folder, splits and bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from selfsup.errors import DatasetError
from selfsup.registry import get_registry
from selfsup.testing import DatasetContract
from selfsup_graph.configs import TUConfig
from selfsup_graph.datasets.tu import TUDataset, read_tu_graphs

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
MUTAG = DATA / "mutag"
TINY = Path(__file__).parent / "data" / "tiny_tu"
needs_mutag = pytest.mark.skipif(not (MUTAG / "MUTAG_A.txt").is_file(), reason="MUTAG files not found (set SELFSUP_DATA)")


def _build(name: str, **config: object):
    spec = get_registry().get("dataset", name, modality="graph")
    return spec.resolve_factory()(TUConfig(**config))  # type: ignore[arg-type]


def test_tiny_folder_gives_the_hand_computed_tensors() -> None:
    source = _build("tu", root=str(TINY))
    assert source.info["name"] == "TINY" and source.info["num_graphs"] == 4
    assert source.info["num_node_features"] == 5 and source.info["num_edge_features"] == 3
    assert source.info["label_values"] == [-1, 1] and source.labels.tolist() == [1, 0, 1, 0]
    # the self-loop 4,4 is dropped and the duplicate 5,4 merged (first occurrence kept): 16 lines -> 14 edges
    assert source.info["num_nodes"] == 10 and source.info["num_edges"] == 14
    g0, g1, g2, g3 = source.graphs
    assert g0.x.tolist() == [[1, 0, 0, 0.5, -1.0], [0, 1, 0, 1.5, 0.0], [0, 0, 1, 2.5, 1.0]]
    assert g0.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert g0.edge_attr.tolist() == [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]]
    assert g1.edge_index.tolist() == [[0, 1], [1, 0]] and g1.edge_attr.tolist() == [[0, 0, 1], [0, 0, 1]]
    assert g2.x.tolist() == [[0, 1, 0, 3.0, 3.0]] and g2.edge_index.shape == (2, 0) and g2.edge_attr.shape == (0, 3)
    assert g3.edge_index.tolist() == [[0, 0, 1, 1, 2, 2, 3, 3], [1, 3, 0, 2, 1, 3, 0, 2]]
    assert g3.edge_attr.argmax(1).tolist() == [0, 0, 0, 1, 1, 2, 0, 2]
    batch = source.collate([source.split("all")[i] for i in range(4)])
    assert batch["graph"].num_graphs == 4 and batch["graph"].batch.tolist() == [0, 0, 0, 1, 1, 2, 3, 3, 3, 3]
    assert batch["label"].tolist() == [1, 0, 1, 0]


def test_feature_switches_and_the_proteins_name(tmp_path: Path) -> None:
    plain = _build("tu", root=str(TINY), use_node_attributes=False, use_edge_features=False)
    assert plain.info["num_node_features"] == 3 and plain.info["num_edge_features"] == 0
    assert getattr(plain.graphs[0], "edge_attr", None) is None
    for file in TINY.glob("TINY_*.txt"):
        shutil.copy(file, tmp_path / file.name.replace("TINY", "PROTEINS"))
    proteins = _build("proteins", root=str(tmp_path))
    assert proteins.info["name"] == "PROTEINS" and proteins.info["num_graphs"] == 4


def test_stratified_and_kfold_splits_partition_the_graphs() -> None:
    source = _build("tu", root=str(TINY), val_fraction=0.0, test_fraction=0.5, seed=3)
    assert "val" not in source.splits
    train, test = source.split_indices("train").tolist(), source.split_indices("test").tolist()
    assert sorted(train + test) == [0, 1, 2, 3]
    assert sorted(source.labels[test].tolist()) == [0, 1]  # one graph of each class
    folds = [_build("tu", root=str(TINY), split="kfold", num_folds=2, fold=k) for k in range(2)]
    tests = [f.split_indices("test").tolist() for f in folds]
    assert sorted(tests[0] + tests[1]) == [0, 1, 2, 3] and not set(tests[0]) & set(tests[1])
    assert sorted(folds[0].split_indices("train").tolist()) == sorted(tests[1])
    again = _build("tu", root=str(TINY), split="kfold", num_folds=2, fold=0)
    assert again.split_indices("test").tolist() == tests[0]  # the split seed fixes the folds


@needs_mutag
def test_real_mutag_counts_and_agreement_with_torch_geometric() -> None:
    from torch_geometric.io import read_tu_data

    source = _build("mutag", root=str(MUTAG))
    info = source.info
    assert info["num_graphs"] == 188 and info["num_nodes"] == 3371 and info["num_edges"] == 7442
    assert info["num_node_features"] == 7 and info["num_edge_features"] == 4 and info["num_classes"] == 2
    assert torch.bincount(source.labels).tolist() == [63, 125]  # -1: non-mutagenic, 1: mutagenic
    assert info["split_sizes"] == {"train": 152, "val": 18, "test": 18, "all": 188}
    reference, slices, _ = read_tu_data(str(MUTAG), "MUTAG")
    for index, graph in enumerate(source.graphs):
        lo, hi = slices["x"][index], slices["x"][index + 1]
        assert torch.equal(graph.x, reference.x[lo:hi])
        e_lo, e_hi = slices["edge_index"][index], slices["edge_index"][index + 1]
        # the same edges in the same order, with the same features (tu.py's docstring: why it is kept)
        assert torch.equal(graph.edge_index, reference.edge_index[:, e_lo:e_hi]), f"graph {index}"
        assert torch.equal(graph.edge_attr, reference.edge_attr[e_lo:e_hi]), f"graph {index}"
    assert torch.equal(source.labels, reference.y)  # -1/1 mapped to 0/1 in sorted order, as read_tu_data


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "tu"
    shutil.copytree(TINY, folder)
    return folder


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "TINY_graph_labels.txt").unlink(), r"TINY_graph_labels.txt' not found.*set data.root"),
        (lambda f: (f / "TINY_node_labels.txt").write_text("0\n" * 9), r"TINY_node_labels.txt has 9 lines for 10 nodes"),
        (lambda f: (f / "TINY_edge_labels.txt").write_text("1\n" * 15), r"TINY_edge_labels.txt has 15 lines for 16 edges"),
        (lambda f: (_append(f / "TINY_A.txt", "11, 1\n"), _append(f / "TINY_edge_labels.txt", "1\n")),
         r"TINY_A.txt line 17: edge 11, 1 points past the last node \(10 nodes"),
        (lambda f: (_append(f / "TINY_A.txt", "3, 4\n"), _append(f / "TINY_edge_labels.txt", "1\n")),
         r"TINY_A.txt line 17: edge 3, 4 joins two graphs"),
        (lambda f: (f / "TINY_A.txt").write_text("1; 2\n"), r"TINY_A.txt line 1: cannot read '1; 2'"),
        (lambda f: (f / "TINY_graph_labels.txt").write_text("1\n-1\n1\n-1\n1\n"), r"graph 5 has no nodes"),
        (lambda f: (f / "TINY_graph_labels.txt").write_text("1\n1\n1\n1\n"), r"holds one class"),
        (lambda f: (f / "TINY_graph_indicator.txt").write_text("1\n1\n1\n2\n2\n4\n3\n3\n3\n3\n"), r"line 7: graph ids must not decrease"),
    ],
)
def test_bad_tu_folders_are_dataset_errors(tmp_path: Path, change, message) -> None:
    folder = _copy(tmp_path)
    change(folder)
    with pytest.raises(DatasetError, match=message):
        TUDataset(TUConfig(root=str(folder)))


def test_bad_tu_configs_are_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"needs data.root"):
        TUDataset(TUConfig())
    with pytest.raises(DatasetError, match=r"not a split protocol"):
        TUDataset(TUConfig(root=str(TINY), split="random"))
    with pytest.raises(DatasetError, match=r"fold 5 of num_folds=2"):
        TUDataset(TUConfig(root=str(TINY), split="kfold", num_folds=2, fold=5))
    folder = _copy(tmp_path)
    shutil.copy(folder / "TINY_A.txt", folder / "OTHER_A.txt")
    with pytest.raises(DatasetError, match=r"Set data.name"):
        TUDataset(TUConfig(root=str(folder)))
    with pytest.raises(DatasetError, match=r"MUTAG_A.txt' not found"):
        _build("mutag", root=str(TINY))


def test_reader_accepts_a_dataset_without_edges(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "TINY_A.txt").write_text("")
    (folder / "TINY_edge_labels.txt").unlink()
    graphs, labels, description = read_tu_graphs(folder, "TINY")
    assert len(graphs) == 4 and all(g.edge_index.shape == (2, 0) for g in graphs)
    assert description["num_edges"] == 0 and labels.tolist() == [1, -1, 1, -1]


class TestTinyTUContract(DatasetContract):
    modality = "graph"
    dataset = "tu"
    dataset_config = {"root": str(TINY)}
    batch_size = 3


@needs_mutag
class TestMutagContract(DatasetContract):
    modality = "graph"
    dataset = "mutag"
    dataset_config = {"root": str(MUTAG)}
