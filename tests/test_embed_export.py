"""The preprocessing extension point (``DataSource.preprocessing_state``, ``DatasetSpec.input_transform``),
``selfsup.embed`` and ``selfsup export``, on the toy plugin plus a dataset that fits a standardisation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import selfsup
from selfsup import DatasetSpec, EncoderSpec, hookimpl
from selfsup.cli import main
from selfsup.errors import CheckpointError, ConfigError, DatasetError, ExportError
from selfsup.export import export, load_safetensors_export
from selfsup.preprocessing import PREPROCESSING_FILE, PREPROCESSING_TENSORS_FILE, InputTransform, load_state, save_state

TRAINER = {"max_steps": 3, "batch_size": 16, "progress": "off"}


class ScaledBlobs(selfsup.DataSource):
    """Blobs on very different scales, standardised with the train split's mean and std."""

    def __init__(self, config: Any) -> None:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(120, 3, generator=g) * torch.tensor([1.0, 50.0, 0.01]) + torch.tensor([0.0, 200.0, -3.0])
        y = (x[:, 0] > 0).long()
        self.mean, self.std = x[:80].mean(0), x[:80].std(0)
        z = (x - self.mean) / self.std
        self._splits = {"train": (z[:80], y[:80]), "test": (z[80:], y[80:])}
        self.splits = ("train", "test")
        self.info = {"num_features": 3, "num_classes": 2, "task": "classification"}

    def split(self, name: str) -> torch.utils.data.Dataset:
        x, y = self._splits[name]
        return [{"x": x[i], "label": y[i]} for i in range(len(x))]  # type: ignore[return-value]

    def preprocessing_state(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "columns": ["a", "b", "c"]}


class TextRows:
    """Raw inputs: a text file of whitespace-separated rows; blank lines separate inputs (sets of rows)."""

    def __init__(self, config: Any, state: dict[str, Any]) -> None:
        self.mean, self.std = state["mean"], state["std"]
        self.columns = state["columns"]

    def read(self, source: Any) -> list[tuple[str, Any]]:
        groups = [g for g in Path(source).read_text().split("\n\n") if g.strip()]
        return [(f"set{i}", torch.tensor([[float(v) for v in line.split()] for line in g.strip().splitlines()])) for i, g in enumerate(groups)]

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        x = torch.cat(list(items))
        return {"x": (x - self.mean) / self.std}, [len(item) for item in items]


class Fixed(nn.Module):
    """An encoder that declares the formats it supports."""

    export_formats = ("safetensors",)
    export_note = "it is a test encoder that only ships weights"

    def __init__(self, config: Any, data_info: Any) -> None:
        super().__init__()
        self.embed_dim = 4
        self.net = nn.Linear(data_info["num_features"], 4)

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        return self.net(batch["x"])


class SizeBaked(Fixed):
    """Builds a tensor from a Python int of the batch size: a trace freezes that size."""

    export_formats = ("onnx", "torchscript", "safetensors")

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        rows = int(batch["x"].shape[0])
        return self.net(batch["x"]) + torch.arange(rows, dtype=torch.float32)[:, None] * 0 + torch.ones(rows, 1)


class ScaledPlugin:
    @hookimpl
    def register_datasets(self) -> list[DatasetSpec]:
        return [
            DatasetSpec(name="scaled", modality="toy", factory=ScaledBlobs, input_transform=TextRows),
            DatasetSpec(name="scaled-lazy", modality="toy", factory=ScaledBlobs, input_transform=f"{__name__}:TextRows"),
        ]

    @hookimpl
    def register_encoders(self) -> list[EncoderSpec]:
        return [
            EncoderSpec(name="fixed", modality="toy", factory=Fixed),
            EncoderSpec(name="size-baked", modality="toy", factory=SizeBaked),
        ]


@pytest.fixture
def scaled(toy, register_plugin):
    register_plugin(ScaledPlugin(), name="scaled")


def _pretrain(tmp_path: Path, dataset: str = "scaled", **kwargs: Any) -> selfsup.PretrainResult:
    return selfsup.pretrain(modality="toy", dataset=dataset, run_dir=tmp_path / "run", evaluators=[], trainer=TRAINER, **kwargs)


def _rows(path: Path, groups: list[list[list[float]]]) -> Path:
    path.write_text("\n\n".join("\n".join(" ".join(str(v) for v in row) for row in g) for g in groups) + "\n")
    return path


