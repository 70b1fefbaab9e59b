"""``selfsup audio-stats``: dataset fbank statistics stored as JSON and read back through ``data.norm_file``."""

from __future__ import annotations

import json

import pytest

from selfsup.errors import ConfigError
from selfsup_audio.configs import AUDIOSET_MEAN, AUDIOSET_STD, AudioFolderConfig, ESC50Config
from selfsup_audio.datasets.esc50 import ESC50
from selfsup_audio.datasets.folder import AudioFolder
from selfsup_audio.stats import compute_stats, main
from selfsup_audio_fixtures import esc50_tree, tone, write_wav


def _folder(root):
    for name, freq in (("low", 150.0), ("high", 3000.0)):
        for i in range(5):
            write_wav(root / name / f"{i}.wav", tone(freq * (1 + 0.02 * i), 0.3 + 0.1 * i, 16000), 16000)
    return root


def _all(part):
    return part.__getitems__(list(range(len(part))))["x"]


def test_stats_are_the_train_split_moments_of_the_raw_fbank(tmp_path):
    root = _folder(tmp_path / "audio")
    stats = compute_stats("audio-folder", {"root": str(root), "test_fraction": 0.2, "target_length": 64})
    raw = AudioFolder(AudioFolderConfig(root=str(root), test_fraction=0.2, target_length=64, norm="none"))
    train = _all(raw.split("train")).double()
    assert stats["num_clips"] == len(raw.split("train")) == 8
    assert stats["mean"] == pytest.approx(float(train.mean()), abs=1e-9)
    assert stats["std"] == pytest.approx(float(train.std()), abs=1e-9)
    assert stats["target_length"] == 64 and stats["dataset"] == "audio-folder" and stats["skipped"] == 0
    # Log-mel energies of 0.3-amplitude tones with zero padding: negative mean, far from AudioSet's.
    assert stats["mean"] < 0 and abs(stats["mean"] - AUDIOSET_MEAN) > 0.5


def test_the_command_writes_a_file_the_dataset_config_reads(tmp_path, capsys):
    """``selfsup audio-stats``, the plugin's command through the core's register_commands hook."""
    from selfsup.cli import main as selfsup_main

    root = esc50_tree(tmp_path / "esc50", folds=3, classes=2)
    out = tmp_path / "stats" / "esc50-fold1.json"
    assert selfsup_main(["audio-stats", "--dataset", "esc50", "--out", str(out), f"root={root}", "fold=1", "target_length=64"]) == 0
    stats = json.loads(out.read_text())
    assert "mean" in capsys.readouterr().out
    assert stats["split"] == "train" and stats["data"]["fold"] == 1 and "norm" not in stats["data"]

    data = ESC50(ESC50Config(root=str(root), fold=1, target_length=64, norm_file=str(out)))
    assert data.info["norm_mean"] == pytest.approx(stats["mean"]) and data.info["norm_std"] == pytest.approx(stats["std"])
    assert data.info["norm_source"] == str(out)
    # SSAST's normalisation (x - mean) / (2 std): the train split ends up with mean 0 and std 1/2.
    train = _all(data.split("train")).double()
    assert float(train.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(train.std()) == pytest.approx(0.5, abs=1e-6)


def test_audioset_constants_stay_the_default(tmp_path):
    data = AudioFolder(AudioFolderConfig(root=str(_folder(tmp_path)), target_length=64))
    assert data.info["norm_mean"] == pytest.approx(-4.2677393) == AUDIOSET_MEAN
    assert data.info["norm_std"] == pytest.approx(4.5689974) == AUDIOSET_STD
    assert data.info["norm_source"] == "fixed"


def test_a_norm_file_must_match_the_feature_settings(tmp_path):
    root = _folder(tmp_path / "audio")
    out = tmp_path / "stats.json"
    assert main(["--dataset", "audio-folder", "--out", str(out), f"root={root}", "target_length=64"]) == 0
    with pytest.raises(ConfigError, match="target_length=64 but data.target_length=128"):
        AudioFolder(AudioFolderConfig(root=str(root), norm_file=str(out)))
    with pytest.raises(ConfigError, match="set data.norm=fixed"):
        AudioFolder(AudioFolderConfig(root=str(root), target_length=64, norm="train", norm_file=str(out)))
    with pytest.raises(ConfigError, match="does not exist"):
        AudioFolder(AudioFolderConfig(root=str(root), norm_file=str(tmp_path / "missing.json")))
    out.write_text('{"mean": -5.0}')
    with pytest.raises(ConfigError, match="'mean' and 'std'"):
        AudioFolder(AudioFolderConfig(root=str(root), target_length=64, norm_file=str(out)))


def test_the_command_reports_bad_input_without_a_traceback(tmp_path, capsys):
    root = _folder(tmp_path / "audio")
    assert main(["--dataset", "audio-folder", "--out", str(tmp_path / "s.json"), f"root={root}", "no_such_key=1"]) == 2
    assert "no_such_key" in capsys.readouterr().err
    assert main(["--dataset", "audio-folder", "--out", str(tmp_path / "s.json"), "--split", "holdout", f"root={root}"]) == 2
    assert "no split 'holdout'" in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_the_old_script_is_a_deprecated_alias(tmp_path, capsys):
    root = esc50_tree(tmp_path / "esc50", folds=3, classes=2)
    out = tmp_path / "old.json"
    assert main(["--dataset", "esc50", "--out", str(out), f"root={root}", "fold=1", "target_length=64"]) == 0
    assert "deprecated; run 'selfsup audio-stats'" in capsys.readouterr().err
    assert json.loads(out.read_text())["split"] == "train"


def test_command_errors_are_one_line(tmp_path, capsys):
    from selfsup.cli import main as selfsup_main

    assert selfsup_main(["audio-stats", "--dataset", "esc", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selfsup: error: Unknown dataset 'esc'") and "esc50" in err and "Traceback" not in err
    assert selfsup_main(["audio-stats", "--dataset", "esc50", "--out", str(tmp_path / "x.json")]) == 2
    assert "data.root is not set" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
