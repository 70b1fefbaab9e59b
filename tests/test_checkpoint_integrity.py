"""Checkpoints: checksummed sidecars, fallback past a corrupt newest checkpoint, orphan
cleaning, key checks, writability before training, RNG state without pickled objects."""

from __future__ import annotations

import hashlib
import random
import warnings

import numpy as np
import pytest
import torch

from selfsup.config import TrainerConfig
from selfsup.engine.checkpoint import (
    atomic_save,
    capture_rng,
    clean_orphans,
    list_checkpoints,
    load_checkpoint,
    load_latest_checkpoint,
    restore_rng,
)
from selfsup.engine.trainer import Trainer
from selfsup.errors import CheckpointError


def _toy():
    import selfsup_toy

    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    torch.manual_seed(0)
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    return data, selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), encoder, data.info)


def _train(run_dir, *, resume=False, keep=3, steps=6):
    data, objective = _toy()
    config = TrainerConfig(max_steps=steps, batch_size=16, checkpoint_every=2, keep_checkpoints=keep, resume=resume, device="cpu", progress="off")
    trainer = Trainer(config, run_dir=run_dir, seed=0)
    trainer.fit(objective, data)
    return trainer, objective


def _tensor_offset(path):
    """Where the largest tensor's bytes start inside a checkpoint file."""
    state = torch.load(path, weights_only=True)["objective"]
    largest = max(state.values(), key=lambda t: t.numel())
    raw = path.read_bytes()
    offset = raw.find(largest.contiguous().view(torch.uint8).numpy().tobytes())
    assert offset > 0
    return offset, largest.numel() * largest.element_size()


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _zero_block(path):
    offset, _ = _tensor_offset(path)
    raw = bytearray(path.read_bytes())
    end = min(offset + 4096, len(raw))
    raw[offset:end] = bytes(end - offset)
    path.write_bytes(bytes(raw))


