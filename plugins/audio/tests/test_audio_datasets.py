"""Loaders: FSDD (official and held-out-speaker splits), audio folders, the synthetic default."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import torch

from selfsup.errors import ConfigError, DatasetError
from selfsup.testing import DatasetContract
from selfsup_audio.configs import AudioFolderConfig, FSDDConfig, SyntheticSoundsConfig
from selfsup_audio.datasets.folder import AudioFolder
from selfsup_audio.datasets.fsdd import FSDD
from selfsup_audio.datasets.synthetic import SyntheticSounds

from selfsup_audio_fixtures import DATA, needs_fsdd


@needs_fsdd
def test_fsdd_official_split():
    data = FSDD(FSDDConfig(root=str(DATA / "fsdd")))
    info = data.info
    assert info["num_clips"] == 3000 and info["num_classes"] == 10 and len(info["speakers"]) == 6
    assert info["split_sizes"] == {"train": 2430, "val": 270, "test": 300}
    assert info["skipped"] == 0
    test = data.split("test").__getitems__(list(range(300)))
    assert test["x"].shape == (300, 128, 128) and test["x"].dtype == torch.float32
    assert torch.bincount(test["label"], minlength=10).tolist() == [30] * 10
    train_val = torch.cat([data.split(s).index for s in ("train", "val")])
    assert len(set(train_val.tolist()) | set(data.split("test").index.tolist())) == 3000


@needs_fsdd
def test_fsdd_held_out_speaker_split():
    data = FSDD(FSDDConfig(root=str(DATA / "fsdd"), split="speaker", held_out_speaker="theo"))
    assert data.info["split_sizes"] == {"train": 2250, "val": 250, "test": 500}
    theo = data.info["speakers"].index("theo")
    test = data.split("test").__getitems__(list(range(500)))
    assert (test["speaker"] == theo).all()
    train = data.split("train").__getitems__(list(range(len(data.split("train")))))
    assert not (train["speaker"] == theo).any()
    with pytest.raises(ConfigError, match="held_out_speaker"):
        FSDD(FSDDConfig(root=str(DATA / "fsdd"), split="speaker", held_out_speaker="nobody"))


@needs_fsdd
def test_fsdd_validation_split_is_seeded():
    a = FSDD(FSDDConfig(root=str(DATA / "fsdd"), split_seed=1)).split("val").index
    b = FSDD(FSDDConfig(root=str(DATA / "fsdd"), split_seed=1)).split("val").index
    c = FSDD(FSDDConfig(root=str(DATA / "fsdd"), split_seed=2)).split("val").index
    assert torch.equal(a, b) and not torch.equal(a, c)


def _write_wav(path, seconds=0.3, rate=8000, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())


def _folder(tmp_path):
    for c, freq in (("hum", 200.0), ("beep", 2000.0)):
        (tmp_path / c).mkdir()
        for i in range(6):
            _write_wav(tmp_path / c / f"{i}.wav", freq=freq * (1 + 0.05 * i))
    (tmp_path / "beep" / "broken.wav").write_bytes(b"RIFF\x00\x00not a wav at all")
    return tmp_path


def test_audio_folder_skips_and_counts_corrupt_files(tmp_path):
    root = _folder(tmp_path)
    with pytest.warns(UserWarning, match="Skipped 1 unreadable"):
        data = AudioFolder(AudioFolderConfig(root=str(root), test_fraction=0.34, val_fraction=0.25))
    assert data.info["skipped"] == 1 and "broken.wav" in data.info["skipped_reasons"][0]
    assert data.info["classes"] == ["beep", "hum"] and data.info["num_clips"] == 12
    assert sum(data.info["split_sizes"].values()) == 12


def test_audio_folder_with_train_and_test_folders(tmp_path):
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(3):
                _write_wav(tmp_path / split / c / f"{i}.wav")
    data = AudioFolder(AudioFolderConfig(root=str(tmp_path), val_fraction=0.0))
    assert data.info["split_sizes"] == {"train": 6, "test": 6}
    assert data.splits == ("train", "test")


def test_synthetic_sounds_are_seeded_and_balanced():
    cfg = SyntheticSoundsConfig(train_per_class=4, val_per_class=1, test_per_class=2, seed=3)
    a, b = SyntheticSounds(cfg), SyntheticSounds(SyntheticSoundsConfig(**{**cfg.__dict__, "seed": 4}))
    assert a.info["split_sizes"] == {"train": 32, "val": 8, "test": 16}
    assert torch.bincount(a.split("train").__getitems__(list(range(32)))["label"]).tolist() == [4] * 8
    assert not torch.equal(a.split("train")[0]["x"], b.split("train")[0]["x"])
    again = SyntheticSounds(SyntheticSoundsConfig(**cfg.__dict__))
    assert torch.equal(a.split("test")[1]["x"], again.split("test")[1]["x"])


@pytest.mark.parametrize(
    ("name", "where"),
    [("fsdd", "free-spoken-digit-dataset"), ("esc50", "ESC-50"), ("speech-commands", "speech_commands_v0.02")],
)
def test_file_datasets_without_root_are_a_named_error_wherever_the_repository_sits(name, where, monkeypatch, tmp_path):
    """No fallback to SELFSUP_DATA or <repo>/../shared/data: the run's data is what data.root says."""
    from selfsup.registry import get_registry

    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)  # a tempting development folder
    monkeypatch.setenv("SELFSUP_DATA", str(tmp_path))
    spec = get_registry().get("dataset", name, modality="audio")
    with pytest.raises(DatasetError, match=rf"data.root is not set: dataset '{name}' reads local files .*{where}.*set data.root="):
        spec.resolve_factory()(spec.default_config())


class TestSyntheticSoundsContract(DatasetContract):
    modality = "audio"
    dataset = "synthetic-sounds"
    dataset_config = {"train_per_class": 4, "val_per_class": 1, "test_per_class": 2}


@needs_fsdd
class TestFSDDContract(DatasetContract):
    modality = "audio"
    dataset = "fsdd"
    dataset_config = {"root": str(DATA / "fsdd"), "max_clips": 200}


def test_the_raw_feature_baseline_is_the_fbank_mean_and_std_over_real_frames():
    """The audio raw-feature column: per mel bin, mean and population std over the clip's own
    frames only (padding left out). Hand-computed: bin 0 frames (1, 3) -> mean 2, std 1; bin 1
    (2, 6) -> 4, 2; the padded third frame (9, 9) must not count."""
    from selfsup.tasks import RawFeatureSource
    from selfsup_audio.datasets.raw import FbankStats

    x = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [9.0, 9.0]], [[1.0, 1.0], [1.0, 1.0], [4.0, 1.0]]])
    out = FbankStats(2)({"x": x, "num_frames": torch.tensor([2, 3])})
    assert torch.allclose(out[0], torch.tensor([2.0, 4.0, 1.0, 2.0]))
    assert torch.allclose(out[1], torch.tensor([2.0, 1.0, 2.0**0.5, 0.0]))
    data = SyntheticSounds(SyntheticSoundsConfig(train_per_class=2, val_per_class=1, test_per_class=1))
    assert isinstance(data, RawFeatureSource)
    baseline = data.raw_feature_encoder()
    batch = data.split("train").__getitems__([0, 1])
    assert baseline.embed_dim == 2 * data.info["num_mel_bins"] == baseline(batch).shape[1]
