"""``selfsup runs``: run folders found, statuses decided from the folder, metrics and deltas exported."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from selfsup import pretrain
from selfsup.cli import main
from selfsup.errors import NonFiniteLossError
from selfsup.runs import find_runs, format_runs, run_status, summarize_run
from selfsup.tracking import STATUS_FILE

TRAIN = {"max_steps": 20, "log_every": 5, "progress": "off"}


@pytest.fixture
def runs(toy, tmp_path):
    """A finished run (two evaluators), a failed one (NaN at step 7) and a copy of the finished one's folder without status.json."""
    root = tmp_path / "runs"
    finished = pretrain(modality="toy", run_dir=root / "finished", evaluators=["linear-probe", "knn"], seed=1, trainer=TRAIN)
    with pytest.raises(NonFiniteLossError):
        pretrain(modality="toy", run_dir=root / "failed", objective_config={"nan_at_step": 7}, trainer={**TRAIN, "log_every": 1})
    return root, finished


def test_finished_and_failed_runs_are_told_apart_with_config_steps_and_metrics(runs):
    root, finished = runs
    rows = {row.path.name: row for row in map(summarize_run, find_runs([root]))}
    assert set(rows) == {"finished", "failed"}
    done, failed = rows["finished"], rows["failed"]
    assert (done.status, done.steps_done, done.max_steps, done.config["seed"]) == ("finished", 20, 20, 1)
    assert done.metrics == pytest.approx(finished.metrics) and done.baseline == pytest.approx(finished.random_init_metrics)
    assert failed.status == "failed" and failed.steps_done == 6  # the line of step 7 held the NaN
    assert failed.error.startswith("NonFiniteLossError: The loss became nan at step 7")
    assert failed.metrics == {}


def test_csv_holds_each_metric_its_baseline_and_delta(runs, tmp_path, capsys):
    root, finished = runs
    out = tmp_path / "table.csv"
    assert main(["runs", str(root), "--format", "csv", "--out", str(out)]) == 0
    assert "2 run(s) written to" in capsys.readouterr().out
    rows = {row["run"]: row for row in csv.DictReader(io.StringIO(out.read_text()))}
    row = rows["finished"]
    assert (row["status"], row["modality"], row["objective"], row["encoder"], row["dataset"], row["steps"], row["seed"]) == (
        "finished", "toy", "denoise", "mlp", "blobs", "20/20", "1")
    for metric, value in finished.metrics.items():
        base = finished.random_init_metrics[metric]
        assert float(row[metric]) == pytest.approx(value, abs=5e-5)
        assert float(row[f"{metric} random_init"]) == pytest.approx(base, abs=5e-5)
        assert float(row[f"{metric} delta"]) == pytest.approx(value - base, abs=1e-4)
    assert rows["failed"]["status"] == "failed" and rows["failed"]["knn/accuracy"] == ""
    assert rows["failed"]["error"].startswith("NonFiniteLossError")


def test_table_and_markdown_show_pretrained_with_delta(runs, capsys):
    root, finished = runs
    accuracy, base = finished.metrics["knn/accuracy"], finished.random_init_metrics["knn/accuracy"]
    cell = f"{accuracy:.4f} ({accuracy - base:+.4f})"
    assert main(["runs", str(root / "finished"), str(root / "failed")]) == 0
    table = capsys.readouterr().out
    assert cell in table and "failed: NonFiniteLossError" in table
    assert main(["runs", str(root), "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[0].startswith("| run | status | modality | objective | encoder | dataset | steps | seed | linear-probe/accuracy")
    assert markdown[1].startswith("|---|---|")
    finished_row = next(line for line in markdown if line.startswith("| finished |"))
    assert f"| {cell} |" in finished_row + " |"


def test_a_killed_run_is_interrupted_and_a_live_one_running(runs):
    root, _ = runs
    run_dir = root / "finished"
    status = json.loads((run_dir / STATUS_FILE).read_text())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    (run_dir / STATUS_FILE).write_text(json.dumps({**status, "status": "running", "pid": int(gone.stdout)}))
    assert run_status(run_dir) == ("interrupted", "the process ended without recording an end (killed)")
    (run_dir / STATUS_FILE).write_text(json.dumps({**status, "status": "running", "pid": os.getpid()}))
    assert run_status(run_dir)[0] == "running"


def test_interrupted_run_is_recorded_by_the_run_itself(toy, tmp_path, monkeypatch):
    from selfsup.engine import trainer as trainer_module

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module.Trainer, "_evaluate", interrupt)
    with pytest.raises(KeyboardInterrupt):
        pretrain(modality="toy", run_dir=tmp_path / "run", trainer={**TRAIN, "eval_every": 10})
    assert run_status(tmp_path / "run") == ("interrupted", "")
    assert summarize_run(tmp_path / "run").steps_done == 10


def test_older_run_folders_without_status_json(runs):
    root, _ = runs
    run_dir = root / "finished"
    (run_dir / STATUS_FILE).unlink()
    assert run_status(run_dir) == ("finished", "")
    (run_dir / "encoder.safetensors").unlink()
    assert run_status(run_dir) == ("interrupted", "")


def test_sub_folders_of_a_run_are_not_runs(runs):
    root, _ = runs
    nested = root / "finished" / "wandb" / "offline-run-x" / "files"
    nested.mkdir(parents=True)
    (nested / "config.yaml").write_text("a: 1\n")
    assert sorted(p.name for p in find_runs([root])) == ["failed", "finished"]


def test_no_runs_is_one_line_error(tmp_path, capsys):
    assert main(["runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selfsup: error: selfsup runs: no run folders") and err.count("\n") == 1
    assert main(["runs", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_unknown_format_is_named():
    from selfsup.errors import ConfigError

    with pytest.raises(ConfigError, match="--format 'html' is not one of table, csv, markdown"):
        format_runs([], "html")
