"""Progress inside the plugins' long loops (data preparation, long evaluations), through
``selfsup.progress``: plain lines under a run's settings, silent outside a run.

Each loop is run on a few real inputs under ``ProgressSettings(mode="plain", interval=0)`` (a
line at every update) and must report its stage name, the count done of the total, and the
unit; the same call outside ``use_progress`` prints nothing.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from selfsup.progress import ProgressSettings, use_progress


def _lines(call) -> list[str]:
    stream = io.StringIO()
    with use_progress(ProgressSettings(mode="plain", interval=0, stream=stream)):
        call()
    return stream.getvalue().splitlines()


def test_audio_fbank_extraction_reports_clips(capsys):
    features = pytest.importorskip("selfsup_audio.datasets.features")
    t = torch.arange(16000) / 16000
    clips = [torch.sin(2 * math.pi * f * t[: 4000 * (i + 1)]) for i, f in enumerate((220.0, 440.0, 880.0))]

    def run() -> None:
        fbank, frames = features.clip_features(clips, [16000] * 3, num_mel_bins=32, target_length=48, chunk_samples=8000)
        assert fbank.shape == (3, 48, 32) and frames.tolist() == [23, 48, 73]

    lines = _lines(run)
    assert lines[0].startswith("data: fbank features: 0/3 clips")  # chunks of about 8000 samples: 1 + 1 + 1 clips
    assert [line.split()[3] for line in lines[1:]] == ["1/3", "2/3", "3/3"]
    run()
    assert capsys.readouterr().err == ""  # outside a run: silent


def test_point_cloud_reading_and_featurisation_report_files_and_clouds(tmp_path):
    pytest.importorskip("selfsup_pointcloud")
    from selfsup_pointcloud.configs import PointFilesConfig
    from selfsup_pointcloud.datasets.files import PointFiles

    rng = np.random.default_rng(0)
    for name in ("a", "b"):  # uncoloured clouds on a unit sphere: normals are estimated
        points = rng.normal(size=(400, 3))
        np.savetxt(tmp_path / f"{name}.xyz", points / np.linalg.norm(points, axis=1, keepdims=True), fmt="%.6f")
    lines = _lines(lambda: PointFiles(PointFilesConfig(root=str(tmp_path), grid_size=0.05)))
    assert [line.split(":")[1].strip() for line in lines if line.startswith("data:")] == [
        "reading point clouds", "reading point clouds", "reading point clouds",
        "featurising train clouds", "featurising train clouds", "featurising train clouds",
    ]
    assert "2/2 files (100%)" in lines[2] and "2/2 clouds (100%)" in lines[5]


def test_molecule_csv_featurisation_reports_molecules(tmp_path):
    pytest.importorskip("selfsup_graph")
    from selfsup_graph.datasets.molecule_csv import read_molecule_csv

    (tmp_path / "m.csv").write_text("smiles,y\nCCO,1\nCCN,0\nc1ccccc1,1\n")
    lines = _lines(lambda: read_molecule_csv(tmp_path / "m.csv"))
    assert lines[0].startswith("data: featurising m molecules: 0 molecules ")
    assert [line.split()[4] for line in lines[1:]] == ["1", "2", "3"]


def test_image_feature_extraction_for_fid_reports_batches():
    pytest.importorskip("selfsup_vision")
    from selfsup_vision.evaluation.evaluators import _features

    images = torch.linspace(-1, 1, 10 * 3 * 4 * 4).reshape(10, 3, 4, 4)
    out: list[torch.Tensor] = []
    lines = _lines(lambda: out.append(_features(lambda x: x.flatten(1)[:, :2], images, 4, torch.device("cpu"))))
    torch.testing.assert_close(out[0], images.flatten(1)[:, :2])
    assert [line.split(": ")[:2] for line in lines] == [["evaluate", "image features"]] * 4
    assert [line.split(": ")[2].split()[0] for line in lines] == ["0/3", "1/3", "2/3", "3/3"]
