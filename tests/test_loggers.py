"""The register_loggers hook and the built-in loggers, read back from what they wrote.

TensorBoard through tensorboard's EventAccumulator, MLflow through its client on a local
file store, W&B from the offline run's ``.wandb`` record log (protobuf records in a
LevelDB-style log, parsed here without network).
"""

from __future__ import annotations

import json
import struct
import types
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from selfsup import hookimpl, pretrain
from selfsup.errors import ConfigError, NonFiniteLossError, UnknownComponentError
from selfsup.loggers import LoggerSet, LoggerWarning, flatten
from selfsup.specs import LoggerSpec

TRAIN = {"max_steps": 20, "log_every": 5, "eval_every": 10, "progress": "off"}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


# --------------------------------------------------------------------------- a third-party logger


@dataclass
class RecordingConfig:
    fail_in: str = ""


CALLS: list[tuple] = []


class RecordingLogger:
    def __init__(self, config: RecordingConfig, run_dir: Path) -> None:
        self.config = config
        CALLS.append(("init", Path(run_dir)))

    def _maybe_fail(self, method: str) -> None:
        if self.config.fail_in == method:
            raise OSError(f"disk full in {method}")

    def log_hyperparams(self, params):
        self._maybe_fail("log_hyperparams")
        CALLS.append(("hyperparams", params))

    def log_metrics(self, metrics, step):
        self._maybe_fail("log_metrics")
        CALLS.append(("metrics", dict(metrics), step))

    def log_artifact(self, path):
        self._maybe_fail("log_artifact")
        CALLS.append(("artifact", Path(path).name))

    def close(self, status):
        CALLS.append(("close", status))


class Broken:
    def __init__(self, config, run_dir):
        raise RuntimeError("cannot reach the tracking server")


def _plugin() -> types.ModuleType:
    module = types.ModuleType("recording_plugin")

    def register_loggers():
        return [
            LoggerSpec(name="recording", factory=RecordingLogger, config_cls=RecordingConfig),
            LoggerSpec(name="broken", factory=Broken),
        ]

    module.register_loggers = hookimpl(register_loggers)
    return module


@pytest.fixture
def recording(toy, register_plugin):
    register_plugin(_plugin(), name="recording-plugin")
    CALLS.clear()
    return CALLS


def test_a_plugin_logger_gets_config_scalars_evaluations_plots_and_status_in_order(recording, tmp_path):
    result = pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["recording"], evaluators=["linear-probe"], trainer=TRAIN)
    kinds = [call[0] for call in recording]
    assert kinds[0] == "init" and kinds[1] == "hyperparams" and kinds[-1] == "close"
    assert recording[-1] == ("close", "finished")
    params = recording[1][1]
    assert params["trainer"]["max_steps"] == 20 and params["objective"] == "denoise" and params["loggers"] == ["recording"]
    metrics = [call for call in recording if call[0] == "metrics"]
    train = [(m, s) for _, m, s in metrics if "train/loss" in m]
    assert [s for _, s in train] == list(range(1, 21))
    log = _lines(result.run_dir / "log.jsonl")
    assert [m["train/loss"] for m, _ in train] == pytest.approx([line["loss"] for line in log])
    assert [m["train/lr"] for m, _ in train] == pytest.approx([line["lr"] for line in log])
    evals = [(m, s) for _, m, s in metrics if any(k.startswith("eval/") for k in m)]
    assert [s for _, s in evals] == [10, 20]
    assert evals[-1][0]["eval/linear-probe/accuracy"] == pytest.approx(_lines(result.run_dir / "eval_log.jsonl")[-1]["linear-probe/accuracy"])
    final, step = next((m, s) for _, m, s in metrics if "final/linear-probe/accuracy" in m)
    assert step == 20
    assert final["final/linear-probe/accuracy"] == pytest.approx(result.metrics["linear-probe/accuracy"])
    assert final["random_init/linear-probe/accuracy"] == pytest.approx(result.random_init_metrics["linear-probe/accuracy"])
    assert final["delta/linear-probe/accuracy"] == pytest.approx(
        result.metrics["linear-probe/accuracy"] - result.random_init_metrics["linear-probe/accuracy"]
    )
    steps = [s for _, _, s in metrics]
    assert steps == sorted(steps)  # never decreasing
    assert [call[1] for call in recording if call[0] == "artifact"] == ["loss.png", "eval.png", "embedding.png", "metrics.json"]


