"""Evaluation during training (``trainer.eval_every``): the log, the best step, resume, config errors."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from selfsup import pretrain
from selfsup.config import TrainerConfig
from selfsup.engine.trainer import EVAL_LOG_FILE, Trainer
from selfsup.errors import ConfigError


def _toy():
    import selfsup_toy

    data = selfsup_toy.Blobs(selfsup_toy.BlobsConfig())
    torch.manual_seed(0)
    encoder = selfsup_toy.MLPEncoder(selfsup_toy.MLPConfig(), data.info)
    return data, selfsup_toy.Denoise(selfsup_toy.DenoiseConfig(), encoder, data.info)


def test_trainer_evaluates_every_n_steps_and_after_the_last(tmp_path, toy):
    data, objective = _toy()
    steps, modes = [], []

    def evaluate(step):
        steps.append(step)
        modes.append(objective.training)
        return {"probe/score": float(step)}

    trainer = Trainer(TrainerConfig(max_steps=7, batch_size=32, eval_every=3), run_dir=tmp_path, seed=0)
    trainer.fit(objective, data, evaluate=evaluate)
    assert steps == [3, 6, 7]
    assert modes == [False, False, False]  # evaluated in eval mode
    lines = [json.loads(line) for line in (tmp_path / EVAL_LOG_FILE).read_text().splitlines()]
    assert lines == [{"step": 3, "probe/score": 3.0}, {"step": 6, "probe/score": 6.0}, {"step": 7, "probe/score": 7.0}]


def test_evaluating_does_not_change_the_training_trajectory(tmp_path, toy):
    def train(eval_every):
        np.random.seed(0)
        random.seed(0)
        data, objective = _toy()
        trainer = Trainer(TrainerConfig(max_steps=6, batch_size=32, eval_every=eval_every), seed=0)
        # The callback draws random numbers from every generator, as probes and k-means may.
        def evaluate(step):
            return {"noise/x": float(torch.rand(())) + np.random.rand() + random.random()}

        trainer.fit(objective, data, evaluate=evaluate)
        # ... and training draws from NumPy and Python's generators too.
        return [line["loss"] for line in trainer.history] + [np.random.rand(), random.random()]

    assert train(eval_every=2) == train(eval_every=0)


def test_resume_drops_evaluations_after_the_checkpoint(tmp_path, toy):
    data, objective = _toy()
    config = TrainerConfig(max_steps=6, batch_size=32, eval_every=2, checkpoint_every=4)
    Trainer(config, run_dir=tmp_path, seed=0).fit(objective, data, evaluate=lambda step: {"p/s": float(step)})
    # As if the run had died after logging step 6 but before its final checkpoint.
    for checkpoint in tmp_path.rglob("step-*.pt"):
        if checkpoint.name != "step-00000004.pt":
            checkpoint.unlink()
    data, objective = _toy()
    seen = []
    resumed = Trainer(TrainerConfig(**{**config.__dict__, "resume": True}), run_dir=tmp_path, seed=0)
    resumed.fit(objective, data, evaluate=lambda step: seen.append(step) or {"p/s": float(step)})
    assert seen == [6]
    assert [line["step"] for line in resumed.evaluations] == [2, 4, 6]
    logged = [json.loads(line)["step"] for line in (tmp_path / EVAL_LOG_FILE).read_text().splitlines()]
    assert logged == [2, 4, 6]


def test_pretrain_reports_best_and_final_separately(toy, tmp_path):
    result = pretrain(
        modality="toy",
        run_dir=tmp_path / "r",
        evaluators=["embedding-stats", "knn"],
        trainer={"max_steps": 6, "eval_every": 2, "eval_during_training": ["knn"], "eval_select": "knn/accuracy"},
    )
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    during = metrics["during_training"]
    log = [json.loads(line) for line in (tmp_path / "r" / EVAL_LOG_FILE).read_text().splitlines()]
    assert [line["step"] for line in log] == [2, 4, 6]
    assert all(set(line) == {"step", "knn/accuracy", "knn/macro_f1"} for line in log)  # only the chosen evaluator
    best = max(log, key=lambda line: line["knn/accuracy"])  # the earliest step among ties
    assert during["best"] == {"step": best["step"], "metrics": {k: v for k, v in best.items() if k != "step"}}
    assert during["final"]["step"] == 6 and during["select"] == "knn/accuracy" and during["every"] == 2
    assert result.best_during_training == {**during["best"], "select": "knn/accuracy"}
    # The final encoder's numbers stay where they were; the step-6 evaluation is of the same encoder.
    assert result.metrics["knn/accuracy"] == pytest.approx(during["final"]["metrics"]["knn/accuracy"])


def test_eval_during_training_must_name_a_run_evaluator(toy, tmp_path):
    with pytest.raises(ConfigError, match="trainer.eval_during_training names 'knm'.*Did you mean 'knn'"):
        pretrain(modality="toy", run_dir=tmp_path / "r", evaluators=["knn"], trainer={"eval_every": 2, "eval_during_training": ["knm"]})


def test_negative_eval_every_is_a_config_error(toy, tmp_path):
    with pytest.raises(ConfigError, match="trainer.eval_every must be >= 0"):
        pretrain(modality="toy", run_dir=tmp_path / "r", evaluators=[], trainer={"eval_every": -1})


def test_unknown_eval_select_fails_at_the_first_evaluation(toy, tmp_path):
    with pytest.raises(ConfigError, match="trainer.eval_select='knn/acc' is not a metric.*Did you mean 'knn/accuracy'"):
        pretrain(modality="toy", run_dir=tmp_path / "r", evaluators=["knn"], trainer={"max_steps": 4, "eval_every": 2, "eval_select": "knn/acc"})


def test_eval_every_without_evaluators_trains_normally(toy, tmp_path):
    result = pretrain(modality="toy", run_dir=tmp_path / "r", evaluators=[], trainer={"max_steps": 4, "eval_every": 2})
    assert result.best_during_training is None and len(result.history) == 4
    assert not (tmp_path / "r" / EVAL_LOG_FILE).exists()


def test_trainer_threads_apply_during_the_run_and_are_restored(tmp_path, toy):
    import selfsup_toy

    seen = []
    original = selfsup_toy.Denoise.training_step

    def recording_step(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    selfsup_toy.Denoise.training_step = recording_step
    try:
        result = pretrain(modality="toy", run_dir=tmp_path / "r", evaluators=[], trainer={"max_steps": 3, "threads": target})
    finally:
        selfsup_toy.Denoise.training_step = original
    assert seen and set(seen) == {target}
    assert torch.get_num_threads() == before
    assert result.config["trainer"]["threads"] == target
    with pytest.raises(ConfigError, match="trainer.threads=0 must be at least 1"):
        pretrain(modality="toy", run_dir=tmp_path / "bad", evaluators=[], trainer={"max_steps": 1, "threads": 0})


# --------------------------------------------------------------------------- failing evaluators during training


class _Flaky:
    """Fails at its first ``fail_first`` calls (an OOM in the first evaluation), then scores the step count."""

    calls = 0
    fail_first = 1

    def __init__(self, config=None):
        pass

    def settings(self):
        return {}

    def evaluate(self, encoder, data, *, device, seed):
        type(self).calls += 1
        if type(self).calls <= type(self).fail_first:
            raise RuntimeError("CUDA out of memory (simulated)\nsecond line")
        return {"score": float(type(self).calls)}


@pytest.fixture
def flaky(toy, register_plugin):
    from selfsup.hookspecs import hookimpl
    from selfsup.specs import EvaluatorSpec

    class Plugin:
        @hookimpl
        def register_evaluators(self):
            return [EvaluatorSpec(name="flaky", factory=_Flaky)]

    _Flaky.calls, _Flaky.fail_first = 0, 1
    register_plugin(Plugin(), name="flaky-test")
    return _Flaky


def test_a_failing_evaluator_during_training_is_recorded_and_training_goes_on(flaky, tmp_path, capsys):
    result = pretrain(
        modality="toy", run_dir=tmp_path / "r", evaluators=["flaky", "knn"],
        trainer={"max_steps": 6, "eval_every": 2, "eval_select": "flaky/score"},
    )
    assert len(result.history) == 6  # training did not stop at the step-2 failure
    log = [json.loads(line) for line in (tmp_path / "r" / EVAL_LOG_FILE).read_text().splitlines()]
    assert [line["step"] for line in log] == [2, 4, 6]
    assert "flaky/score" not in log[0] and "knn/accuracy" in log[0]  # the other evaluator still reported
    assert [line["flaky/score"] for line in log[1:]] == [2.0, 3.0]
    during = json.loads((tmp_path / "r" / "metrics.json").read_text())["during_training"]
    assert during["errors"] == {"flaky": {"error": "RuntimeError: CUDA out of memory (simulated)", "steps": [2]}}
    assert during["select"] == "flaky/score" and during["best"]["step"] == 6  # step 2 (failed) is no candidate
    assert result.metrics["flaky/score"] == 4.0  # the final evaluation ran it again
    err = capsys.readouterr().err
    assert err.count("evaluator 'flaky' failed during training at step 2") == 1


def test_an_evaluator_failing_at_every_evaluation_leaves_a_finished_run(flaky, tmp_path):
    flaky.fail_first = 10**6
    result = pretrain(modality="toy", run_dir=tmp_path / "r", evaluators=["flaky"], trainer={"max_steps": 4, "eval_every": 2})
    assert len(result.history) == 4 and result.best_during_training is None
    payload = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert payload["during_training"]["errors"]["flaky"]["steps"] == [2, 4]
    assert "best" not in payload["during_training"]
    assert payload["evaluations"]["flaky"]["errors"]["pretrained"].startswith("RuntimeError")  # the final one too
    assert json.loads((tmp_path / "r" / "status.json").read_text())["status"] == "finished"
    assert (tmp_path / "r" / "encoder.safetensors").exists() and not (tmp_path / "r" / "plots" / "eval.png").exists()