def _flip_bit(path):
    offset, size = _tensor_offset(path)
    raw = bytearray(path.read_bytes())
    raw[offset + size // 2] ^= 0x10
    path.write_bytes(bytes(raw))


def test_each_checkpoint_has_a_sha256sum_sidecar_and_loads_with_weights_only(tmp_path):
    _train(tmp_path)
    found = list_checkpoints(tmp_path / "checkpoints")
    assert [p.name for p in found] == ["step-00000002.pt", "step-00000004.pt", "step-00000006.pt"]
    for path in found:
        digest, name = (path.parent / (path.name + ".sha256")).read_text().split()
        assert name == path.name and digest == hashlib.sha256(path.read_bytes()).hexdigest()
        assert torch.load(path, weights_only=True)["step"] == int(path.stem.split("-")[1])


def test_pruning_removes_the_sidecar_with_its_checkpoint(tmp_path):
    _train(tmp_path, keep=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step-00000004.pt", "step-00000004.pt.sha256", "step-00000006.pt", "step-00000006.pt.sha256"]


@pytest.mark.parametrize("corrupt", [_truncate, _zero_block, _flip_bit], ids=["truncated", "zeroed-4KiB", "bit-flip"])
def test_corrupt_newest_checkpoint_warns_and_resumes_exactly_from_the_previous_one(tmp_path, corrupt):
    _, uninterrupted = _train(tmp_path / "full")
    _train(tmp_path / "cut")
    checkpoints = tmp_path / "cut" / "checkpoints"
    (checkpoints / "step-00000006.pt").unlink()  # as if killed after step 4's checkpoint
    corrupt(checkpoints / "step-00000004.pt")
    with pytest.warns(RuntimeWarning, match=r"step-00000004\.pt.* is unusable .*resuming from step-00000002\.pt"):
        trainer, resumed = _train(tmp_path / "cut", resume=True)
    assert trainer.resumed is not None and trainer.resumed[0] == 2  # resumed from the step before the corrupt one
    assert [json_step["step"] for json_step in trainer.history] == [1, 2, 3, 4, 5, 6]  # the log read back, then 3-6
    for key, value in uninterrupted.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert (checkpoints / "step-00000004.pt.corrupt").exists()  # kept for inspection, never loaded again


def test_a_checkpoint_without_its_sidecar_is_not_trusted(tmp_path):
    _train(tmp_path)
    (tmp_path / "checkpoints" / "step-00000006.pt.sha256").unlink()
    with pytest.raises(CheckpointError, match=r"step-00000006\.pt' is unusable: it has no checksum file"):
        load_checkpoint(tmp_path / "checkpoints" / "step-00000006.pt")
    with pytest.warns(RuntimeWarning, match="no checksum file"):
        path, state = load_latest_checkpoint(tmp_path / "checkpoints")
    assert path.name == "step-00000004.pt" and state["step"] == 4


def test_without_a_good_checkpoint_resume_is_a_named_error(tmp_path):
    _train(tmp_path, keep=1)
    _flip_bit(tmp_path / "checkpoints" / "step-00000006.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error says it all: no warning before it
        with pytest.raises(CheckpointError, match=r"step-00000006\.pt' is unusable: its sha256 is .* the file is corrupt.*without trainer.resume"):
            _train(tmp_path, resume=True, keep=1)


def test_orphaned_temporary_files_are_cleaned_when_a_run_starts(tmp_path):
    _train(tmp_path, steps=4)
    checkpoints = tmp_path / "checkpoints"
    planted = [checkpoints / ".step-00000006.pt.k2j3h4.tmp", checkpoints / ".step-00000006.pt.sha256.x9y8.tmp",
               checkpoints / "step-00000008.pt.sha256"]
    for path in planted:
        path.write_bytes(b"half a write")
    (checkpoints / "notes.txt").write_text("mine")
    _train(tmp_path, resume=True, steps=6)
    assert not any(path.exists() for path in planted)
    assert (checkpoints / "notes.txt").read_text() == "mine"
    assert {p.name for p in list_checkpoints(checkpoints)} == {"step-00000002.pt", "step-00000004.pt", "step-00000006.pt"}
    assert all((p.parent / (p.name + ".sha256")).exists() for p in list_checkpoints(checkpoints))


def test_clean_orphans_keeps_a_sidecar_whose_checkpoint_exists(tmp_path):
    atomic_save({"step": 1}, tmp_path / "step-00000001.pt", checksum=True)
    (tmp_path / "step-00000002.pt.sha256").write_text("0" * 64)
    assert clean_orphans(tmp_path) == [tmp_path / "step-00000002.pt.sha256"]
    assert load_checkpoint(tmp_path / "step-00000001.pt") == {"step": 1}


def test_a_checkpoint_missing_trainer_entries_is_named(tmp_path):
    _train(tmp_path, steps=2)
    path = tmp_path / "checkpoints" / "step-00000002.pt"
    state = torch.load(path, weights_only=True)
    del state["rng"]
    atomic_save(state, path, checksum=True)
    with pytest.raises(CheckpointError, match=r"step-00000002\.pt' lacks \['rng'\]"):
        _train(tmp_path, resume=True, steps=4)


def test_a_checkpoint_of_another_model_is_named(tmp_path):
    _train(tmp_path, steps=2)
    path = tmp_path / "checkpoints" / "step-00000002.pt"
    state = torch.load(path, weights_only=True)
    state["objective"] = {"other.weight": torch.zeros(2)}
    atomic_save(state, path, checksum=True)
    with pytest.raises(CheckpointError, match=r"does not fit Denoise .*Unexpected key.*other\.weight"):
        _train(tmp_path, resume=True, steps=4)


def test_unwritable_checkpoints_fail_before_the_first_step(tmp_path):
    (tmp_path / "checkpoints").write_text("a file where the folder goes")
    data, objective = _toy()
    before = {k: v.clone() for k, v in objective.state_dict().items()}
    trainer = Trainer(TrainerConfig(max_steps=4, batch_size=16, device="cpu", progress="off"), run_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"Cannot write to '.*checkpoints'"):
        trainer.fit(objective, data)
    assert trainer.history == [] and not (tmp_path / "log.jsonl").exists()
    assert all(torch.equal(v, before[k]) for k, v in objective.state_dict().items())


def test_rng_state_round_trips_through_a_weights_only_load(tmp_path):
    random.seed(5), np.random.seed(6), torch.manual_seed(7)
    random.gauss(0, 1), np.random.standard_normal()  # leave a cached gaussian in both
    atomic_save({"rng": capture_rng()}, tmp_path / "rng.pt")
    expected = (random.random(), random.gauss(0, 1), np.random.standard_normal(3), np.random.rand(), torch.rand(3))
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    restore_rng(torch.load(tmp_path / "rng.pt", weights_only=True)["rng"])
    again = (random.random(), random.gauss(0, 1), np.random.standard_normal(3), np.random.rand(), torch.rand(3))
    assert again[:2] == expected[:2] and again[3] == expected[3]
    assert np.array_equal(again[2], expected[2]) and torch.equal(again[4], expected[4])


def test_a_torn_last_log_line_does_not_stop_a_resume(tmp_path):
    import json

    _train(tmp_path, steps=4)
    with (tmp_path / "log.jsonl").open("a") as log:
        log.write('{"step": 5, "loss": 0.1')  # a line cut off by a kill
    _train(tmp_path, resume=True, steps=6)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


_KILL_SCRIPT = """
import os, signal, sys
import selfsup.engine.checkpoint as checkpoint

run_dir, kill_at_rename = sys.argv[1], int(sys.argv[2])
renames = []
real_replace = os.replace

def replace(src, dst):  # the process dies at the chosen rename of the step-4 write, as under SIGKILL
    if "step-00000004" in str(dst):
        renames.append(dst)
        if len(renames) == kill_at_rename:
            os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)

checkpoint.os.replace = replace
import selfsup_toy
import torch
from selfsup.config import TrainerConfig
from selfsup.engine.trainer import Trainer

data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
torch.manual_seed(0)
objective = selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info), data.info)
Trainer(TrainerConfig(max_steps=6, batch_size=16, checkpoint_every=2, keep_checkpoints=3, device="cpu", progress="off"),
        run_dir=run_dir, seed=0).fit(objective, data)
"""


@pytest.mark.parametrize("kill_at_rename, left", [(1, {".tmp", ".sha256.tmp"}), (2, {".tmp", "sidecar"})],
                         ids=["before-the-sidecar-rename", "before-the-checkpoint-rename"])
def test_a_write_killed_midway_leaves_files_that_the_next_start_removes(tmp_path, kill_at_rename, left):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "kill.py"
    script.write_text(_KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent / "support"), "SELFSUP_DISABLE_PLUGIN_AUTOLOAD": "1"}
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "r"), str(kill_at_rename)], env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    checkpoints = tmp_path / "r" / "checkpoints"
    debris = {p.name for p in checkpoints.iterdir()} - {"step-00000002.pt", "step-00000002.pt.sha256"}
    kinds = {"sidecar" if n == "step-00000004.pt.sha256" else ".sha256.tmp" if ".sha256." in n else ".tmp" for n in debris}
    assert kinds == left and all(n.startswith(".step-00000004.pt.") or n == "step-00000004.pt.sha256" for n in debris)
    _, uninterrupted = _train(tmp_path / "full")
    _, resumed = _train(tmp_path / "r", resume=True)  # resumes from step 2; the debris is gone
    assert not any((checkpoints / name).exists() for name in debris - {"step-00000004.pt.sha256"})
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in uninterrupted.state_dict().items())
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        f"step-0000000{s}.pt{ext}" for s in (2, 4, 6) for ext in ("", ".sha256")
    ]