@pytest.mark.parametrize("method", ["log_hyperparams", "log_metrics", "log_artifact"])
def test_a_failing_logger_warns_once_is_switched_off_and_training_finishes(recording, tmp_path, method):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pretrain(
            modality="toy", run_dir=tmp_path / "run", loggers=["recording"], evaluators=["linear-probe"],
            logger_config={"recording": {"fail_in": method}}, trainer=TRAIN,
        )
    ours = [w for w in caught if issubclass(w.category, LoggerWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert f"Logger 'recording' failed in {method}() with OSError: disk full in {method}" in message
    assert "training goes on" in message
    assert result.metrics["linear-probe/accuracy"] > 0.5  # the run finished and evaluated
    assert (result.run_dir / "encoder.safetensors").exists()
    kinds = [call[0] for call in recording]
    assert "close" not in kinds  # switched off: no more calls, not even close
    status = json.loads((result.run_dir / "status.json").read_text())
    assert status["status"] == "finished"
    assert status["logger_failures"] == {"recording": f"{method}: OSError: disk full in {method}"}


def test_a_logger_that_cannot_start_stops_the_run_before_training(recording, tmp_path):
    with pytest.raises(ConfigError, match=r"Logger 'broken' \(plugin 'recording-plugin'\) could not start: RuntimeError: cannot reach"):
        pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["recording", "broken"], trainer=TRAIN)
    assert not (tmp_path / "run" / "log.jsonl").exists()
    assert ("close", "failed") in recording  # the logger started before it was closed
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "failed"


def test_a_failed_run_closes_its_loggers_as_failed(recording, tmp_path):
    with pytest.raises(NonFiniteLossError):
        pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["recording"], objective_config={"nan_at_step": 7},
                 trainer={**TRAIN, "eval_every": 0})
    assert recording[-1] == ("close", "failed")
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "failed" and status["error"].startswith("NonFiniteLossError: The loss became nan at step")


def test_unknown_logger_names_the_installed_ones(toy):
    with pytest.raises(UnknownComponentError, match="Unknown logger 'tensorbord'. Did you mean 'tensorboard'?"):
        pretrain(modality="toy", loggers=["tensorbord"])


def test_logger_settings_are_checked_against_the_loggers_schema(toy):
    with pytest.raises(ConfigError, match="Unknown config key 'logger_config.mlflow.experimnt'"):
        pretrain(modality="toy", loggers=["mlflow"], logger_config={"mlflow": {"experimnt": "x"}})


def test_trainer_tensorboard_true_adds_the_tensorboard_logger(toy):
    from selfsup.config import resolve
    from selfsup.registry import get_registry

    resolved = resolve({"modality": "toy", "trainer": {"tensorboard": True}}, get_registry())
    assert [spec.name for spec in resolved.loggers] == ["tensorboard"]
    assert list(resolved.config.loggers) == ["tensorboard"]
    both = resolve({"modality": "toy", "loggers": ["tensorboard"], "trainer": {"tensorboard": True}}, get_registry())
    assert [spec.name for spec in both.loggers] == ["tensorboard"]


def test_loggerset_keeps_the_healthy_loggers_going():
    seen = []

    class Good:
        def log_metrics(self, metrics, step):
            seen.append(step)

    class Bad:
        def log_metrics(self, metrics, step):
            raise ValueError("nope")

    loggers = LoggerSet([("bad", Bad()), ("good", Good())])
    with pytest.warns(LoggerWarning, match="Logger 'bad' failed in log_metrics"):
        loggers.log_metrics({"a": 1.0}, 1)
    loggers.log_metrics({"a": 1.0}, 2)  # no second warning: 'bad' is off
    assert seen == [1, 2] and [name for name, _ in loggers.active] == ["good"]


def test_flatten_nests_dots_and_stringifies_lists():
    assert flatten({"trainer": {"lr": 0.1, "betas": [0.9, 0.99]}, "seed": 3}) == {"trainer.lr": 0.1, "trainer.betas": "[0.9, 0.99]", "seed": 3}


