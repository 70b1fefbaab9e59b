"""MoleculeNet-style CSVs through RDKit: Hu et al. features, skipped SMILES, NaN labels, the scaffold split."""

from __future__ import annotations

import csv
import math
import os
import warnings
from pathlib import Path

import pytest
import torch

from selfsup.errors import DatasetError
from selfsup.registry import get_registry
from selfsup.testing import DatasetContract
from selfsup_graph.configs import BBBPConfig, MoleculeCSVConfig
from selfsup_graph.datasets.featurize import UnsupportedMolecule, featurize_mol, parse_smiles
from selfsup_graph.datasets.scaffold import murcko_scaffold, scaffold_split

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
BBBP = DATA / "bbbp" / "bbbp.csv"
TINY = Path(__file__).parent / "data" / "tiny_molecules.csv"
needs_bbbp = pytest.mark.skipif(not BBBP.is_file(), reason="BBBP not found (set SELFSUP_DATA)")


def _build(name: str, config: object):
    spec = get_registry().get("dataset", name, modality="graph")
    return spec.resolve_factory()(config)


def _tiny(**overrides: object):
    config = MoleculeCSVConfig(root=str(TINY), ignore_columns=["name"], **overrides)  # type: ignore[arg-type]
    with pytest.warns(RuntimeWarning, match=r"skipped 1 of 16 molecules .*line 9: RDKit cannot parse SMILES 'C1CC\('"):
        return _build("molecule-csv", config)


def test_atom_and_bond_features_follow_hu_et_al() -> None:
    alanine = featurize_mol(parse_smiles("C[C@@H](C(=O)O)N"))
    # atom type = atomic number - 1 (C 5, O 7, N 6); chirality 0 unspecified, 1 CW, 2 CCW
    assert alanine.x.tolist() == [[5, 0], [5, 1], [5, 0], [7, 0], [7, 0], [6, 0]]
    assert alanine.edge_index.shape == (2, 10) and alanine.edge_attr.shape == (10, 2)
    # bonds stored twice, (i, j) then (j, i), same attributes; C=O is bond type 1 (double)
    assert alanine.edge_index[:, 4:6].tolist() == [[2, 3], [3, 2]] and alanine.edge_attr[4:6].tolist() == [[1, 0], [1, 0]]
    benzene = featurize_mol(parse_smiles("c1ccccc1"))
    assert set(map(tuple, benzene.edge_attr.tolist())) == {(3, 0)}  # aromatic
    nitrile = featurize_mol(parse_smiles("CC#N"))
    assert nitrile.edge_attr[2].tolist() == [2, 0]  # triple
    # (Z)-1,2-difluoroethene: F/C (end-up-right, 1), C=C (double, no direction), C\\F (end-down-right, 2)
    difluoroethene = featurize_mol(parse_smiles("F/C=C\\F"))
    assert difluoroethene.edge_attr.tolist() == [[0, 1], [0, 1], [1, 0], [1, 0], [0, 2], [0, 2]]
    salt = featurize_mol(parse_smiles("[Na+].[Cl-]"))
    assert salt.x.tolist() == [[10, 0], [16, 0]] and salt.edge_index.shape == (2, 0)
    with pytest.raises(UnsupportedMolecule, match=r"atomic number 0"):
        featurize_mol(parse_smiles("*CC"))  # a dummy atom has no row in the atom-type table
    with pytest.raises(UnsupportedMolecule, match=r"cannot parse"):
        parse_smiles("C1CC(")


def test_molecule_csv_skips_invalid_smiles_and_keeps_missing_labels() -> None:
    source = _tiny()
    info = source.info
    assert info["skipped"] == 1 and info["skipped_lines"] == [9] and info["num_graphs"] == 15
    assert info["tasks"] == ["task_a", "task_b"] and info["task"] == "multitask-binary" and info["num_tasks"] == 2
    assert info["node_categories"] == [120, 4] and info["edge_categories"] == [4, 3] and info["node_mask_token"] == [119, 0]
    labels = source.labels
    assert labels.shape == (15, 2) and labels.dtype == torch.float32
    # phenol (row 4) has no task_b; methylpyridine (row 10, the 9th kept) has no task_a
    assert math.isnan(labels[3, 1]) and math.isnan(labels[8, 0]) and int(torch.isnan(labels).sum()) == 4
    assert labels[0].tolist() == [1.0, 0.0]
    sizes = info["split_sizes"]
    assert sizes["train"] + sizes["val"] + sizes["test"] == 15 and sizes["all"] == 15
    batch = source.collate([source.split("all")[i] for i in range(15)])
    graph = batch["graph"]
    assert graph.x.dtype == torch.long and graph.x.shape[1] == 2 and graph.edge_attr.shape[1] == 2
    assert graph.num_graphs == 15 and batch["label"].shape == (15, 2)


