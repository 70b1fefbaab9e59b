"""``selfsup embed`` / ``export`` on timeseries runs: new series files get the run's channels,
length, length policy and z-normalisation, and the encoder leaves as ONNX / TorchScript."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import selfsup
from selfsup.embed import open_run
from selfsup.errors import DatasetError
from selfsup.export import export

TINY_ENCODER = {"n_block": 2, "base_filters": 8, "out_dim": 16}
TINY_TRAINER = {"max_steps": 3, "batch_size": 16, "progress": "off"}


def _pretrain(run_dir, **kwargs) -> selfsup.PretrainResult:
    return selfsup.pretrain(modality="timeseries", run_dir=run_dir, evaluators=[], encoder_config=TINY_ENCODER,
                            objective_config={"pretrain_steps": 2, "cwt_filters": 4}, trainer=TINY_TRAINER, **kwargs)


@pytest.fixture(scope="module")
def pulses_run(tmp_path_factory) -> selfsup.PretrainResult:
    """The embedded default (synthetic-pulses: no z-normalisation, length 64, refuse other lengths)."""
    data = {"train_size": 48, "test_size": 24, "length": 64}
    return _pretrain(tmp_path_factory.mktemp("pulses") / "run", data=data)


def _test_split(run: selfsup.PretrainResult) -> torch.Tensor:
    from selfsup.saved_run import resolve_saved_run

    resolved = resolve_saved_run(run.run_dir, {}, ())
    source = resolved.dataset.resolve_factory()(resolved.component_config("data"))
    split = source.split("test")
    return split.__getitems__(list(range(len(split))))["x"]


def _write_tsv(path, x: np.ndarray, labels) -> None:
    """UCR's .tsv layout: the label, then the values of one univariate series, tab-separated."""
    path.write_text("".join("\t".join([str(label), *(repr(float(v)) for v in row[0])]) + "\n" for label, row in zip(labels, x)))


def test_the_run_saves_what_its_source_applied(pulses_run):
    state = json.loads((pulses_run.run_dir / "preprocessing.json").read_text())["state"]
    assert state == {"num_channels": 1, "length": 64, "unequal_length": "refuse", "znorm": False}


def test_embedding_a_series_file_reproduces_the_encoder_on_the_runs_data(pulses_run, tmp_path):
    x = _test_split(pulses_run)
    _write_tsv(tmp_path / "pulses.tsv", x.numpy(), range(len(x)))
    out = selfsup.embed(pulses_run.run_dir, tmp_path / "pulses.tsv", batch_size=10)
    assert out.ids[:2] == ["pulses.tsv:0", "pulses.tsv:1"] and len(out.ids) == len(x)
    with torch.no_grad():
        expected = pulses_run.encoder.eval()({"x": x}).numpy()
    np.testing.assert_allclose(out.vectors, expected, atol=1e-5)


def test_a_folder_of_csv_windows_reads_each_row_and_drops_the_label_column(pulses_run, tmp_path):
    x = _test_split(pulses_run).numpy()[:5, 0]
    header = ",".join([f"t{i}" for i in range(64)] + ["label"])
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.csv").write_text(header + "\n" + "".join(",".join([*map(repr, map(float, r)), "a"]) + "\n" for r in x))
    (tmp_path / "nolabel.csv").write_text(",".join(f"t{i}" for i in range(64)) + "\n" + ",".join(map(repr, map(float, x[0]))) + "\n")
    out = selfsup.embed(pulses_run.run_dir, tmp_path)
    assert out.ids == ["nolabel.csv:0", *(f"sub/w.csv:{i}" for i in range(5))]
    np.testing.assert_allclose(out.vectors[0], out.vectors[1], atol=1e-6)  # the same series, with and without a label


def test_other_lengths_and_channels_are_named_errors(pulses_run, tmp_path):
    _, _, transform = open_run(pulses_run.run_dir)
    with pytest.raises(DatasetError, match=r"has 50 steps but the run was trained on 64 .*Resample"):
        transform.batch([np.zeros((1, 50))])
    with pytest.raises(DatasetError, match=r"trained on 1 channel"):
        transform.batch([np.zeros((2, 64))])
    with pytest.raises(DatasetError, match="does not exist"):
        transform.read(tmp_path / "missing")


def test_znorm_and_resample_policies_are_reapplied(tmp_path):
    """A run with ``data.unequal_length=resample`` and z-normalisation (as ``ucr``/``csv-windows``
    default to) maps a series and its affine, time-stretched copy to the same batch row."""
    from selfsup_timeseries.datasets.inputs import SeriesInputs

    transform = SeriesInputs(num_channels=1, length=64, unequal_length="resample", znorm=True)
    t = np.linspace(0, 1, 64)
    wave = np.sin(2 * np.pi * 3 * t)[None]
    stretched = 5.0 + 2.0 * np.sin(2 * np.pi * 3 * np.linspace(0, 1, 128))[None]
    batch, units = transform.batch([wave, stretched])
    assert units == [1, 1] and batch["x"].shape == (2, 1, 64)
    torch.testing.assert_close(batch["x"][0], batch["x"][1], atol=0.02, rtol=0)  # linear interpolation error
    # normalised before resampling (as in pretraining): the offset 5 and the scale 2 are gone
    assert abs(float(batch["x"][1].mean())) < 0.01 and float(batch["x"][1].std(unbiased=False)) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_the_frame_encoder_exports_within_1e_4_on_new_series(pulses_run, tmp_path, fmt):
    x = _test_split(pulses_run).numpy()
    _write_tsv(tmp_path / "a.tsv", x[:12], range(12))
    _write_tsv(tmp_path / "b.tsv", x[12:], range(12, len(x)))
    target = export(pulses_run.run_dir, fmt, out=tmp_path / fmt, inputs=tmp_path / "a.tsv")
    manifest = json.loads((target / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4
    _, encoder, transform = open_run(pulses_run.run_dir)
    batch, _ = transform.batch([s for _, s in transform.read(tmp_path / "b.tsv")])
    with torch.no_grad():
        expected = encoder(batch).numpy()
    if fmt == "onnx":
        import onnxruntime

        got = onnxruntime.InferenceSession(str(target / "encoder.onnx")).run(None, {"x": batch["x"].numpy()})[0]
    else:
        with torch.no_grad():
            got = torch.jit.load(str(target / "encoder.pt"))(batch["x"]).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