# --------------------------------------------------------------------------- the built-in loggers


def test_tensorboard_event_files_hold_scalars_evaluations_hparams_and_plots(toy, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    result = pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["tensorboard"], evaluators=["linear-probe"], trainer=TRAIN)
    events = EventAccumulator(str(result.run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    loss = events.Scalars("train/loss")
    log = _lines(result.run_dir / "log.jsonl")
    assert [e.step for e in loss] == list(range(1, 21))
    assert [e.value for e in loss] == pytest.approx([line["loss"] for line in log], rel=1e-6)
    during = events.Scalars("eval/linear-probe/accuracy")
    assert [e.step for e in during] == [10, 20]
    assert [e.value for e in during] == pytest.approx([line["linear-probe/accuracy"] for line in _lines(result.run_dir / "eval_log.jsonl")])
    (final,) = events.Scalars("final/linear-probe/accuracy")
    assert final.step == 20 and final.value == pytest.approx(result.metrics["linear-probe/accuracy"])
    (delta,) = events.Scalars("delta/linear-probe/accuracy")
    assert delta.value == pytest.approx(result.metrics["linear-probe/accuracy"] - result.random_init_metrics["linear-probe/accuracy"], abs=1e-6)
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["trainer.max_steps"].number_value == 20
    assert hparams["objective"].string_value == "denoise"
    assert hparams["trainer.lr"].number_value == pytest.approx(0.01)
    assert set(events.Tags()["images"]) == {"plots/loss", "plots/eval", "plots/embedding"}
    image = events.Images("plots/loss")[0]
    assert image.width > 100 and image.height > 100


def test_mlflow_file_store_holds_params_metrics_artifacts_and_status(toy, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    store = tmp_path / "mlruns"
    result = pretrain(
        modality="toy", run_dir=tmp_path / "run", loggers=["mlflow"], evaluators=["linear-probe"],
        logger_config={"mlflow": {"tracking_uri": str(store), "experiment": "toy-exp"}}, trainer=TRAIN,
    )
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    experiment = client.get_experiment_by_name("toy-exp")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert run.data.params["trainer.max_steps"] == "20" and run.data.params["objective"] == "denoise"
    history = client.get_metric_history(run.info.run_id, "train/loss")
    log = _lines(result.run_dir / "log.jsonl")
    assert sorted(m.step for m in history) == list(range(1, 21))
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx([line["loss"] for line in log])
    during = client.get_metric_history(run.info.run_id, "eval/linear-probe/accuracy")
    assert sorted(m.step for m in during) == [10, 20]
    assert run.data.metrics["final/linear-probe/accuracy"] == pytest.approx(result.metrics["linear-probe/accuracy"])
    assert run.data.metrics["random_init/linear-probe/accuracy"] == pytest.approx(result.random_init_metrics["linear-probe/accuracy"])
    plots = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {"loss.png", "eval.png", "embedding.png"}
    assert "metrics.json" in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_mlflow_run_of_a_failed_pretrain_is_marked_failed(toy, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlruns"
    with pytest.raises(NonFiniteLossError):
        pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["mlflow"], objective_config={"nan_at_step": 3},
                 logger_config={"mlflow": {"tracking_uri": str(store)}}, trainer={**TRAIN, "eval_every": 0})
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("selfsup").experiment_id])
    assert run.info.status == "FAILED"


def _wandb_records(path: Path) -> list:
    """The protobuf records of a ``.wandb`` file: a 7-byte header (``:W&B``, magic, version),
    then LevelDB-log chunks (crc32, length, type) in 32 KiB blocks."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, position, records, pending = 32768, 7, [], b""
    while position + 7 <= len(data):
        if block - position % block < 7:  # the block's tail is padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind == 0 and length == 0:
            continue
        pending += chunk
        if kind in (1, 4):  # FULL or LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def test_wandb_offline_run_holds_history_config_summary_and_plots(toy, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-dir"))
    result = pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["wandb"], evaluators=["linear-probe"], trainer=TRAIN)
    import wandb

    wandb.teardown()  # stop W&B's service process: every record it buffered is on disk
    (offline,) = (result.run_dir / "wandb").glob("offline-run-*")
    records = _wandb_records(next(offline.glob("run-*.wandb")))
    rows = []
    for record in records:
        if record.WhichOneof("record_type") == "history":
            rows.append({(item.key or "/".join(item.nested_key)): json.loads(item.value_json) for item in record.history.item})
    losses = {int(row["_step"]): row["train/loss"] for row in rows if "train/loss" in row}
    log = _lines(result.run_dir / "log.jsonl")
    assert sorted(losses) == list(range(1, 21))
    assert [losses[s] for s in range(1, 21)] == pytest.approx([line["loss"] for line in log])
    merged = {}
    for row in rows:
        merged.setdefault(int(row["_step"]), {}).update(row)
    assert merged[20]["final/linear-probe/accuracy"] == pytest.approx(result.metrics["linear-probe/accuracy"])
    assert merged[10]["eval/linear-probe/accuracy"] == pytest.approx(_lines(result.run_dir / "eval_log.jsonl")[0]["linear-probe/accuracy"])
    config = {}
    for record in records:
        if record.WhichOneof("record_type") == "config":
            config.update({(item.key or "/".join(item.nested_key)): json.loads(item.value_json) for item in record.config.update})
    assert config["trainer"]["max_steps"] == 20 and config["objective"] == "denoise"
    exits = [r.exit.exit_code for r in records if r.WhichOneof("record_type") == "exit"]
    assert exits == [0]
    assert (offline / "files" / "loss.png").is_file() and (offline / "files" / "metrics.json").is_file()


# --------------------------------------------------------------------------- selfsup evaluate reports to the run's loggers


def test_evaluate_sends_its_results_to_the_runs_loggers(recording, tmp_path):
    from selfsup import evaluate

    pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["recording"], evaluators=["linear-probe"], trainer={**TRAIN, "eval_every": 0})
    recording.clear()
    results = evaluate(tmp_path / "run", ["knn"])
    assert [call[0] for call in recording] == ["init", "hyperparams", "metrics", "artifact", "close"]
    assert recording[1][1]["evaluators"] == ["knn"]  # the config evaluate used
    _, metrics, step = recording[2]
    assert step == 20  # the run's last training step
    assert metrics["final/knn/accuracy"] == pytest.approx(results["knn"]["pretrained"]["accuracy"])
    assert metrics["random_init/knn/accuracy"] == pytest.approx(results["knn"]["random_init"]["accuracy"])
    assert metrics["delta/knn/accuracy"] == pytest.approx(
        results["knn"]["pretrained"]["accuracy"] - results["knn"]["random_init"]["accuracy"]
    )
    assert recording[3] == ("artifact", "metrics.json") and recording[4] == ("close", "finished")
    recording.clear()
    evaluate(tmp_path / "run", ["knn"], write=False)  # nothing written, nothing logged (as each fold of cv=K)
    assert recording == []


def test_evaluate_of_an_mlflow_run_opens_an_evaluate_run_read_back_from_the_store(toy, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from selfsup import evaluate

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = tmp_path / "mlruns"
    pretrain(modality="toy", run_dir=tmp_path / "run", loggers=["mlflow"], evaluators=["linear-probe"],
             logger_config={"mlflow": {"tracking_uri": str(store), "experiment": "toy-exp"}}, trainer={**TRAIN, "eval_every": 0})
    results = evaluate(tmp_path / "run", ["knn"])
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    runs = {run.info.run_name: run for run in client.search_runs([client.get_experiment_by_name("toy-exp").experiment_id])}
    assert set(runs) == {"run", "run (evaluate)"}
    again = runs["run (evaluate)"]
    assert again.info.status == "FINISHED" and again.data.params["evaluators"] == "['knn']"
    assert again.data.metrics["final/knn/accuracy"] == pytest.approx(results["knn"]["pretrained"]["accuracy"])
    assert again.data.metrics["random_init/knn/accuracy"] == pytest.approx(results["knn"]["random_init"]["accuracy"])
    assert [m.step for m in client.get_metric_history(again.info.run_id, "final/knn/accuracy")] == [20]
    assert "metrics.json" in {a.path for a in client.list_artifacts(again.info.run_id)}
    assert "final/knn/accuracy" not in runs["run"].data.metrics  # the pretraining run is left as it was
