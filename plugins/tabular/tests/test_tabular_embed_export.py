"""``selfsup embed`` / ``selfsup export`` on tabular runs: the run's fitted preprocessing is re-applied
to new raw rows, and the FT-Transformer goes to ONNX / TorchScript / safetensors, checked on real rows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import selfsup
from selfsup.cli import main
from selfsup.errors import DatasetError
from selfsup.export import TensorInputs, encoder_inputs, export, load_safetensors_export

DATA = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
TINY = {"d_token": 16, "n_layers": 1, "n_heads": 2, "d_ffn": 32}
TRAINER = {"max_steps": 3, "batch_size": 64, "progress": "off", "log_every": 1}


def _table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "lyon", "nice", "lille"], rows)
    age = rng.integers(18, 80, rows).astype(float)
    spend = np.round(rng.lognormal(3.0, 0.8, rows), 2)
    plan = rng.choice(["basic", "pro", "team"], rows)
    label = ((age > 45) ^ (city == "nice")).astype(int)
    return pd.DataFrame({"age": age, "spend": spend, "city": city, "plan": plan, "churn": label})


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A T-JEPA run on a generated CSV with a separate test file (its test split is that file, in order)."""
    folder = tmp_path_factory.mktemp("table")
    _table(240, 0).to_csv(folder / "train.csv", index=False)
    test = _table(40, 1)
    test.loc[3, "spend"] = np.nan  # a missing number, imputed with the train mean
    test.loc[5, "city"] = np.nan  # a missing category, index 0
    test.to_csv(folder / "test.csv", index=False)
    result = selfsup.pretrain(
        modality="tabular", dataset="csv", run_dir=folder / "run", evaluators=[],
        data={"root": str(folder), "train_file": "train.csv", "test_file": "test.csv", "target": "churn"},
        encoder_config=TINY, trainer=TRAINER,
    )
    return result, folder


def _split_embeddings(result, split: str = "test") -> torch.Tensor:
    from selfsup_tabular.datasets.csv_table import CSVTable
    from selfsup_tabular.datasets.configs import CSVTableConfig

    config = CSVTableConfig(**{k: v for k, v in result.config["data"].items()})
    tensors = CSVTable(config).split(split).tensors
    with torch.no_grad():
        return result.encoder({k: v for k, v in tensors.items() if k != "label"})


def test_the_run_saves_its_fitted_preprocessing(csv_run):
    result, _ = csv_run
    saved = json.loads((result.run_dir / "preprocessing.json").read_text())
    assert saved["dataset"] == "csv"
    table = saved["state"]["table"]
    assert table["categorical_names"] == ["city", "plan"] and table["numerical_names"] == ["age", "spend"]
    assert table["categories"][0] == ["lille", "lyon", "nice", "paris"]
    train = _table(240, 0)
    # the train split is 90 % of train.csv: its mean is close to, not equal to, the whole file's
    assert abs(table["numerical_mean"][0] - train["age"].mean()) < 3.0


def test_embedding_raw_rows_reproduces_the_runs_own_test_split(csv_run, tmp_path):
    result, folder = csv_run
    embedded = selfsup.embed(result.run_dir, folder / "test.csv", out=tmp_path / "e.npy")
    expected = _split_embeddings(result)
    assert embedded.layout == "input" and embedded.ids == [str(i) for i in range(40)]
    np.testing.assert_allclose(embedded.vectors, expected.numpy(), atol=1e-5)
    assert np.load(tmp_path / "e.npy", allow_pickle=False).shape == (40, result.encoder.embed_dim)
    assert (tmp_path / "e.ids.csv").read_text().splitlines()[:3] == ["id", "0", "1"]


