"""Honest resume: refused and applied config changes, their record, the NaN advice, extending
a finished run, run folders without a checkpoint, and the run-folder lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from selfsup import pretrain
from selfsup.engine.optim import lr_factor
from selfsup.errors import CheckpointError, ConfigError, NonFiniteLossError, RunLockedError
from selfsup.run_lock import RunLock

SUPPORT = Path(__file__).parent / "support"


def _log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line]


def _run(run_dir: Path, **trainer) -> object:
    return pretrain(modality="toy", run_dir=run_dir, evaluators=["linear-probe"],
                    trainer={"max_steps": 6, "batch_size": 32, "log_every": 1, "progress": "off", **trainer})


def test_resume_refuses_changed_model_and_seed_listing_each_with_old_and_new(toy, tmp_path):
    run_dir = tmp_path / "run"
    _run(run_dir)
    before = (run_dir / "config.yaml").read_text(), (run_dir / "log.jsonl").read_text()
    with pytest.raises(ConfigError) as info:
        pretrain(modality="toy", run_dir=run_dir, seed=1, evaluators=["linear-probe"], encoder_config={"hidden": 32},
                 trainer={"max_steps": 6, "batch_size": 32, "log_every": 1, "progress": "off", "resume": True})
    message = str(info.value)
    assert "encoder_config.hidden: 16 -> 32" in message and "seed: 0 -> 1" in message
    assert "trainer.resume=true" in message  # the one fix: resume with the saved values
    assert ((run_dir / "config.yaml").read_text(), (run_dir / "log.jsonl").read_text()) == before


@pytest.mark.parametrize("key, value", [("batch_size", 64), ("optimizer", "sgd")])
def test_resume_refuses_a_changed_batch_or_optimiser(toy, tmp_path, key, value):
    run_dir = tmp_path / "run"
    _run(run_dir)
    with pytest.raises(ConfigError, match=rf"trainer.{key}: .* -> '?{value}'?"):
        _run(run_dir, resume=True, max_steps=8, **{key: value})


def test_a_new_lr_and_max_steps_are_applied_and_recorded(toy, tmp_path, capsys):
    run_dir = tmp_path / "run"
    first = _run(run_dir)  # 6 steps at the toy objective's lr 0.01; warm-up round(0.05 * 6) = 0 steps
    capsys.readouterr()
    result = _run(run_dir, resume=True, max_steps=12, lr=0.002)
    err = capsys.readouterr().err
    assert "resuming at step 6: trainer.lr: 0.01 -> 0.002" in err
    # the random-init baseline is kept (same seed, same weights); the trained encoder is evaluated again
    assert "random_init: kept the earlier results of linear-probe" in err and "pretrained: kept" not in err
    assert result.random_init_metrics == first.random_init_metrics
    log = _log(run_dir)
    assert [line["step"] for line in log] == list(range(1, 13))
    for line in log[6:]:  # the schedule of a 12-step run at the new peak, keeping the 0-step warm-up
        expected = 0.002 * lr_factor(line["step"] - 1, total_steps=12, warmup_steps=0, schedule="cosine", min_ratio=0.0)
        assert line["lr"] == pytest.approx(expected, rel=1e-9), line["step"]
    saved = OmegaConf.load(run_dir / "config.yaml")
    assert saved.trainer.lr == 0.002 and saved.trainer.max_steps == 12 and saved.trainer.resume is False
    [entry] = OmegaConf.to_container(saved.resumes)
    assert entry["step"] == 6
    assert entry["changed"] == {"trainer.lr": {"old": 0.01, "new": 0.002}, "trainer.max_steps": {"old": 6, "new": 12}}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["run"]["trainer"]["lr"] == 0.002 and metrics["run"]["resumes"][0]["step"] == 6
    assert [line["step"] for line in result.history] == list(range(1, 13))  # what the plots are drawn from


def test_extending_a_finished_run_keeps_its_warm_up(toy, tmp_path):
    """Warm-up as a fraction: 0.25 of 8 steps is 2; of 40 it would be 10 (a second warm-up)."""
    run_dir = tmp_path / "run"
    _run(run_dir, max_steps=8, warmup_fraction=0.25)
    _run(run_dir, max_steps=40, warmup_fraction=0.25, resume=True)
    log = _log(run_dir)
    peak = 0.01
    assert log[7]["lr"] == pytest.approx(peak * lr_factor(7, total_steps=8, warmup_steps=2, schedule="cosine", min_ratio=0.0))
    for line in log[8:]:
        expected = peak * lr_factor(line["step"] - 1, total_steps=40, warmup_steps=2, schedule="cosine", min_ratio=0.0)
        assert line["lr"] == pytest.approx(expected, rel=1e-9), line["step"]
    assert log[8]["lr"] > peak * 9 / 10  # a second 10-step warm-up would give 9/10 of the peak at step 9
    [entry] = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml").resumes)
    assert any("keeping the 2-step warm-up" in note for note in entry["notes"])


def test_nan_advice_works_resume_with_a_lower_lr_continues(toy, tmp_path):
    """SGD warmed up to lr 1.0 diverges (NaN at step 17); the step-12 checkpoint is still sane."""
    run_dir = tmp_path / "run"
    settings = {"optimizer": "sgd", "momentum": 0.0, "warmup_steps": 20, "max_steps": 30, "checkpoint_every": 6}
    with pytest.raises(NonFiniteLossError) as info:
        _run(run_dir, lr=1.0, **settings)
    assert info.value.checkpoint.endswith("step-00000012.pt") and "trainer.resume=true" in str(info.value)
    _run(run_dir, lr=0.05, resume=True, **settings)
    log = _log(run_dir)
    assert [line["step"] for line in log] == list(range(1, 31))
    assert all(torch.isfinite(torch.tensor(line["loss"])) for line in log)
    for line in log[12:]:
        expected = 0.05 * lr_factor(line["step"] - 1, total_steps=30, warmup_steps=20, schedule="cosine", min_ratio=0.0)
        assert line["lr"] == pytest.approx(expected, rel=1e-9), line["step"]


def test_resuming_unchanged_finished_run_trains_nothing_and_records_the_resume(toy, tmp_path, capsys):
    run_dir = tmp_path / "run"
    first = _run(run_dir)
    from safetensors.torch import load_file

    weights = load_file(run_dir / "encoder.safetensors")
    again = _run(run_dir, resume=True)
    assert "pretrained: kept the earlier results of linear-probe" in capsys.readouterr().err  # nothing re-run
    assert again.metrics == first.metrics
    # the same tensors (the header's key order may differ between writes: compare contents, not bytes)
    resumed = load_file(run_dir / "encoder.safetensors")
    assert weights.keys() == resumed.keys() and all(torch.equal(weights[k], resumed[k]) for k in weights)
    assert [line["step"] for line in _log(run_dir)] == list(range(1, 7))
    [entry] = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml").resumes)
    assert entry == {"step": 6, "changed": {}}


def test_max_steps_below_the_checkpoint_is_refused(toy, tmp_path):
    run_dir = tmp_path / "run"
    _run(run_dir)
    with pytest.raises(ConfigError, match="trainer.max_steps=4 is below step 6 .* at least 6"):
        _run(run_dir, resume=True, max_steps=4)


def test_a_new_run_from_a_resumed_runs_config_starts_without_its_history(toy, tmp_path):
    run_dir = tmp_path / "run"
    _run(run_dir)
    _run(run_dir, resume=True, max_steps=8)
    again = pretrain(config=run_dir / "config.yaml", run_dir=tmp_path / "again")
    assert OmegaConf.load(again.run_dir / "config.yaml").resumes == []
    assert len(again.history) == 8


# --------------------------------------------------------------------------- folders without a checkpoint


def test_a_run_that_failed_on_bad_input_is_retried_without_resume(toy, tmp_path):
    from selfsup.errors import DatasetError

    run_dir = tmp_path / "run"
    with pytest.raises(DatasetError):
        pretrain(modality="toy", run_dir=run_dir, evaluators=[], data={"num_samples": 1}, trainer={"max_steps": 2})
    assert (run_dir / "config.yaml").exists()
    with pytest.raises(CheckpointError, match="holds no checkpoint: the run stopped before its first one. Start it again with the same command without trainer.resume=true"):
        pretrain(modality="toy", run_dir=run_dir, evaluators=[], trainer={"max_steps": 2, "resume": True})
    result = pretrain(modality="toy", run_dir=run_dir, evaluators=[], trainer={"max_steps": 2})
    assert len(result.history) == 2 and OmegaConf.load(run_dir / "config.yaml").data.num_samples == 256


def test_a_run_that_diverged_before_its_first_checkpoint_is_retried_with_a_lower_lr(toy, tmp_path):
    run_dir = tmp_path / "run"
    settings = {"optimizer": "sgd", "momentum": 0.0, "warmup_steps": 20, "max_steps": 30}
    with pytest.raises(NonFiniteLossError) as info:
        _run(run_dir, lr=1.0, **settings)
    assert info.value.checkpoint is None and "trainer.resume" not in str(info.value)
    _run(run_dir, lr=0.05, **settings)  # the same command, the advised fix, no resume
    assert [line["step"] for line in _log(run_dir)] == list(range(1, 31))  # no lines of the failed attempt


def test_a_finished_run_is_still_not_overwritten(toy, tmp_path):
    run_dir = tmp_path / "run"
    _run(run_dir)
    with pytest.raises(ConfigError, match="already holds a run. Continue it with trainer.resume=true"):
        _run(run_dir)


# --------------------------------------------------------------------------- the lock

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from selfsup.run_lock import RunLock
    lock = RunLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(120)
    """
)


def test_a_locked_run_folder_names_the_holder_and_a_dead_holder_does_not_block(toy, tmp_path):
    run_dir = tmp_path / "run"
    _run(run_dir)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=rf"in use by process {holder.pid} .*Wait for it to finish") as info:
            _run(run_dir, resume=True, max_steps=8)
        assert info.value.pid == holder.pid
    finally:
        holder.kill()
        holder.wait()
    assert (run_dir / ".lock").read_text().strip() == str(holder.pid)  # left behind by the killed holder
    _run(run_dir, resume=True, max_steps=8)
    assert [line["step"] for line in _log(run_dir)] == list(range(1, 9))


def test_the_lock_is_held_while_training_and_released_after(toy, tmp_path, monkeypatch):
    import selfsup.run as run_module

    run_dir = tmp_path / "run"
    seen = []

    def while_training(*args, **kwargs):  # called by the run once the folder is prepared
        with pytest.raises(RunLockedError, match=str(os.getpid())):
            RunLock(run_dir).acquire()
        seen.append(True)

    monkeypatch.setattr(run_module, "_evaluate_during_training", while_training)
    _run(run_dir)
    assert seen == [True]
    with RunLock(run_dir):  # released at the end
        pass
