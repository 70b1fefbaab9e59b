"""A malicious pickle planted wherever selfsup reads a file never runs: each place refuses it
with a named error (checkpoints, encoder.safetensors, run JSON files, Planetoid, CIFAR,
ScanNet .npy/.pth, the audio feature cache, FID Inception weights, the Gaussian teacher)."""

from __future__ import annotations

import os
import pickle
import shlex
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsup import load_encoder, pretrain
from selfsup.cli import main
from selfsup.errors import CheckpointError, ConfigError, DatasetError, SelfsupError


class _Payload:
    """Unpickling this runs ``touch <marker>``: what a crafted file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _pickle_bytes(marker: Path, protocol: int = 2) -> bytes:
    return pickle.dumps({"data": _Payload(marker), "labels": [0]}, protocol=protocol)


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def test_the_payload_is_live(marker):
    """The same bytes, unpickled without restriction, do create the marker (so the tests below mean something)."""
    pickle.loads(_pickle_bytes(marker))
    assert marker.exists()


# ------------------------------------------------------------------ run files


@pytest.fixture
def run(toy, tmp_path):
    return pretrain(modality="toy", run_dir=tmp_path / "run", evaluators=["knn"], trainer={"max_steps": 4, "checkpoint_every": 2}).run_dir


def _plant_checkpoints(run_dir: Path, marker: Path) -> None:
    """Replace every checkpoint by a crafted one, with a matching sidecar (the attacker can write both)."""
    import hashlib

    for path in (run_dir / "checkpoints").glob("step-*.pt"):
        torch.save({"step": 2, "objective": {}, "x": _Payload(marker)}, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        (path.parent / (path.name + ".sha256")).write_text(f"{digest}  {path.name}\n")


def test_crafted_checkpoint_never_runs_on_resume(run, marker):
    _plant_checkpoints(run, marker)
    with pytest.raises(CheckpointError, match=r"step-00000004\.pt' is unusable: it cannot be loaded safely with weights_only=True"):
        pretrain(modality="toy", run_dir=run, evaluators=["knn"], trainer={"max_steps": 4, "checkpoint_every": 2, "resume": True})
    assert not marker.exists()


def test_crafted_checkpoint_is_one_line_from_the_cli(run, marker, capsys):
    _plant_checkpoints(run, marker)
    code = main(["pretrain", "modality=toy", f"run_dir={run}", "evaluators=[knn]", "trainer.max_steps=4",
                 "trainer.checkpoint_every=2", "trainer.resume=true"])
    err = capsys.readouterr().err
    assert code == 2 and not marker.exists()
    assert err.startswith("selfsup: error: Checkpoint ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("name", ["encoder.safetensors", "data_info.json"])
def test_pickle_in_place_of_a_run_file_is_a_checkpoint_error(run, marker, name):
    (run / name).write_bytes(_pickle_bytes(marker))
    with pytest.raises(CheckpointError, match=rf"'{run / name}' is not (a readable safetensors file|valid JSON)"):
        load_encoder(run)
    assert not marker.exists()


def test_pickle_in_place_of_metrics_json_is_one_line_from_evaluate(run, marker, capsys):
    (run / "metrics.json").write_bytes(_pickle_bytes(marker))
    assert main(["evaluate", f"run_dir={run}"]) == 2
    err = capsys.readouterr().err
    assert f"'{run / 'metrics.json'}' is not valid JSON" in err and err.count("\n") == 1
    assert not marker.exists()


# ------------------------------------------------------------------ dataset formats


def test_planetoid_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_graph.datasets.planetoid import FILES, read_planetoid

    for part in FILES:
        (tmp_path / f"ind.cora.{part}").write_bytes(_pickle_bytes(marker))
    (tmp_path / "ind.cora.test.index").write_text("0\n")
    with pytest.raises(DatasetError, match=r"ind\.cora\.x' could not be read: global 'posix\.system' is not allowed"):
        read_planetoid(tmp_path, "cora")
    assert not marker.exists()


def test_cifar_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_vision.datasets.cifar import load_cifar_pickle

    (tmp_path / "data_batch_1").write_bytes(_pickle_bytes(marker))
    with pytest.raises(DatasetError, match=r"data_batch_1 is not a readable CIFAR pickle batch .*posix\.system"):
        load_cifar_pickle(tmp_path / "data_batch_1")
    assert not marker.exists()


@pytest.mark.parametrize("how", ["object-npy", "raw-pickle"])
def test_scannet_npy_refuses_pickled_content(tmp_path, marker, how):
    from selfsup_pointcloud.datasets.scannet import read_npy_scene

    scene = tmp_path / "scene0000_00"
    scene.mkdir()
    if how == "object-npy":
        np.save(scene / "coord.npy", np.array([_Payload(marker), 1.0], dtype=object), allow_pickle=True)
    else:
        (scene / "coord.npy").write_bytes(_pickle_bytes(marker))
    with pytest.raises(DatasetError, match=r"coord\.npy: not a numeric \.npy array"):
        read_npy_scene(scene)
    assert not marker.exists()


def test_scannet_object_array_without_payload_is_a_named_error(tmp_path):
    from selfsup_pointcloud.datasets.scannet import read_npy_scene

    scene = tmp_path / "scene0000_00"
    scene.mkdir()
    np.save(scene / "coord.npy", np.zeros((4, 3), np.float32))
    np.save(scene / "segment20.npy", np.array([1, "wall", None, 2], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match=r"segment20\.npy: not a numeric \.npy array .*allow_pickle=False"):
        read_npy_scene(scene)


def test_scannet_pth_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_pointcloud.datasets.scannet import read_pth_scene

    torch.save({"coord": _Payload(marker)}, tmp_path / "scene.pth")
    with pytest.raises(DatasetError, match=r"scene\.pth: cannot read it as a tensor/numpy \.pth file"):
        read_pth_scene(tmp_path / "scene.pth")
    assert not marker.exists()


def _wav(path: Path, freq: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(4000) / 8000
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1), handle.setsampwidth(2), handle.setframerate(8000)
        handle.writeframes((0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes())


def test_audio_feature_cache_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_audio.configs import FeatureConfig
    from selfsup_audio.datasets import source

    paths = [tmp_path / "a.wav", tmp_path / "b.wav"]
    _wav(paths[0], 300.0), _wav(paths[1], 600.0)
    config = FeatureConfig(cache_dir=str(tmp_path / "cache"), num_mel_bins=16, target_length=32)
    source.load_files(paths, config)
    (cache,) = (tmp_path / "cache").glob("audio-features-*.pt")
    torch.save({"features": _Payload(marker)}, cache)
    source._CACHE.clear()
    with pytest.raises(DatasetError, match=r"Audio feature cache '.*' is not a valid cache file .*Delete it"):
        source.load_files(paths, config)
    assert not marker.exists()


def test_fid_inception_weights_refuse_a_crafted_pickle(tmp_path, marker):
    from selfsup_vision.evaluation.inception import FIDInceptionV3, InceptionWeightsError

    torch.save({"fc.weight": _Payload(marker)}, tmp_path / "pt_inception.pth")
    with pytest.raises(InceptionWeightsError, match="could not be read as a PyTorch state_dict"):
        FIDInceptionV3().load_weights(tmp_path / "pt_inception.pth")
    assert issubclass(InceptionWeightsError, SelfsupError) and not marker.exists()


def test_gaussian_teacher_weights_refuse_a_crafted_pickle(tmp_path, marker):
    from selfsup_pointcloud.gaussians.teacher import build_teacher

    torch.save({"conv1.weight": _Payload(marker)}, tmp_path / "teacher.pt")
    with pytest.raises(ConfigError, match=r"teacher_weights=.* cannot be loaded safely as a state dict"):
        build_teacher("resnet18", str(tmp_path / "teacher.pt"))
    assert not marker.exists()


def test_config_yaml_with_a_python_tag_never_runs(run, marker):
    from selfsup import evaluate

    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(f"hook: !!python/object/apply:os.system ['touch {marker}']\n" + text)
    with pytest.raises(ConfigError, match=r"config\.yaml' is not valid YAML"):
        evaluate(run)
    assert not marker.exists()
