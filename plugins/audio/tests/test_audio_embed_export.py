"""``selfsup embed`` / ``export`` on audio runs: new clips get the run's fbank settings and statistics."""

from __future__ import annotations

import json
import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

import selfsup
from selfsup.errors import DatasetError
from selfsup.export import export, load_safetensors_export

DATA = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
FSDD = DATA / "fsdd" / "recordings"
FEATURES = {"num_mel_bins": 64, "target_length": 64, "norm": "train"}
TRAINER = {"max_steps": 2, "batch_size": 8, "progress": "off", "log_every": 1}


def _write_wav(path: Path, signal: np.ndarray, rate: int, channels: int = 1) -> None:
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(pcm[:, None], channels, 1).tobytes())


def _clip(freq: float, seconds: float, rate: int, seed: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.05, t.size)
    return 0.4 * np.sin(2 * np.pi * freq * t) * np.exp(-1.5 * t) + noise


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Two classes of 8 kHz tones (different lengths and noise), one sub-folder each."""
    root = tmp_path_factory.mktemp("clips")
    for label, freq in (("low", 300.0), ("high", 1200.0)):
        (root / label).mkdir()
        for i in range(8):
            _write_wav(root / label / f"{label}_{i}.wav", _clip(freq * (1 + 0.03 * i), 0.4 + 0.05 * i, 8000, i), 8000)
    return root


def _run(folder: Path, clips: Path, encoder: str, encoder_config: dict) -> selfsup.PretrainResult:
    return selfsup.pretrain(
        modality="audio", dataset="audio-folder", encoder=encoder, objective="ssast" if encoder == "ast" else "ssamba",
        run_dir=folder / "run", evaluators=[], data={"root": str(clips), **FEATURES},
        encoder_config=encoder_config, trainer=TRAINER,
    )


@pytest.fixture(scope="module")
def ast_run(tmp_path_factory, clips):
    return _run(tmp_path_factory.mktemp("ast"), clips, "ast", {"embed_dim": 32, "depth": 1, "num_heads": 2})


def test_the_run_saves_its_feature_settings_and_train_statistics(ast_run):
    state = json.loads((ast_run.run_dir / "preprocessing.json").read_text())["state"]
    info = json.loads((ast_run.run_dir / "data_info.json").read_text())
    assert (state["sample_rate"], state["num_mel_bins"], state["target_length"]) == (16000, 64, 64)
    assert state["norm_mean"] == info["norm_mean"] and state["norm_std"] == info["norm_std"]
    assert state["norm_mean"] != pytest.approx(-4.2677393)  # the train statistics, not the AudioSet constants


def test_embedding_the_clips_reproduces_the_runs_own_features(ast_run, clips):
    from selfsup_audio.configs import AudioFolderConfig
    from selfsup_audio.datasets.folder import AudioFolder

    out = selfsup.embed(ast_run.run_dir, clips, batch_size=6)
    assert out.ids[:2] == ["high/high_0.wav", "high/high_1.wav"] and len(out.ids) == 16
    source = AudioFolder(AudioFolderConfig(**ast_run.config["data"]))
    rows = torch.cat([source.split(name).__getitems__(list(range(len(source.split(name)))))["x"] for name in source.splits])
    with torch.no_grad():
        expected = ast_run.encoder({"x": rows}).numpy()
    # every embedded file is one of the dataset's clips, featurised identically (resampled 8 -> 16 kHz, normalised)
    distances = np.abs(out.vectors[:, None, :] - expected[None, :, :]).max(-1).min(1)
    assert distances.max() < 1e-5
    assert len({tuple(np.round(v, 4)) for v in out.vectors}) == 16


def test_stereo_and_other_rates_are_read_as_in_training(ast_run, tmp_path):
    mono = _clip(500.0, 0.6, 16000, 0)
    _write_wav(tmp_path / "mono.wav", mono, 16000)
    _write_wav(tmp_path / "stereo.wav", mono, 16000, channels=2)  # the first channel is used
    out = selfsup.embed(ast_run.run_dir, tmp_path)
    np.testing.assert_allclose(out.vectors[0], out.vectors[1], atol=1e-6)
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(DatasetError, match="bad.wav"):
        selfsup.embed(ast_run.run_dir, tmp_path)


def test_ast_goes_to_onnx_within_1e_4_on_real_clips(ast_run, clips, tmp_path):
    import onnxruntime

    target = export(ast_run.run_dir, "onnx", out=tmp_path / "onnx", inputs=clips / "low")
    manifest = json.loads((target / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["inputs"][0]["shape"][1:] == [64, 64]
    from selfsup.embed import open_run

    _, encoder, transform = open_run(ast_run.run_dir)
    batch, _ = transform.batch([path for _, path in transform.read(clips / "high")][:5])
    got = onnxruntime.InferenceSession(str(target / "encoder.onnx")).run(None, {"x": batch["x"].numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, encoder(batch).numpy(), atol=1e-4)


def test_amba_exports_to_onnx_torchscript_and_safetensors(tmp_path, clips):
    """The traced formats run the reference scan (``AMBAEncoder.traceable``); checked here with
    onnxruntime and TorchScript on clips neither export was traced or checked on, against the
    eager encoder's own scan (the fused C kernel, or the chunked scan without a compiler)."""
    import onnxruntime

    run = _run(tmp_path, clips, "amba", {"embed_dim": 16, "depth": 2})
    from selfsup.embed import open_run

    _, encoder, transform = open_run(run.run_dir)
    batch, _ = transform.batch([path for _, path in transform.read(clips / "high")][:3])
    with torch.no_grad():
        expected = encoder(batch).numpy()
    onnx_dir = export(run.run_dir, "onnx", out=tmp_path / "onnx", inputs=clips / "low")
    manifest = json.loads((onnx_dir / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["inputs"][0]["shape"][1:] == [64, 64]
    got = onnxruntime.InferenceSession(str(onnx_dir / "encoder.onnx")).run(None, {"x": batch["x"].numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)
    script = torch.jit.load(str(export(run.run_dir, "torchscript", out=tmp_path / "ts", inputs=clips / "low") / "encoder.pt"))
    with torch.no_grad():
        np.testing.assert_allclose(script(batch["x"]).numpy(), expected, atol=1e-4)
    target = export(run.run_dir, "safetensors", inputs=clips / "low")
    with torch.no_grad():
        torch.testing.assert_close(load_safetensors_export(target)(batch), encoder(batch), atol=0, rtol=0)


@pytest.mark.skipif(not FSDD.is_dir(), reason="FSDD not found (set SELFSUP_DATA)")
def test_ast_onnx_export_on_spoken_digits(ast_run, tmp_path):
    """Real 8 kHz recordings (FSDD), resampled and featurised with the run's settings."""
    for path in sorted(FSDD.glob("*_jackson_0.wav"))[:6]:
        shutil.copy(path, tmp_path / path.name)
    out = selfsup.embed(ast_run.run_dir, tmp_path)
    assert out.ids == [f"{d}_jackson_0.wav" for d in range(6)]
    manifest = json.loads((export(ast_run.run_dir, "onnx", out=tmp_path / "onnx", inputs=tmp_path) / "export.json").read_text())
    assert manifest["max_abs_diff"] <= 1e-4 and manifest["verified_on"].startswith("6 input(s)")
