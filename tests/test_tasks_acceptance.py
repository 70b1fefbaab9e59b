"""Acceptance: a user's own data, end to end from the CLI, with evaluators chosen by the task.

Each scenario generates files in ``tmp_path`` with the shapes a user brought (a housing-price
CSV with missing values and a categorical column, a TU set with node attributes, MoleculeNet-style
CSVs with a regression and a binary target, an uncoloured PLY mesh), runs ``selfsup pretrain``
with a tiny step budget, and checks that the defaults follow the task, that no traceback
escapes, and that every metric is reported beside random init and a raw-feature baseline.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from omegaconf import OmegaConf

from selfsup.cli import main


def _run(capsys, *args: str) -> tuple[str, dict]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in out + err
    run_dir = pathlib.Path(next(a.split("=", 1)[1] for a in args if a.startswith("run_dir=")))
    return out, json.loads((run_dir / "metrics.json").read_text())["evaluations"]


def _evaluators(run_dir: pathlib.Path) -> list[str]:
    return list(OmegaConf.load(run_dir / "config.yaml").evaluators)


def _three_columns(evaluations: dict) -> None:
    for name, entry in evaluations.items():
        assert set(entry["pretrained"]) == set(entry["random_init"]) == set(entry["raw_features"]), name
        assert "errors" not in entry, entry.get("errors")



# --------------------------------------------------------------------------- generators


def housing_csv(path, rows=240, seed=0):
    rng = np.random.default_rng(seed)
    sqft = rng.uniform(40, 200, rows)
    rooms = rng.integers(1, 7, rows)
    hood = rng.choice(["north", "south", "east", "west"], rows)
    bonus = {"north": 50.0, "south": -20.0, "east": 10.0, "west": 0.0}
    price = 3.0 * sqft + 15.0 * rooms + np.array([bonus[h] for h in hood]) + rng.normal(0, 10, rows)
    lines = ["sqft,rooms,neighbourhood,price"]
    for i in range(rows):
        s = "" if i % 9 == 0 else f"{sqft[i]:.1f}"
        h = "" if i % 13 == 0 else hood[i]
        lines.append(f"{s},{rooms[i]},{h},{price[i]:.2f}")
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def molecule_csv(path, target, seed=0):
    """Ring-plus-chain molecules (8 ring sizes = 8 scaffolds) with a regression or a binary target."""
    rng = np.random.default_rng(seed)
    lines = ["smiles,y"]
    for ring in range(3, 11):
        for chain in range(0, 8):
            smiles = "C1" + "C" * (ring - 1) + "1" + "C" * chain + ("O" if chain % 2 else "")
            if target == "regression":
                y = f"{0.8 * chain + 0.3 * ring + rng.normal(0, 0.2):.3f}"
            else:
                y = "1" if chain >= 4 else "0"
            lines.append(f"{smiles},{y}")
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


def tu_folder(root, name="TOY", graphs=60, seed=0):
    """Two classes of graphs (cycles vs. stars) with 2-D float node attributes and node labels."""
    rng = np.random.default_rng(seed)
    root = pathlib.Path(root); root.mkdir(parents=True, exist_ok=True)
    edges, indicator, labels, attrs, node_labels = [], [], [], [], []
    offset = 0
    for g in range(graphs):
        cls = g % 2
        n = int(rng.integers(5, 10))
        if cls == 0:
            pairs = [(i, (i + 1) % n) for i in range(n)]
        else:
            pairs = [(0, i) for i in range(1, n)]
        for a, b in pairs:
            edges += [(offset + a + 1, offset + b + 1), (offset + b + 1, offset + a + 1)]
        for i in range(n):
            indicator.append(g + 1)
            attrs.append((rng.normal(cls, 0.5), rng.normal(0, 1)))
            node_labels.append(int(rng.integers(0, 3)))
        labels.append(1 if cls else -1)
        offset += n
    (root / f"{name}_A.txt").write_text("\n".join(f"{a}, {b}" for a, b in edges) + "\n")
    (root / f"{name}_graph_indicator.txt").write_text("\n".join(map(str, indicator)) + "\n")
    (root / f"{name}_graph_labels.txt").write_text("\n".join(map(str, labels)) + "\n")
    (root / f"{name}_node_labels.txt").write_text("\n".join(map(str, node_labels)) + "\n")
    (root / f"{name}_node_attributes.txt").write_text("\n".join(f"{a:.4f}, {b:.4f}" for a, b in attrs) + "\n")


def mesh_ply(path):
    """A subdivided octahedron (no colours): ASCII PLY with vertices and faces."""
    verts = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    faces = [(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)]
    for _ in range(3):
        cache, new_faces = {}, []
        def mid(a, b):
            key = tuple(sorted((a, b)))
            if key not in cache:
                p = np.add(verts[a], verts[b]) / 2
                p = p / np.linalg.norm(p)
                verts.append(tuple(p)); cache[key] = len(verts) - 1
            return cache[key]
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new_faces += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new_faces
    header = ["ply", "format ascii 1.0", f"element vertex {len(verts)}", "property float x", "property float y",
              "property float z", f"element face {len(faces)}", "property list uchar int vertex_indices", "end_header"]
    body = [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in verts] + [f"3 {a} {b} {c}" for a, b, c in faces]
    pathlib.Path(path).write_text("\n".join(header + body) + "\n")


# --------------------------------------------------------------------------- scenarios

GRAPH = ("objective=d-sla", "encoder=gin", "encoder_config.num_layers=2", "encoder_config.hidden_dim=16",
         "trainer.max_steps=2", "trainer.batch_size=16")


def test_regression_csv_with_missing_values_and_a_category(capsys, tmp_path) -> None:
    pytest.importorskip("selfsup_tabular")
    housing_csv(tmp_path / "house.csv")
    run = tmp_path / "run"
    out, evaluations = _run(capsys, "pretrain", "modality=tabular", "dataset=csv", f"data.root={tmp_path}",
                            "data.train_file=house.csv", "data.target=price", "trainer.max_steps=3", f"run_dir={run}")
    assert _evaluators(run) == ["regression-probe"]  # linear-probe would read prices as class indices
    _three_columns(evaluations)
    probe = evaluations["regression-probe"]
    assert probe["task"] == {"type": "regression", "num_targets": 1}
    assert probe["raw_features"]["r2"] > 0.8  # price is linear in the raw columns
    assert probe["raw_features"]["rmse"] > probe["raw_features"]["mae"] > 0
    assert "regression-probe/rmse   lower" in out and "raw features" in out
    # 3-fold cross-validation of the same encoder: mean ± std over the folds
    code = main(["evaluate", f"run_dir={run}", "cv=3"])
    out = capsys.readouterr().out
    assert code == 0 and "±" in out and "mean ± std over 3 folds" in out
    entry = json.loads((run / "metrics.json").read_text())["evaluations"]["regression-probe"]
    folds = [fold["pretrained"]["r2"] for fold in entry["cv"]["per_fold"]]
    assert len(folds) == 3 and len(set(folds)) == 3
    assert entry["pretrained"]["r2"] == pytest.approx(np.mean(folds))
    assert entry["std"]["pretrained"]["r2"] == pytest.approx(np.std(folds))


def test_tu_set_with_node_attributes_and_ten_fold_style_cv(capsys, tmp_path) -> None:
    pytest.importorskip("selfsup_graph")
    tu_folder(tmp_path / "tu")
    run = tmp_path / "run"
    out, evaluations = _run(capsys, "pretrain", "modality=graph", "dataset=tu", f"data.root={tmp_path / 'tu'}", *GRAPH, f"run_dir={run}")
    assert _evaluators(run) == ["clustering"]  # the graph modality's default fits a multiclass task
    _three_columns(evaluations)
    assert evaluations["clustering"]["raw_features"]["acc"] > 0.8  # node attributes separate the classes
    code = main(["evaluate", f"run_dir={run}", "cv=4", "evaluators=[linear-probe]"])
    out = capsys.readouterr().out
    assert code == 0 and "linear-probe/accuracy" in out and "±" in out
    entry = json.loads((run / "metrics.json").read_text())["evaluations"]["linear-probe"]
    assert [fold["raw_features"]["accuracy"] > 0.6 for fold in entry["cv"]["per_fold"]] == [True] * 4


def _molecule_run(capsys, tmp_path, file_name: str, task: str) -> tuple[str, dict, pathlib.Path]:
    """Pretrain the graph modality on a MoleculeNet-style CSV with one ``task`` target."""
    pytest.importorskip("selfsup_graph")
    pytest.importorskip("rdkit")
    (tmp_path / "mol").mkdir()
    molecule_csv(tmp_path / "mol" / file_name, task)
    run = tmp_path / "run"
    out, evaluations = _run(capsys, "pretrain", "modality=graph", "dataset=molecule-csv", f"data.root={tmp_path / 'mol'}", *GRAPH, f"run_dir={run}")
    _three_columns(evaluations)
    return out, evaluations, run


def test_molecule_csv_with_a_regression_target(capsys, tmp_path) -> None:
    out, evaluations, run = _molecule_run(capsys, tmp_path, "solubility.csv", "regression")
    assert _evaluators(run) == ["regression-probe"]
    probe = evaluations["regression-probe"]
    assert probe["task"]["type"] == "regression"
    assert probe["raw_features"]["r2"] > 0.3 > probe["random_init"]["r2"]  # atom counts carry the target
    assert "regression-probe/mae" in out


def test_molecule_csv_with_a_binary_target(capsys, tmp_path) -> None:
    out, evaluations, run = _molecule_run(capsys, tmp_path, "permeable.csv", "binary")
    assert _evaluators(run) == ["linear-probe"]  # masked ROC-AUC for MoleculeNet-style 0/1 tasks
    probe = evaluations["linear-probe"]
    assert probe["raw_features"]["roc_auc"] > 0.9 and probe["raw_features"]["tasks_scored"] == 1.0
    assert "linear-probe/roc_auc" in out


def test_uncoloured_mesh(capsys, tmp_path) -> None:
    pytest.importorskip("selfsup_pointcloud")
    (tmp_path / "mesh").mkdir()
    mesh_ply(tmp_path / "mesh" / "ball.ply")
    run = tmp_path / "run"
    out, evaluations = _run(capsys, "pretrain", "modality=pointcloud", "dataset=point-files", f"data.root={tmp_path / 'mesh'}",
                            "data.mesh_points=2000", "trainer.max_steps=2", f"run_dir={run}")
    assert _evaluators(run) == ["embedding-stats"]  # no labels: no segmentation probe to fail after training
    _three_columns(evaluations)
    stats = evaluations["embedding-stats"]
    assert stats["raw_features"]["effective_rank"] <= 6.0 + 1e-6  # xyz + normals: at most 6 directions
    assert stats["pretrained"]["embedding_std"] > 0.0


@pytest.mark.parametrize(
    ("modality", "dataset", "expected"),
    [
        ("tabular", "adult-sample", ("binary", "row")),
        ("tabular", "synthetic-traffic", ("binary", "row")),
        ("graph", "sbm", ("multiclass", "row")),
        ("audio", "synthetic-sounds", ("multiclass", "row")),
        ("vision", "digits", ("multiclass", "row")),
        ("pointcloud", "procedural-rooms", ("multiclass", "point")),
        ("example-series", "synthetic-sines", ("multiclass", "row")),
        ("timeseries", "synthetic-pulses", ("regression", "row")),
    ],
)
def test_first_party_datasets_declare_their_task(modality, dataset, expected) -> None:
    from selfsup.registry import get_registry
    from selfsup.tasks import label_task

    registry = get_registry()
    if modality not in {spec.name for spec in registry.list("modality")}:
        pytest.skip(f"the {modality} plugin is not installed")
    spec = registry.get("dataset", dataset, modality=modality)
    data = spec.resolve_factory()(spec.default_config())
    assert "label_tasks" in data.info  # declared, not read from a legacy info["task"]
    task = label_task(data.info)
    assert (task.type, task.level) == expected
    if task.type in ("binary", "multiclass"):
        assert task.num_classes == data.info["num_classes"]


def test_csv_folds_partition_the_rows_stratified_by_class(tmp_path) -> None:
    pytest.importorskip("selfsup_tabular")
    from selfsup_tabular.datasets.configs import CSVTableConfig
    from selfsup_tabular.datasets.csv_table import CSVTable

    rows = ["x,kind"] + [f"{i},{'rare' if i % 5 == 0 else 'common'}" for i in range(100)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    sizes = []
    for fold in range(4):
        source = CSVTable(CSVTableConfig(root=str(tmp_path), train_file="t.csv", target="kind", folds=4, fold=fold))
        labels = torch_labels(source, "test")
        assert source.info["cv"] == {"folds": 4, "fold": fold, "seed": 0, "stratified": True}
        assert sorted(np.bincount(labels, minlength=2).tolist()) == [5, 20]  # 20 % rare in every fold
        sizes.append(len(labels) + len(torch_labels(source, "train")) + len(torch_labels(source, "val")))
        assert len(labels) == 25
    assert sizes == [100] * 4  # test fold + the rest (train and its validation share) = every row


def torch_labels(source, split: str) -> np.ndarray:
    batch = source.collate([source.split(split)[i] for i in range(len(source.split(split)))])
    return batch["label"].numpy()