# ------------------------------------------------------------------------------------ the state files
def test_state_round_trips_json_and_tensors(tmp_path):
    save_state(tmp_path, "demo", {"mean": torch.tensor([1.5, 2.0]), "vocab": ["a", "b"], "length": 128})
    assert json.loads((tmp_path / PREPROCESSING_FILE).read_text())["state"] == {"vocab": ["a", "b"], "length": 128}
    state = load_state(tmp_path)
    assert torch.equal(state["mean"], torch.tensor([1.5, 2.0])) and state["length"] == 128
    save_state(tmp_path, "demo", {"length": 64})  # no tensors any more: the stale tensor file goes
    assert not (tmp_path / PREPROCESSING_TENSORS_FILE).exists() and load_state(tmp_path) == {"length": 64}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_state_errors_name_the_culprit(tmp_path):
    assert load_state(tmp_path) == {}
    with pytest.raises(TypeError, match="dataset 'demo'.*preprocessing_state"):
        save_state(tmp_path, "demo", {"bad": object()})
    (tmp_path / PREPROCESSING_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="preprocessing.json"):
        load_state(tmp_path)


# ------------------------------------------------------------------------------------- embed
def test_pretrain_saves_the_state_and_embed_reapplies_it(scaled, tmp_path):
    result = _pretrain(tmp_path)
    assert (result.run_dir / PREPROCESSING_TENSORS_FILE).exists()
    assert json.loads((result.run_dir / PREPROCESSING_FILE).read_text())["dataset"] == "scaled"
    raw = [[0.5, 230.0, -3.01], [-1.0, 150.0, -2.99]]
    out = selfsup.embed(result.run_dir, _rows(tmp_path / "new.txt", [[raw[0]], [raw[1]]]), out=tmp_path / "e.npy")
    source = ScaledBlobs(None)
    with torch.no_grad():
        expected = result.encoder({"x": (torch.tensor(raw) - source.mean) / source.std})
    assert out.layout == "input" and out.ids == ["set0", "set1"] and out.index is None
    np.testing.assert_allclose(out.vectors, expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "e.npy", allow_pickle=False), out.vectors)
    assert (tmp_path / "e.ids.csv").read_text() == "id\nset0\nset1\n"


def test_lazy_transform_paths_and_unit_rows(scaled, tmp_path):
    result = _pretrain(tmp_path, dataset="scaled-lazy")
    groups = [[[0.1, 200.0, -3.0], [0.2, 210.0, -3.0], [0.3, 190.0, -3.0]], [[1.0, 250.0, -2.9]]]
    out = selfsup.embed(result.run_dir, _rows(tmp_path / "sets.txt", groups), out=tmp_path / "e.parquet", batch_size=1)
    assert out.layout == "unit" and out.ids == ["set0", "set0", "set0", "set1"] and out.index == [0, 1, 2, 0]
    import pandas as pd

    frame = pd.read_parquet(tmp_path / "e.parquet")
    assert frame["index"].tolist() == [0, 1, 2, 0]
    np.testing.assert_allclose(np.stack(frame["embedding"].to_numpy()), out.vectors)


def test_a_dataset_without_transform_is_named(toy, tmp_path):
    result = selfsup.pretrain(modality="toy", run_dir=tmp_path / "run", evaluators=[], trainer=TRAINER)
    with pytest.raises(ConfigError, match=r"Dataset 'blobs' .* provides no input_transform"):
        selfsup.embed(result.run_dir, tmp_path)


def test_embed_checks_its_arguments_before_reading(scaled, tmp_path):
    result = _pretrain(tmp_path)
    with pytest.raises(ConfigError, match=".npy or .parquet"):
        selfsup.embed(result.run_dir, tmp_path, out=tmp_path / "e.csv")
    with pytest.raises(ConfigError, match="batch_size=0"):
        selfsup.embed(result.run_dir, tmp_path, batch_size=0)
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DatasetError, match="No inputs found"):
        selfsup.embed(result.run_dir, tmp_path / "empty.txt")
    with pytest.raises(CheckpointError, match="holds no config.yaml"):
        selfsup.embed(tmp_path / "nowhere", tmp_path)


def test_selfsup_embed_stays_callable_after_importing_the_module(scaled, tmp_path):
    import importlib

    module = importlib.import_module("selfsup.embed")
    result = _pretrain(tmp_path)
    rows = _rows(tmp_path / "one.txt", [[[0.0, 200.0, -3.0]]])
    assert callable(module)  # importing the module may rebind selfsup.embed to it: calling it calls embed()
    np.testing.assert_allclose(selfsup.embed(result.run_dir, rows).vectors, module.embed(result.run_dir, rows).vectors)