def test_label_columns_and_defaults_and_bad_csvs(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning):
        one = _build("molecule-csv", MoleculeCSVConfig(root=str(TINY), label_columns=["task_b"], name="tiny"))
    assert one.info["tasks"] == ["task_b"] and one.info["name"] == "tiny" and one.labels.shape == (15, 1)
    with pytest.raises(DatasetError, match=r"no SMILES column 'SMILES'.*Set data.smiles_column"):
        _build("molecule-csv", MoleculeCSVConfig(root=str(TINY), smiles_column="SMILES"))
    with pytest.raises(DatasetError, match=r"no label column\(s\) \['toxic'\]"):
        _build("molecule-csv", MoleculeCSVConfig(root=str(TINY), label_columns=["toxic"]))
    with pytest.raises(DatasetError, match=r"needs data.root"):
        _build("molecule-csv", MoleculeCSVConfig())
    bad = tmp_path / "bad.csv"
    bad.write_text("smiles,y\nCCO,1\nCCN,yes\n")
    with pytest.raises(DatasetError, match=r"line 3 .* column 'y': label 'yes' is not a number"):
        _build("molecule-csv", MoleculeCSVConfig(root=str(bad)))
    bad.write_text("smiles,y\nCCO,1\nCC,N,1\n")
    with pytest.raises(DatasetError, match=r"line 3 .* has 3 fields, the header 2"):
        _build("molecule-csv", MoleculeCSVConfig(root=str(bad)))
    bad.write_text("smiles,y\nCC(,1\nC1C,0\n")
    with pytest.raises(DatasetError, match=r"no usable molecule"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _build("molecule-csv", MoleculeCSVConfig(root=str(bad)))
    bad.write_text("smiles,y\nCCO,2\nCC,0\n")
    # non-0/1 labels were refused outright (the bug); now they are a regression target, and
    # refused only when the user declares 0/1 tasks
    with pytest.raises(DatasetError, match=r"0, 1 or NaN"):
        _build("molecule-csv", MoleculeCSVConfig(root=str(bad), task="multilabel"))
    regression = _build("molecule-csv", MoleculeCSVConfig(root=str(bad)))
    assert regression.info["label_tasks"] == {"label": {"type": "regression", "num_targets": 1}}
    assert regression.labels[:, 0].tolist() == [2.0, 0.0]
    (tmp_path / "other.csv").write_text("smiles,y\nCCO,1\n")
    with pytest.raises(DatasetError, match=r"holds 2 CSV files .* data.file"):
        _build("molecule-csv", MoleculeCSVConfig(root=str(tmp_path)))


def test_scaffold_split_puts_largest_scaffold_sets_first_deterministically() -> None:
    smiles = [
        "c1ccccc1O", "CCO", "c1ccccc1N", "C1CCCCC1C", "c1ccccc1C", "CCN",
        "C1CCCCC1O", "c1ccncc1", "CCCC", "c1ccccc1CC",
    ]
    # scaffolds: benzene x4 (0, 2, 4, 9), acyclic "" x3 (1, 5, 8), cyclohexane x2 (3, 6), pyridine x1 (7)
    train, val, test = scaffold_split(smiles, (0.7, 0.2, 0.1))
    assert train == [0, 2, 4, 9, 1, 5, 8] and val == [3, 6] and test == [7]
    assert scaffold_split(smiles, (0.7, 0.2, 0.1)) == (train, val, test)
    with pytest.raises(ValueError, match=r"summing to 1"):
        scaffold_split(smiles, (0.8, 0.1, 0.2))


@needs_bbbp
def test_real_bbbp_counts_features_and_scaffold_split() -> None:
    from rdkit import Chem, rdBase

    with BBBP.open() as handle:
        rows = list(csv.DictReader(handle))
    with rdBase.BlockLogs():
        invalid = sum(Chem.MolFromSmiles(row["smiles"]) is None for row in rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error" if invalid == 0 else "ignore")  # no skip warning when RDKit rejects nothing
        source = _build("bbbp", BBBPConfig(root=str(BBBP.parent)))
    info = source.info
    assert len(rows) == 2039 and info["skipped"] == invalid and info["num_graphs"] == len(rows) - invalid
    assert info["tasks"] == ["p_np"] and source.labels.shape == (info["num_graphs"], 1)
    assert int(source.labels.sum()) == sum(int(row["p_np"]) for row in rows)  # no row is skipped here, so labels add up
    for graph in source.graphs[:50]:
        assert graph.x.shape[1] == 2 and graph.edge_attr.shape == (graph.edge_index.shape[1], 2)
        assert int(graph.x[:, 0].max()) < 118 and graph.edge_index.shape[1] % 2 == 0
    train, val, test = (source.split_indices(s).tolist() for s in ("train", "val", "test"))
    n = info["num_graphs"]
    assert (len(train), len(val), len(test)) == (1631, 204, 204)  # Hu et al.'s BBBP scaffold split sizes
    assert sorted(train + val + test) == list(range(n))
    smiles = [rows[i]["smiles"] for i in range(n)]
    scaffolds = [{murcko_scaffold(smiles[i]) for i in part} for part in (train, val, test)]
    assert not scaffolds[0] & scaffolds[1] and not scaffolds[0] & scaffolds[2] and not scaffolds[1] & scaffolds[2]


class TestTinyMoleculesContract(DatasetContract):
    modality = "graph"
    dataset = "molecule-csv"
    dataset_config = {"root": str(TINY), "ignore_columns": ["name"]}

    @pytest.fixture(autouse=True)
    def _quiet(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
