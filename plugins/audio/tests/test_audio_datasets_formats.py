"""Loaders on small real-format trees: WAV + FLAC folders, CSV labels, ESC-50, Speech Commands v2,
and unreadable files (truncated WAV, text named .wav) skipped, warned about and counted."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from selfsup.errors import ConfigError, DatasetError
from selfsup.testing import DatasetContract
from selfsup_audio.configs import AudioFolderConfig, ESC50Config, SpeechCommandsConfig
from selfsup_audio.datasets.esc50 import ESC50
from selfsup_audio.datasets.folder import AudioFolder
from selfsup_audio.datasets.io import AudioReadError, read_audio
from selfsup_audio.datasets.speech_commands import SpeechCommands
from selfsup_audio_fixtures import (
    esc50_tree,
    speech_commands_tree,
    tone,
    write_fake_wav,
    write_flac,
    write_truncated_wav,
    write_wav,
)


def _mixed_folder(root, per_class=4):
    """``hum/`` (200 Hz) and ``beep/`` (2 kHz): even-numbered clips WAV, odd-numbered FLAC."""
    for name, freq in (("hum", 200.0), ("beep", 2000.0)):
        for i in range(per_class):
            samples = tone(freq * (1 + 0.03 * i), 0.4, 8000)
            writer = write_wav if i % 2 == 0 else write_flac
            writer(root / name / f"{i}.{'wav' if i % 2 == 0 else 'flac'}", samples, 8000)
    return root


def test_flac_and_wav_decode_to_the_same_samples(tmp_path):
    samples = tone(440.0, 0.25, 16000)
    wav, wav_rate = read_audio(write_wav(tmp_path / "a.wav", samples, 16000))
    flac, flac_rate = read_audio(write_flac(tmp_path / "a.flac", samples, 16000))
    assert wav_rate == flac_rate == 16000 and wav.shape == flac.shape == (4000,)
    assert torch.equal(wav, flac)
    assert torch.allclose(wav, torch.from_numpy(samples.astype(np.float32) / 32768.0))


def test_truncated_wav_is_an_audio_read_error(tmp_path):
    with pytest.raises(AudioReadError, match="truncated"):
        read_audio(write_truncated_wav(tmp_path / "cut.wav"))
    with pytest.raises(AudioReadError, match="not readable audio"):
        read_audio(write_fake_wav(tmp_path / "text.wav"))
    with pytest.raises(AudioReadError, match="not found"):
        read_audio(tmp_path / "missing.flac")


def test_audio_folder_reads_wav_and_flac_from_class_folders(tmp_path):
    root = _mixed_folder(tmp_path)
    data = AudioFolder(AudioFolderConfig(root=str(root), test_fraction=0.25, val_fraction=0.0))
    assert data.info["classes"] == ["beep", "hum"] and data.info["num_clips"] == 8
    assert data.info["skipped"] == 0 and data.info["labels"] == "sub-folders"
    assert data.info["split_sizes"] == {"train": 6, "test": 2}
    items = data.split("train").__getitems__(list(range(6)))
    assert items["x"].shape == (6, 128, 128)
    # 0.4 s at 10 ms shift -> 38 frames, the rest padding (zeros before normalisation).
    assert (items["num_frames"] == 38).all()


def test_audio_folder_skips_and_counts_a_truncated_wav(tmp_path):
    root = _mixed_folder(tmp_path)
    write_truncated_wav(root / "hum" / "cut.wav")
    write_fake_wav(root / "beep" / "notes.wav")
    with pytest.warns(UserWarning, match="Skipped 2 unreadable audio file"):
        data = AudioFolder(AudioFolderConfig(root=str(root), test_fraction=0.25, val_fraction=0.0))
    assert data.info["skipped"] == 2 and data.info["files_found"] == 10 and data.info["num_clips"] == 8
    reasons = " ".join(data.info["skipped_reasons"])
    assert "cut.wav" in reasons and "truncated" in reasons and "notes.wav" in reasons


def test_audio_folder_labels_from_a_csv_with_fixed_splits(tmp_path):
    root = _mixed_folder(tmp_path)
    rows = ["file,label,split"]
    for name in ("hum", "beep"):
        for i in range(4):
            suffix = "wav" if i % 2 == 0 else "flac"
            rows.append(f"{name}/{i}.{suffix},{name.upper()},{('train', 'train', 'val', 'test')[i]}")
    rows.append("hum/gone.wav,HUM,train")  # listed but missing: skipped and counted
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match="Skipped 1"):
        data = AudioFolder(AudioFolderConfig(root=str(root), labels_csv="labels.csv"))
    assert data.info["classes"] == ["BEEP", "HUM"] and data.info["labels"] == "csv"
    assert data.info["split_sizes"] == {"train": 4, "val": 2, "test": 2}
    assert data.info["skipped"] == 1 and "gone.wav" in data.info["skipped_reasons"][0]
    test = data.split("test").__getitems__([0, 1])
    assert sorted(test["label"].tolist()) == [0, 1]


def test_audio_folder_csv_without_splits_is_seeded(tmp_path):
    root = _mixed_folder(tmp_path, per_class=6)
    rows = ["file,label"] + [
        f"{name}/{i}.{'wav' if i % 2 == 0 else 'flac'},{name}" for name in ("hum", "beep") for i in range(6)
    ]
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    config = dict(root=str(root), labels_csv=str(root / "labels.csv"), test_fraction=0.34, val_fraction=0.25)
    a, b = AudioFolder(AudioFolderConfig(**config)), AudioFolder(AudioFolderConfig(**config))
    assert a.info["split_sizes"] == {"train": 6, "val": 2, "test": 4}
    assert torch.equal(a.split("test").index, b.split("test").index)
    c = AudioFolder(AudioFolderConfig(**{**config, "split_seed": 5}))
    assert not torch.equal(a.split("test").index, c.split("test").index)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,class\nhum/0.wav,hum\n", "needs a header with 'file' and 'label'"),
        ("file,label\n", "no rows"),
        ("file,label,split\nhum/0.wav,hum,holdout\n", "is not one of"),
    ],
)
def test_audio_folder_rejects_a_bad_csv(tmp_path, text, message):
    root = _mixed_folder(tmp_path)
    (root / "labels.csv").write_text(text)
    with pytest.raises(DatasetError, match=message):
        AudioFolder(AudioFolderConfig(root=str(root), labels_csv="labels.csv"))


def test_esc50_folds_become_the_splits(tmp_path):
    root = esc50_tree(tmp_path)
    data = ESC50(ESC50Config(root=str(root), fold=2, val_fold=3))
    assert data.info["classes"] == ["dog", "rain", "siren"] and data.info["num_clips"] == 15
    assert data.info["split_sizes"] == {"train": 9, "val": 3, "test": 3}
    for split, folds in (("test", {2}), ("val", {3}), ("train", {1, 4, 5})):
        part = data.split(split)
        items = part.__getitems__(list(range(len(part))))
        assert set(items["fold"].tolist()) == folds
    test = data.split("test").__getitems__([0, 1, 2])
    assert test["x"].shape == (3, 512, 128) and sorted(test["label"].tolist()) == [0, 1, 2]
    # 0.5 s at 44.1 kHz, resampled to 16 kHz: 48 frames of 25 ms every 10 ms.
    assert (test["num_frames"] == 48).all()


def test_esc50_seeded_validation_and_esc10(tmp_path):
    root = esc50_tree(tmp_path)
    data = ESC50(ESC50Config(root=str(root), fold=1, val_fraction=0.25, target_length=64))
    assert data.info["split_sizes"] == {"train": 9, "val": 3, "test": 3}
    val = data.split("val").__getitems__([0, 1, 2])
    assert sorted(val["label"].tolist()) == [0, 1, 2] and 1 not in val["fold"].tolist()
    esc10 = ESC50(ESC50Config(root=str(root), fold=1, esc10=True, val_fold=2, target_length=64))
    assert esc10.info["classes"] == ["dog"] and esc10.info["num_clips"] == 5


def test_esc50_bad_settings_and_missing_meta(tmp_path):
    root = esc50_tree(tmp_path, folds=2)
    with pytest.raises(ConfigError, match="data.fold=5"):
        ESC50(ESC50Config(root=str(root), fold=5))
    with pytest.raises(ConfigError, match="data.val_fold=1"):
        ESC50(ESC50Config(root=str(root), fold=1, val_fold=1))
    with pytest.raises(DatasetError, match="meta/esc50.csv"):
        ESC50(ESC50Config(root=str(tmp_path / "nowhere")))


def test_speech_commands_uses_the_lists_and_ignores_background_noise(tmp_path):
    root = speech_commands_tree(tmp_path, words=("no", "up", "yes"), per_word=4)
    data = SpeechCommands(SpeechCommandsConfig(root=str(root)))
    assert data.info["classes"] == ["no", "up", "yes"] and data.info["num_clips"] == 12
    assert data.info["split_sizes"] == {"train": 6, "val": 3, "test": 3}
    listed = set((root / "testing_list.txt").read_text().split())
    test = data.split("test")
    assert sorted(test.__getitems__([0, 1, 2])["label"].tolist()) == [0, 1, 2]
    assert len(listed) == 3 and data.info["skipped"] == 0
    assert (data.split("train").__getitems__(list(range(6)))["num_frames"] == 98).all()


def test_speech_commands_needs_the_split_lists(tmp_path):
    root = speech_commands_tree(tmp_path)
    (root / "testing_list.txt").unlink()
    with pytest.raises(DatasetError, match="testing_list.txt"):
        SpeechCommands(SpeechCommandsConfig(root=str(root)))


def test_a_run_records_the_skipped_count(tmp_path):
    from selfsup import pretrain

    root = _mixed_folder(tmp_path / "audio", per_class=6)
    write_truncated_wav(root / "hum" / "cut.wav")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pretrain(
            modality="audio", dataset="audio-folder", run_dir=tmp_path / "run", evaluators=["linear-probe"],
            data={"root": str(root), "test_fraction": 0.34, "val_fraction": 0.25},
            encoder_config={"embed_dim": 32, "depth": 1, "num_heads": 2},
            trainer={"max_steps": 2, "batch_size": 4, "progress": "off"},
        )
    assert any("Skipped 1 unreadable" in str(w.message) for w in caught)
    info = json.loads((result.run_dir / "data_info.json").read_text())
    assert info["skipped"] == 1 and info["files_found"] == 13 and "cut.wav" in info["skipped_reasons"][0]


class TestESC50Contract(DatasetContract):
    modality = "audio"
    dataset = "esc50"

    @pytest.fixture(autouse=True)
    def _tree(self, tmp_path):
        self.dataset_config = {"root": str(esc50_tree(tmp_path, folds=3, classes=2)), "target_length": 64}


class TestSpeechCommandsContract(DatasetContract):
    modality = "audio"
    dataset = "speech-commands"

    @pytest.fixture(autouse=True)
    def _tree(self, tmp_path):
        self.dataset_config = {"root": str(speech_commands_tree(tmp_path))}


def test_disk_cache_skips_decoding_and_notices_changed_files(tmp_path, monkeypatch):
    from selfsup_audio.datasets import source

    root = _mixed_folder(tmp_path / "audio")
    config = dict(root=str(root), test_fraction=0.25, val_fraction=0.0, cache_dir=str(tmp_path / "cache"))
    first = AudioFolder(AudioFolderConfig(**config))
    assert len(list((tmp_path / "cache").glob("audio-features-*.pt"))) == 1
    source._CACHE.clear()

    def no_decoding(path):
        raise AssertionError(f"decoded {path} although the features are cached on disk")

    with monkeypatch.context() as patch:
        patch.setattr(source, "read_audio", no_decoding)
        second = AudioFolder(AudioFolderConfig(**config))
    assert torch.equal(first.split("train")[0]["x"], second.split("train")[0]["x"])
    source._CACHE.clear()
    write_wav(root / "hum" / "0.wav", tone(300.0, 0.4, 8000), 8000)  # new content, new size/mtime
    AudioFolder(AudioFolderConfig(**config))
    assert len(list((tmp_path / "cache").glob("audio-features-*.pt"))) == 2
