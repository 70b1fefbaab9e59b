"""``selfsup embed`` / ``export`` on vision runs: new image files get the run's channels and size."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import selfsup
from selfsup.errors import DatasetError
from selfsup.export import export, load_safetensors_export

TINY_D = {"channels": 16, "blocks": 2, "downsample_blocks": 2}
TINY_GAN = {"dim_z": 8, "g_channels": 8, "d_steps": 2, "sample_every": 0}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vision")
    result = selfsup.pretrain(
        modality="vision", run_dir=folder / "run", evaluators=[], encoder_config=TINY_D, objective_config=TINY_GAN,
        trainer={"max_steps": 2, "batch_size": 16, "progress": "off", "log_every": 1},
    )
    return result


@pytest.fixture(scope="module")
def test_images(run, tmp_path_factory):
    """The run's own test images (digits, uint8 16x16 gray) written as PNG files, and their batch."""
    from selfsup_vision.datasets.digits import Digits
    from selfsup_vision.configs import DigitsConfig

    split = Digits(DigitsConfig(**run.config["data"])).split("test")
    folder = tmp_path_factory.mktemp("pngs")
    for i in range(12):
        Image.fromarray(split.images[i, 0].numpy()).save(folder / f"{i:03d}.png")
    return folder, split.__getitems__(list(range(12)))


def test_saved_state_is_the_images_channels_and_size(run):
    state = json.loads((run.run_dir / "preprocessing.json").read_text())["state"]
    assert state == {"channels": 1, "height": 16, "width": 16}


def test_embedding_png_files_reproduces_the_runs_test_images(run, test_images, tmp_path):
    folder, batch = test_images
    out = selfsup.embed(run.run_dir, folder, out=tmp_path / "e.parquet", batch_size=5)
    with torch.no_grad():
        expected = run.encoder({"x": batch["x"]})
    assert out.ids == [f"{i:03d}.png" for i in range(12)]
    np.testing.assert_allclose(out.vectors, expected.numpy(), atol=1e-6)


def test_colour_alpha_and_other_sizes_are_converted_as_in_training(run, tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "a_gray.png")
    Image.fromarray(np.stack([gray] * 3, -1)).save(tmp_path / "b_rgb.png")  # gray content in RGB: same luma
    Image.fromarray(np.dstack([gray, gray, gray, np.full_like(gray, 90)])).save(tmp_path / "c_rgba.png")
    Image.fromarray(np.full((40, 28, 3), 200, np.uint8)).save(tmp_path / "d_big.png")  # resized: still uniform 200
    Image.fromarray(np.full((16, 16), 200, np.uint8)).save(tmp_path / "e_flat.png")
    out = selfsup.embed(run.run_dir, tmp_path)
    vectors = dict(zip(out.ids, out.vectors))
    np.testing.assert_allclose(vectors["b_rgb.png"], vectors["a_gray.png"], atol=1e-6)
    np.testing.assert_allclose(vectors["c_rgba.png"], vectors["a_gray.png"], atol=1e-6)
    np.testing.assert_allclose(vectors["d_big.png"], vectors["e_flat.png"], atol=1e-5)
    assert np.abs(vectors["a_gray.png"] - vectors["e_flat.png"]).max() > 1e-4


def test_an_undecodable_file_is_named(run, tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="broken.png"):
        selfsup.embed(run.run_dir, tmp_path)


def test_onnx_export_matches_the_encoder_on_real_images(run, test_images, tmp_path):
    import onnxruntime

    folder, batch = test_images
    target = export(run.run_dir, "onnx", out=tmp_path / "onnx", inputs=folder)
    manifest = json.loads((target / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["inputs"][0]["shape"][1:] == [1, 16, 16]
    session = onnxruntime.InferenceSession(str(target / "encoder.onnx"))
    got = session.run(None, {"x": batch["x"][:9].numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, run.encoder({"x": batch["x"][:9]}).numpy(), atol=1e-4)


def test_torchscript_and_safetensors_exports_reload(run, test_images, tmp_path):
    folder, batch = test_images
    with torch.no_grad():
        expected = run.encoder({"x": batch["x"][:3]})
        scripted = torch.jit.load(str(export(run.run_dir, "torchscript", out=tmp_path / "ts", inputs=folder) / "encoder.pt"))
        torch.testing.assert_close(scripted(batch["x"][:3]), expected, atol=1e-5, rtol=0)
        rebuilt = load_safetensors_export(export(run.run_dir, "safetensors", out=tmp_path / "st"))
        torch.testing.assert_close(rebuilt({"x": batch["x"][:3]}), expected, atol=0, rtol=0)
