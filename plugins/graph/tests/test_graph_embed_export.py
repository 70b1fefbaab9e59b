"""``selfsup embed`` / ``export`` on graph-level runs: SMILES CSVs and TU folders, featurised with the
run's saved encodings; graph-level GIN/GCN export to ONNX and TorchScript (the torch-geometric batch
as tensors) and to safetensors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import selfsup
from selfsup.errors import DatasetError
from selfsup.export import export, load_safetensors_export

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
MUTAG = DATA / "mutag"
TRAINER = {"max_steps": 2, "batch_size": 8, "progress": "off", "log_every": 1}
GIN = {"num_layers": 2, "hidden_dim": 16}
# small real molecules: alcohols, amines, acids, rings (labels: contains oxygen)
SMILES = [
    "CO", "CCO", "CCCO", "CCCCO", "CC(C)O", "OCCO", "CC(=O)O", "CCC(=O)O", "c1ccccc1O", "c1ccccc1CO",
    "CN", "CCN", "CCCN", "CC(C)N", "NCCN", "c1ccccc1N", "c1ccncc1", "C1CCCCC1", "C1CCNCC1", "C1CCOCC1",
    "CC", "CCC", "CCCC", "CC(C)C", "c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "c1ccc2ccccc2c1", "C1CC1", "C1CCC1",
    "CC=O", "CCC=O", "COC", "CCOCC", "CS", "CCS", "CCl", "CCBr", "ClCCl", "FC(F)F",
]


@pytest.fixture(scope="module")
def molecule_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("molecules")
    rows = [f"{s},{int('O' in s or 'o' in s)}" for s in SMILES]
    (folder / "train.csv").write_text("smiles,has_oxygen\n" + "\n".join(rows) + "\n")
    return selfsup.pretrain(
        modality="graph", objective="d-sla", encoder="gin", dataset="molecule-csv", run_dir=folder / "run",
        data={"root": str(folder), "file": "train.csv"}, evaluators=[], encoder_config=GIN, trainer=TRAINER,
    )


def test_smiles_rows_embed_by_row_and_atom_order_does_not_matter(molecule_run, tmp_path):
    state = json.loads((molecule_run.run_dir / "preprocessing.json").read_text())["state"]
    assert state["reader"] == "smiles" and state["smiles_column"] == "smiles" and state["num_node_features"] == 2
    (tmp_path / "new.csv").write_text("id,smiles\na,CCO\nb,OCC\nc,c1ccccc1C(=O)O\nd,CCCCCCCCN\n")
    out = selfsup.embed(molecule_run.run_dir, tmp_path / "new.csv", out=tmp_path / "e.npy")
    assert out.ids == ["0", "1", "2", "3"] and out.layout == "input"
    np.testing.assert_allclose(out.vectors[0], out.vectors[1], atol=1e-5)  # the same molecule, atoms reordered
    assert np.abs(out.vectors[0] - out.vectors[2]).max() > 1e-4


def test_smiles_embeddings_equal_the_runs_own_graphs(molecule_run, tmp_path):
    from selfsup_graph.configs import MoleculeCSVConfig
    from selfsup_graph.datasets.moleculenet import MoleculeCSV

    source = MoleculeCSV(MoleculeCSVConfig(**molecule_run.config["data"]))
    (tmp_path / "same.csv").write_text("smiles\n" + "\n".join(SMILES[:6]) + "\n")
    out = selfsup.embed(molecule_run.run_dir, tmp_path / "same.csv")
    batch = source.collate([source.split("all")[i] for i in range(6)])
    with torch.no_grad():
        np.testing.assert_allclose(out.vectors, molecule_run.encoder(batch).numpy(), atol=1e-5)


def test_a_bad_smiles_is_named_with_its_line(molecule_run, tmp_path):
    (tmp_path / "bad.csv").write_text("smiles\nCCO\nC1CC\n")
    with pytest.raises(DatasetError, match=r"line 3.*C1CC"):
        selfsup.embed(molecule_run.run_dir, tmp_path / "bad.csv")


def test_gin_exports_safetensors_exactly(molecule_run, tmp_path):
    (tmp_path / "new.csv").write_text("smiles\nCCO\nCCN\nc1ccccc1\n")
    target = export(molecule_run.run_dir, "safetensors", out=tmp_path / "st", inputs=tmp_path / "new.csv")
    from selfsup.embed import open_run

    _, encoder, transform = open_run(molecule_run.run_dir)
    batch, units = transform.batch([g for _, g in transform.read(tmp_path / "new.csv")])
    assert units == [3, 3, 6]  # heavy atoms per molecule
    with torch.no_grad():
        torch.testing.assert_close(load_safetensors_export(target)(batch), encoder(batch), atol=0, rtol=0)


def _check_traced_exports(run_dir: Path, inputs: Path, other: Path, tmp_path: Path) -> None:
    """ONNX (onnxruntime) and TorchScript exports of a graph-level run equal the eager encoder on
    ``other``: real graphs that neither export was traced or checked on, in a batch of another size."""
    onnxruntime = pytest.importorskip("onnxruntime")
    from selfsup.embed import open_run

    _, encoder, transform = open_run(run_dir)
    batch, _ = transform.batch([g for _, g in transform.read(other)])
    tensors = encoder.export_batch(batch)
    with torch.no_grad():
        expected = encoder(batch).numpy()
    onnx_dir = export(run_dir, "onnx", out=tmp_path / "onnx", inputs=inputs)
    manifest = json.loads((onnx_dir / "export.json").read_text())
    names = [spec["name"] for spec in manifest["inputs"]]
    assert names[:2] == ["x", "edge_index"] and names[-2:] == ["batch", "graphs"] and manifest["max_abs_diff"] <= 1e-4
    assert manifest["inputs"][-1]["shape"] == ["graphs_dim0"]  # the number of graphs is dynamic
    session = onnxruntime.InferenceSession(str(onnx_dir / "encoder.onnx"), providers=["CPUExecutionProvider"])
    feed = {i.name: tensors[i.name].numpy() for i in session.get_inputs()}
    got = session.run(None, feed)[0]
    assert got.shape == expected.shape == (int(tensors["graphs"].shape[0]), encoder.embed_dim)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    script = torch.jit.load(str(export(run_dir, "torchscript", out=tmp_path / "ts", inputs=inputs) / "encoder.pt"))
    with torch.no_grad():
        np.testing.assert_allclose(script(*(tensors[n] for n in names)).numpy(), expected, atol=1e-5)


def test_gin_on_smiles_exports_to_onnx_and_torchscript(molecule_run, tmp_path):
    (tmp_path / "new.csv").write_text("smiles\nCCO\nCCN\nc1ccccc1\nCC(=O)O\nC1CCOCC1\n")
    (tmp_path / "other.csv").write_text("smiles\nc1ccncc1\nCCCCCCCCN\nClCCl\nc1ccc2ccccc2c1\nCS\nOCCO\nC1CC1\n")
    _check_traced_exports(molecule_run.run_dir, tmp_path / "new.csv", tmp_path / "other.csv", tmp_path)


def _tu_folder(folder: Path, node_labels: list[int], graphs: list[int], edges: list[tuple[int, int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "NEW_A.txt").write_text("".join(f"{a}, {b}\n{b}, {a}\n" for a, b in edges))
    (folder / "NEW_graph_indicator.txt").write_text("".join(f"{g}\n" for g in graphs))
    (folder / "NEW_node_labels.txt").write_text("".join(f"{v}\n" for v in node_labels))
    (folder / "NEW_edge_labels.txt").write_text("".join("0\n0\n" for _ in edges))
    return folder


@pytest.mark.skipif(not (MUTAG / "MUTAG_A.txt").is_file(), reason="MUTAG not found (set SELFSUP_DATA)")
def test_tu_graphs_use_the_runs_one_hot_encodings(tmp_path):
    run = selfsup.pretrain(
        modality="graph", objective="d-sla", encoder="gin", dataset="mutag", run_dir=tmp_path / "run",
        data={"root": str(MUTAG)}, evaluators=[], encoder_config=GIN, trainer=TRAINER,
    )
    state = json.loads((run.run_dir / "preprocessing.json").read_text())["state"]
    assert state["encodings"] == {"node_labels": [[0, 7]], "edge_labels": [[0, 4]]}
    # the first three MUTAG graphs, copied as a new TU folder without graph labels
    indicator = np.loadtxt(MUTAG / "MUTAG_graph_indicator.txt", dtype=int)
    nodes = int((indicator <= 3).sum())
    pairs = np.loadtxt(MUTAG / "MUTAG_A.txt", delimiter=",", dtype=int)
    keep = (pairs <= nodes).all(1)
    new = tmp_path / "new"
    new.mkdir()
    np.savetxt(new / "NEW_A.txt", pairs[keep], fmt="%d", delimiter=", ")
    np.savetxt(new / "NEW_graph_indicator.txt", indicator[:nodes], fmt="%d")
    np.savetxt(new / "NEW_node_labels.txt", np.loadtxt(MUTAG / "MUTAG_node_labels.txt", dtype=int)[:nodes], fmt="%d")
    np.savetxt(new / "NEW_edge_labels.txt", np.loadtxt(MUTAG / "MUTAG_edge_labels.txt", dtype=int)[keep], fmt="%d")
    out = selfsup.embed(run.run_dir, new)
    from selfsup_graph.configs import TUConfig
    from selfsup_graph.datasets.tu import TUDataset

    source = TUDataset(TUConfig(**run.config["data"]))
    with torch.no_grad():
        expected = run.encoder(source.collate([source.split("all")[i] for i in range(3)]))
    assert out.ids == ["1", "2", "3"]
    np.testing.assert_allclose(out.vectors, expected.numpy(), atol=1e-5)
    # labels 0 and 2 only, and one never seen (9): still the run's 7-wide one-hot, the unseen row all zero
    small = _tu_folder(tmp_path / "small", [0, 2, 9, 0], [1, 1, 1, 1], [(1, 2), (2, 3), (3, 4)])
    from selfsup.embed import open_run

    _, _, transform = open_run(run.run_dir)
    graph = transform.read(small)[0][1]
    assert graph.x.shape == (4, 7) and graph.x[2].sum() == 0 and graph.x[1, 2] == 1
    assert selfsup.embed(run.run_dir, small).vectors.shape == (1, run.encoder.embed_dim)


CORA = DATA / "cora"


@pytest.mark.skipif(not (CORA / "ind.cora.x").is_file(), reason="Cora not found (set SELFSUP_DATA)")
def test_planetoid_runs_embed_one_row_per_node(tmp_path):
    run = selfsup.pretrain(
        modality="graph", dataset="cora", run_dir=tmp_path / "run", data={"root": str(CORA)}, evaluators=[],
        trainer={"max_steps": 2, "progress": "off"},
    )
    state = json.loads((run.run_dir / "preprocessing.json").read_text())["state"]
    assert state == {"num_node_features": 1433, "reader": "planetoid", "name": "cora", "normalize_features": False}
    out = selfsup.embed(run.run_dir, CORA, out=tmp_path / "nodes.parquet")
    from selfsup_graph.configs import PlanetoidConfig
    from selfsup_graph.datasets.planetoid import cora

    with torch.no_grad():
        expected = run.encoder(cora(PlanetoidConfig(root=str(CORA))).split("all")[0])
    assert out.layout == "unit" and out.vectors.shape == (2708, run.encoder.embed_dim)
    assert set(out.ids) == {"cora"} and out.index[:3] == [0, 1, 2] and out.index[-1] == 2707
    np.testing.assert_allclose(out.vectors, expected.numpy(), atol=1e-6)
    manifest = json.loads((export(run.run_dir, "onnx", out=tmp_path / "onnx") / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["inputs"][0]["shape"] == [2708, 1433]


@pytest.mark.skipif(not (MUTAG / "MUTAG_A.txt").is_file(), reason="MUTAG not found (set SELFSUP_DATA)")
def test_graph_level_gcn_on_tu_graphs_exports_to_onnx_and_torchscript(tmp_path):
    run = selfsup.pretrain(
        modality="graph", objective="d-sla", encoder="gcn", dataset="mutag", run_dir=tmp_path / "run",
        data={"root": str(MUTAG)}, evaluators=[], encoder_config=GIN, trainer=TRAINER,
    )
    indicator = np.loadtxt(MUTAG / "MUTAG_graph_indicator.txt", dtype=int)
    pairs = np.loadtxt(MUTAG / "MUTAG_A.txt", delimiter=",", dtype=int)
    node_labels = np.loadtxt(MUTAG / "MUTAG_node_labels.txt", dtype=int)
    edge_labels = np.loadtxt(MUTAG / "MUTAG_edge_labels.txt", dtype=int)

    def tu_copy(folder: Path, first: int, last: int) -> Path:  # MUTAG graphs first..last as a new TU folder
        folder.mkdir()
        nodes = np.flatnonzero((indicator >= first) & (indicator <= last))
        keep = np.isin(pairs[:, 0] - 1, nodes)
        np.savetxt(folder / "NEW_A.txt", pairs[keep] - nodes[0], fmt="%d", delimiter=", ")
        np.savetxt(folder / "NEW_graph_indicator.txt", indicator[nodes] - first + 1, fmt="%d")
        np.savetxt(folder / "NEW_node_labels.txt", node_labels[nodes], fmt="%d")
        np.savetxt(folder / "NEW_edge_labels.txt", edge_labels[keep], fmt="%d")
        return folder

    _check_traced_exports(run.run_dir, tu_copy(tmp_path / "a", 1, 4), tu_copy(tmp_path / "b", 10, 16), tmp_path)