def test_unseen_categories_and_missing_values_are_handled_as_in_training(csv_run, tmp_path):
    result, _ = csv_run
    mean_spend = json.loads((result.run_dir / "preprocessing.json").read_text())["state"]["table"]["numerical_mean"][1]
    rows = pd.DataFrame(
        {
            "age": [30.0, 30.0, 30.0, 30.0],
            "spend": [12.5, 12.5, np.nan, mean_spend],
            "city": ["berlin", None, "paris", "paris"],  # unseen and missing both map to index 0
            "plan": ["pro", "pro", "team", "team"],
        },
        index=["u1", "u2", "u3", "u4"],
    )
    out = selfsup.embed(result.run_dir, rows)
    assert out.ids == ["u1", "u2", "u3", "u4"]
    np.testing.assert_allclose(out.vectors[0], out.vectors[1], atol=1e-6)
    np.testing.assert_allclose(out.vectors[2], out.vectors[3], atol=1e-5)
    assert np.abs(out.vectors[0] - out.vectors[2]).max() > 1e-3  # different rows do differ


def test_parquet_output_holds_ids_and_vectors(csv_run, tmp_path):
    result, folder = csv_run
    out = tmp_path / "sub" / "e.parquet"
    assert main(["embed", f"run_dir={result.run_dir}", f"data.root={folder / 'test.csv'}", f"out={out}"]) == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["id", "embedding"] and frame["id"].tolist()[:2] == ["0", "1"]
    np.testing.assert_allclose(np.stack(frame["embedding"].to_numpy()), _split_embeddings(result).numpy(), atol=1e-5)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_missing_column_is_named(csv_run, tmp_path, capsys):
    result, _ = csv_run
    (tmp_path / "bad.csv").write_text("age,spend,plan\n30,1.0,pro\n")
    with pytest.raises(DatasetError, match=r"lack the column\(s\) \['city'\]"):
        selfsup.embed(result.run_dir, tmp_path / "bad.csv")
    code = main(["embed", f"run_dir={result.run_dir}", f"data.root={tmp_path / 'bad.csv'}", f"out={tmp_path / 'e.npy'}"])
    err = capsys.readouterr().err
    assert code == 2 and "['city']" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "e.npy").exists()


def test_cli_rejects_unknown_keys_and_missing_out(csv_run, capsys):
    result, folder = csv_run
    assert main(["embed", f"run_dir={result.run_dir}", f"data.root={folder / 'test.csv'}", "outt=x.npy"]) == 2
    assert "Did you mean 'out'" in capsys.readouterr().err
    assert main(["embed", f"run_dir={result.run_dir}", f"data.root={folder / 'test.csv'}"]) == 2
    assert "needs out=" in capsys.readouterr().err
    assert main(["embed", f"run_dir={result.run_dir}", f"data.root={folder / 'test.csv'}", "out=e.csv"]) == 2
    assert ".npy or .parquet" in capsys.readouterr().err


