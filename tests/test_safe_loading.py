"""A malicious pickle planted wherever the core reads a file never runs: each place refuses it
with a named error (checkpoints, encoder.safetensors, data_info.json, metrics.json, config.yaml).

The plugins' file formats have the same test beside their readers:
``plugins/graph/tests/test_graph_safe_loading.py`` (Planetoid),
``plugins/vision/tests/test_vision_safe_loading.py`` (CIFAR, FID Inception weights),
``plugins/pointcloud/tests/test_pointcloud_safe_loading.py`` (ScanNet .npy/.pth, Gaussian teacher),
``plugins/audio/tests/test_audio_safe_loading.py`` (the audio feature cache)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from selfsup import load_encoder, pretrain
from selfsup.cli import main
from selfsup.errors import CheckpointError, ConfigError
from selfsup.testing.hostile import HostilePayload as _Payload
from selfsup.testing.hostile import hostile_pickle_bytes as _pickle_bytes


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def test_the_payload_is_live(marker):
    """The same bytes, unpickled without restriction, do create the marker (so the tests below mean something)."""
    pickle.loads(_pickle_bytes(marker))
    assert marker.exists()


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
    errors = [line for line in err.splitlines() if line.startswith("selfsup: error")]  # progress lines may precede it
    assert len(errors) == 1 and errors[0].startswith("selfsup: error: Checkpoint ") and "Traceback" not in err


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


def test_config_yaml_with_a_python_tag_never_runs(run, marker):
    from selfsup import evaluate

    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(f"hook: !!python/object/apply:os.system ['touch {marker}']\n" + text)
    with pytest.raises(ConfigError, match=r"config\.yaml' is not valid YAML"):
        evaluate(run)
    assert not marker.exists()
