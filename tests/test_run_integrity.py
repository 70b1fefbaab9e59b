"""A run's files: encoder.safetensors carries its checksum, corrupt or invalid run files are
named errors (one line from the CLI), outputs are checked writable before training, and
checkpoint settings are checked when the config is resolved."""

from __future__ import annotations

import os

import pytest
import torch
from safetensors import safe_open

from selfsup import evaluate, load_encoder, pretrain
from selfsup.cli import main
from selfsup.errors import CheckpointError, ConfigError
from selfsup.safe_files import CHECKSUM_KEY, tensor_digest


@pytest.fixture
def run(toy, tmp_path):
    return pretrain(modality="toy", run_dir=tmp_path / "run", evaluators=["knn"], trainer={"max_steps": 4}).run_dir


def _tensor_region(path):
    """(start, length) of the tensor bytes in a safetensors file (after its 8-byte size and JSON header)."""
    header = int.from_bytes(path.read_bytes()[:8], "little")
    return 8 + header, path.stat().st_size - 8 - header


def test_encoder_file_stores_the_checksum_of_its_tensors(run):
    with safe_open(str(run / "encoder.safetensors"), framework="pt") as handle:
        stored = handle.metadata()[CHECKSUM_KEY]
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    assert stored == tensor_digest(tensors) == tensor_digest(load_encoder(run).state_dict())


def test_a_flipped_bit_in_the_encoder_is_a_named_error(run, capsys):
    path = run / "encoder.safetensors"
    start, length = _tensor_region(path)
    raw = bytearray(path.read_bytes())
    raw[start + length // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"encoder\.safetensors' is corrupt: its tensors do not match the sha256"):
        load_encoder(run)
    assert main(["evaluate", f"run_dir={run}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selfsup: error: ") and "is corrupt" in err and err.count("\n") == 1


def test_a_zeroed_block_in_the_encoder_is_a_named_error(run):
    path = run / "encoder.safetensors"
    start, length = _tensor_region(path)
    raw = bytearray(path.read_bytes())
    raw[start : start + min(4096, length)] = bytes(min(4096, length))
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="is corrupt"):
        load_encoder(run)


def test_a_truncated_encoder_is_one_line_from_evaluate(run, capsys):
    path = run / "encoder.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size - 100])
    assert main(["evaluate", f"run_dir={run}"]) == 2
    err = capsys.readouterr().err
    assert "encoder.safetensors' is not a readable safetensors file" in err and err.count("\n") == 1


def test_an_encoder_without_checksum_loads_with_a_warning(run):
    from safetensors.torch import load_file, save_file

    path = run / "encoder.safetensors"
    state = load_file(str(path))
    save_file(state, str(path))  # as an older selfsup wrote it
    with pytest.warns(RuntimeWarning, match="has no selfsup.sha256 checksum"):
        encoder = load_encoder(run)
    assert all(torch.equal(v, state[k]) for k, v in encoder.state_dict().items())


@pytest.mark.parametrize("content", ['{"evaluations": ', "[1, 2]"], ids=["truncated", "not-an-object"])
def test_invalid_metrics_json_is_named_before_evaluating(run, content, capsys):
    (run / "metrics.json").write_text(content)
    with pytest.raises(CheckpointError, match=r"metrics\.json' (is not valid JSON|holds a JSON list).*Move it away"):
        evaluate(run)
    assert (run / "metrics.json").read_text() == content  # nothing was overwritten
    assert main(["evaluate", f"run_dir={run}"]) == 2 and capsys.readouterr().err.count("\n") == 1
    assert evaluate(run, write=False)["knn"]["pretrained"]  # without writing, metrics.json is not needed


def test_unwritable_checkpoints_folder_fails_before_training(toy, tmp_path, capsys):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "checkpoints").write_text("not a folder")
    code = main(["pretrain", "modality=toy", f"run_dir={run_dir}", "trainer.max_steps=3"])
    err = capsys.readouterr().err
    assert code == 2 and f"Cannot write to '{run_dir / 'checkpoints'}'" in err and err.count("\n") == 1
    assert not (run_dir / "log.jsonl").exists() and not (run_dir / "config.yaml").exists()  # nothing ran


def test_run_dir_under_a_file_is_a_named_error(toy, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match=rf"Cannot write to '{tmp_path / 'file' / 'r'}'"):
        pretrain(modality="toy", run_dir=tmp_path / "file" / "r", trainer={"max_steps": 2})


def test_an_output_file_that_is_a_folder_fails_before_training(toy, tmp_path):
    (tmp_path / "r" / "encoder.safetensors").mkdir(parents=True)
    with pytest.raises(CheckpointError, match=r"Cannot write '.*encoder\.safetensors': it is a folder"):
        pretrain(modality="toy", run_dir=tmp_path / "r", trainer={"max_steps": 2})
    assert not (tmp_path / "r" / "log.jsonl").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_run_dir_fails_before_training(toy, tmp_path):
    (tmp_path / "r").mkdir()
    os.chmod(tmp_path / "r", 0o555)
    try:
        with pytest.raises(CheckpointError, match="Cannot write to"):
            pretrain(modality="toy", run_dir=tmp_path / "r", trainer={"max_steps": 2})
    finally:
        os.chmod(tmp_path / "r", 0o755)


@pytest.mark.parametrize(
    "override, message",
    [("trainer.checkpoint_every=-1", "trainer.checkpoint_every must be >= 0"), ("trainer.keep_checkpoints=0", "trainer.keep_checkpoints must be at least 1")],
)
def test_bad_checkpoint_settings_are_config_errors(toy, capsys, override, message):
    assert main(["pretrain", "--print-config", "modality=toy", override]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    with pytest.raises(ConfigError, match=message):
        pretrain(modality="toy", **{override.split("=")[0]: int(override.split("=")[1])})


def test_data_info_that_is_not_an_object_is_named(run):
    (run / "data_info.json").write_text("[8]")
    with pytest.raises(CheckpointError, match=r"data_info\.json' holds a JSON list, not an object\. Restore it"):
        load_encoder(run)


_SAVE_IN_A_FRESH_PROCESS = """
import sys, torch
from pathlib import Path
from selfsup.safe_files import save_weights
g = torch.Generator().manual_seed(0)
save_weights({f"layer{i}.weight": torch.randn(3, 4, generator=g) for i in range(5)}, Path(sys.argv[1]))
"""


def test_equal_weights_give_byte_identical_files_from_any_process(tmp_path):
    """safetensors orders the metadata as a per-process random Rust HashMap; save_weights
    sorts the header, so a resumed run's encoder equals the uninterrupted run's byte for byte."""
    import json
    import subprocess
    import sys

    paths = [tmp_path / f"w{i}.safetensors" for i in range(4)]
    for path in paths:
        subprocess.run([sys.executable, "-c", _SAVE_IN_A_FRESH_PROCESS, str(path)], check=True)
    blobs = [p.read_bytes() for p in paths]
    assert all(blob == blobs[0] for blob in blobs)
    length = int.from_bytes(blobs[0][:8], "little")
    header_text = blobs[0][8 : 8 + length].decode()
    metadata_keys = list(json.loads(header_text)["__metadata__"])
    assert metadata_keys == sorted(metadata_keys) == ["format", CHECKSUM_KEY]
    assert header_text.index('"__metadata__"') < header_text.index('"layer0.weight"')  # the whole header is sorted