def test_onnx_export_matches_the_encoder_on_new_real_rows(csv_run, tmp_path):
    import onnxruntime

    result, folder = csv_run
    target = export(result.run_dir, "onnx", out=tmp_path / "onnx")
    manifest = json.loads((target / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["embed_dim"] == result.encoder.embed_dim
    assert [i["name"] for i in manifest["inputs"]] == ["numerical", "categorical"]
    assert json.loads((target / "preprocessing.json").read_text()) == json.loads((result.run_dir / "preprocessing.json").read_text())
    # a batch of another size than the traced one, from the same transform selfsup embed uses
    from selfsup.embed import open_run

    _, encoder, transform = open_run(result.run_dir)
    batch, _ = transform.batch([row for _, row in transform.read(folder / "test.csv")][:7])
    session = onnxruntime.InferenceSession(str(target / "encoder.onnx"))
    got = session.run(None, {k: batch[k].numpy() for k in ("numerical", "categorical")})[0]
    with torch.no_grad():
        expected = encoder(batch).numpy()
    assert got.shape == (7, encoder.embed_dim)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_torchscript_and_safetensors_exports_reload(csv_run, tmp_path):
    result, folder = csv_run
    from selfsup.embed import open_run

    _, encoder, transform = open_run(result.run_dir)
    batch, _ = transform.batch([row for _, row in transform.read(folder / "test.csv")][:5])
    with torch.no_grad():
        expected = encoder(batch)
        scripted = torch.jit.load(str(export(result.run_dir, "torchscript", out=tmp_path / "ts") / "encoder.pt"))
        torch.testing.assert_close(scripted(batch["numerical"], batch["categorical"]), expected, atol=1e-5, rtol=0)
        rebuilt = load_safetensors_export(export(result.run_dir, "safetensors", out=tmp_path / "st"))
        torch.testing.assert_close(rebuilt(batch), expected, atol=0, rtol=0)


def test_ft_transformer_traces_with_the_tracers_own_check(csv_run):
    """The reported bug: ``torch.jit.trace`` failed on the FT-Transformer (a Python autograd.Function)."""
    result, folder = csv_run
    from selfsup.embed import open_run
    from selfsup_tabular.encoders.ft_transformer import FTTransformerConfig, build_ft_transformer

    _, _, transform = open_run(result.run_dir)
    batch, _ = transform.batch([row for _, row in transform.read(folder / "test.csv")][:4])
    info = json.loads((result.run_dir / "data_info.json").read_text())
    encoder = build_ft_transformer(FTTransformerConfig(), info).eval()  # the default size: 32-wide heads, ReLU
    keys = encoder_inputs(encoder, batch)
    assert keys == ["numerical", "categorical"]
    args = tuple(batch[k] for k in keys)
    traced = torch.jit.trace(TensorInputs(encoder, keys), args)  # with gradients and the tracer's check, as a user would
    assert "PythonOp" not in str(traced.graph)
    with torch.no_grad():
        torch.testing.assert_close(traced(*args), encoder(batch), atol=1e-5, rtol=0)


@pytest.mark.skipif(not (DATA / "adult" / "adult.test").is_file(), reason="UCI Adult not found (set SELFSUP_DATA)")
def test_adult_run_embeds_the_uci_test_file_as_its_test_split(tmp_path):
    result = selfsup.pretrain(
        modality="tabular", dataset="adult", run_dir=tmp_path / "run", evaluators=[],
        data={"root": str(DATA / "adult"), "max_train_rows": 2000}, encoder_config=TINY, trainer=TRAINER,
    )
    lines = (DATA / "adult" / "adult.test").read_text().splitlines()
    (tmp_path / "first.test").write_text("\n".join(lines[:301]) + "\n")  # the header row and 300 people
    embedded = selfsup.embed(result.run_dir, tmp_path / "first.test")
    from selfsup_tabular.datasets.adult import Adult
    from selfsup_tabular.datasets.configs import AdultConfig

    test = Adult(AdultConfig(root=str(DATA / "adult"), max_train_rows=2000)).split("test").tensors
    with torch.no_grad():
        expected = result.encoder({k: v[:300] for k, v in test.items() if k != "label"})
    assert embedded.vectors.shape == (300, result.encoder.embed_dim)
    np.testing.assert_allclose(embedded.vectors, expected.numpy(), atol=1e-5)
    manifest = json.loads((export(result.run_dir, "onnx", inputs=tmp_path / "first.test") / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and "300 input(s)" in manifest["verified_on"]


def test_residual_mlp_goes_to_onnx_too(tmp_path):
    result = selfsup.pretrain(
        modality="tabular", objective="clan", encoder="residual-mlp", run_dir=tmp_path / "run", evaluators=[],
        encoder_config={"width": 32, "n_blocks": 2, "d_out": 8}, trainer=TRAINER,
    )
    manifest = json.loads((export(result.run_dir, "onnx") / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["embed_dim"] == 8
    assert [i["name"] for i in manifest["inputs"]] == ["numerical", "categorical"]