def test_ids_with_commas_are_quoted(tmp_path):
    out = selfsup.Embeddings(ids=['a,b', 'say "hi"'], vectors=np.zeros((2, 3), np.float32))
    out.save(tmp_path / "e.npy")
    import csv

    assert list(csv.reader((tmp_path / "e.ids.csv").open())) == [["id"], ["a,b"], ['say "hi"']]


def test_cli_embed_writes_and_reports_errors_in_one_line(scaled, tmp_path, capsys):
    result = _pretrain(tmp_path)
    rows = _rows(tmp_path / "new.txt", [[[0.0, 200.0, -3.0]], [[1.0, 260.0, -3.1]]])
    assert main(["embed", f"run_dir={result.run_dir}", f"data.root={rows}", f"out={tmp_path / 'e.npy'}"]) == 0
    assert "2 input(s), 2 embedding(s) per input, width 4" in capsys.readouterr().out
    assert main(["embed", f"data.root={rows}", "out=e.npy"]) == 2
    assert "needs run_dir=" in capsys.readouterr().err
    assert main(["embed", f"run_dir={result.run_dir}", f"data.root={rows}", "data.split=x", "out=e.npy"]) == 2
    err = capsys.readouterr().err
    assert "data.root" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------ export
def test_onnx_export_is_checked_against_the_encoder(scaled, tmp_path):
    import onnxruntime

    result = _pretrain(tmp_path)
    rows = _rows(tmp_path / "new.txt", [[[0.0, 200.0, -3.0]], [[1.0, 260.0, -3.1]], [[-2.0, 100.0, -3.0]]])
    target = export(result.run_dir, "onnx", inputs=rows)
    assert target == result.run_dir / "export-onnx"
    manifest = json.loads((target / "export.json").read_text())
    assert manifest["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["x_dim0", 3]}]
    assert manifest["max_abs_diff"] <= 1e-4 and "3 input(s)" in manifest["verified_on"]
    assert load_state(target)["columns"] == ["a", "b", "c"]  # the preprocessing travels with the export
    x = torch.randn(11, 3)
    got = onnxruntime.InferenceSession(str(target / "encoder.onnx")).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, result.encoder({"x": x}).numpy(), atol=1e-5)


def test_export_without_inputs_uses_the_runs_test_split(scaled, tmp_path):
    result = _pretrain(tmp_path)
    target = export(result.run_dir, "torchscript", out=tmp_path / "ts")
    assert json.loads((target / "export.json").read_text())["verified_on"] == "the run's test split (scaled)"
    x = ScaledBlobs(None).split("test")[0]["x"][None]
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(target / "encoder.pt"))(x), result.encoder({"x": x}), atol=1e-6, rtol=0)


def test_declared_formats_are_enforced_before_tracing(scaled, tmp_path):
    result = _pretrain(tmp_path, encoder="fixed")
    with pytest.raises(ExportError, match=r"cannot be exported to onnx: it is a test encoder.*Use format=safetensors"):
        export(result.run_dir, "onnx")
    rebuilt = load_safetensors_export(export(result.run_dir, "safetensors"))
    x = torch.randn(5, 3)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt({"x": x}), result.encoder({"x": x}), atol=0, rtol=0)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_trace_fixed_to_the_example_size_is_caught(scaled, tmp_path, fmt):
    result = _pretrain(tmp_path, encoder="size-baked")
    rows = _rows(tmp_path / "new.txt", [[[0.0, 200.0, -3.0]], [[1.0, 260.0, -3.1]], [[-2.0, 100.0, -3.0]], [[0.0, 1.0, 2.0]]])
    # ONNX: onnxruntime fails on (or differs at) the second batch size; TorchScript: the frozen graph fails there
    with pytest.raises(ExportError, match="specialised|could not be (exported|traced)|differs"):
        export(result.run_dir, fmt, inputs=rows)
    assert not (result.run_dir / f"export-{fmt}" / "export.json").exists()


def test_cli_export_and_its_errors(scaled, tmp_path, capsys):
    result = _pretrain(tmp_path)
    assert main(["export", f"run_dir={result.run_dir}", "format=safetensors", f"out={tmp_path / 'st'}"]) == 0
    assert "safetensors export of encoder mlp" in capsys.readouterr().out
    assert main(["export", f"run_dir={result.run_dir}", "format=tflite"]) == 2
    assert "format='tflite' is not one of onnx, torchscript, safetensors" in capsys.readouterr().err


def test_input_transform_is_documented_under_its_signature():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    assert "input_transform(config, state) -> InputTransform" in docs
    assert "preprocessing_state() -> dict[str, Any]" in docs
    assert isinstance(TextRows(None, {"mean": 0, "std": 1, "columns": []}), InputTransform)
