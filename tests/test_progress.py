"""Progress output: a bar on a terminal (a real pty), plain lines through pipes, per-phase losses."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from selfsup.progress import ProgressBar, ProgressSettings, stage, track, use_progress

SUPPORT = Path(__file__).parent / "support"

SCRIPT = """
import sys
sys.path.insert(0, {support!r})
import selfsup_toy
from selfsup import pretrain
pretrain(modality="toy", plugins=[selfsup_toy], run_dir={run_dir!r}, objective={objective!r},
         evaluators=["linear-probe"], trainer={trainer!r})
"""


def _command(run_dir: Path, objective: str = "denoise", **trainer) -> list[str]:
    settings = {"max_steps": 20, "log_every": 5, "progress_every": 0, **trainer}
    return [sys.executable, "-c", SCRIPT.format(support=str(SUPPORT), run_dir=str(run_dir), objective=objective, trainer=settings)]


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "160", "SELFSUP_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _piped(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def _log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_without_a_terminal_every_stage_prints_plain_lines(tmp_path):
    err = _piped(_command(tmp_path / "run"))
    assert "\r" not in err  # no bar
    lines = err.splitlines()
    assert "data: building dataset 'blobs', encoder and objective ..." in lines
    assert any(line.startswith("data: done in ") for line in lines)
    training = [line for line in lines if line.startswith("pretrain: ")]
    assert [line.split()[1] for line in training] == ["0/20", "5/20", "10/20", "15/20", "20/20"]
    last = _log(tmp_path / "run")[-1]
    assert f"loss={last['loss']:.4f}" in training[-1] and "samples/s" in training[-1]
    assert "(100%)" in training[-1] and "left" in training[2]
    evaluation = [line for line in lines if line.startswith("evaluate: ")]
    assert evaluation[-1].startswith("evaluate: 2/2 evaluations (100%)")
    assert any("linear-probe on the random-init encoder" in line for line in evaluation)
    assert any(line.startswith("plots: done in ") for line in lines)


def test_several_phases_show_one_loss_each_and_never_nan(tmp_path):
    err = _piped(_command(tmp_path / "run", objective="two-player", eval_every=10))
    during = [json.loads(line) for line in (tmp_path / "run" / "eval_log.jsonl").read_text().splitlines()]
    for line in during:  # each evaluation during training is reported with its numbers
        assert f"evaluate at step {line['step']}: linear-probe/accuracy={line['linear-probe/accuracy']:.4f}" in err
    last = _log(tmp_path / "run")[-1]
    final = [line for line in err.splitlines() if line.startswith("pretrain: 20/20")][0]
    assert f"loss/critic={last['loss/critic']:.4f}" in final and f"loss/encoder={last['loss/encoder']:.4f}" in final
    assert "nan" not in err.lower()


def test_plain_lines_are_rate_limited_by_progress_every(tmp_path):
    err = _piped(_command(tmp_path / "run", progress_every=1e6))
    training = [line for line in err.splitlines() if line.startswith("pretrain: ")]
    assert [line.split()[1] for line in training] == ["20/20"]  # the end only
    assert "data: building dataset" not in err  # a stage start line waits progress_every seconds


def test_progress_off_prints_nothing(tmp_path):
    err = _piped(_command(tmp_path / "run", progress="off"))
    assert not any(line.startswith(("data:", "pretrain:", "evaluate:", "plots:")) for line in err.splitlines())


def test_on_a_terminal_a_bar_is_drawn(tmp_path):
    primary, secondary = pty.openpty()
    process = subprocess.Popen(_command(tmp_path / "run"), stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, env=_env())
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=600) == 0
    out = b"".join(chunks).decode(errors="replace")
    assert "\r" in out  # tqdm redraws in place
    assert "pretrain: 0/20 steps (0%)" not in out  # not the plain lines
    bar = [part for part in out.split("\r") if part.startswith("pretrain:")]
    assert any("20/20" in part and "loss=" in part and "samples/s" in part for part in bar)
    assert any(part.startswith("evaluate:") and "2/2" in part for part in out.split("\r"))


def test_progress_bar_plain_lines_and_rate_limit():
    stream = io.StringIO()
    settings = ProgressSettings(mode="plain", interval=0, unit="rows", stream=stream)
    bar = ProgressBar("embed", 4, "batches", settings=settings)
    for _ in range(4):
        bar.update(1, {"rate": "12 rows/s"})
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["0/4", "1/4", "2/4", "3/4", "4/4"]
    assert "rate=12 rows/s" in lines[-1]
    quiet = io.StringIO()
    bar = ProgressBar("embed", 4, "batches", settings=ProgressSettings(mode="plain", interval=1e9, stream=quiet))
    for _ in range(4):
        bar.update(1)
    assert [line.split()[1] for line in quiet.getvalue().splitlines()] == ["4/4"]


def test_track_and_stage_follow_the_run_settings(capsys):
    assert list(track(range(3), "scenes")) == [0, 1, 2]
    assert capsys.readouterr().err == ""  # outside a run: silent
    stream = io.StringIO()
    with use_progress(ProgressSettings(mode="plain", interval=0, stream=stream)):
        with stage("data", "generating rooms"):
            assert sum(track(range(3), "rooms", unit="rooms")) == 3
    lines = stream.getvalue().splitlines()
    assert lines[0] == "data: generating rooms ..."
    assert [line.split()[1] for line in lines[1:-1]] == ["0/3", "1/3", "2/3", "3/3"]
    assert lines[-1].startswith("data: done in ")


def test_a_stage_that_fails_at_once_leaves_stderr_to_its_error():
    stream = io.StringIO()
    settings = ProgressSettings(mode="plain", interval=1e9, stream=stream)
    with pytest.raises(ValueError):
        with stage("data", "building dataset 'x'", settings=settings):
            raise ValueError("bad row")
    assert stream.getvalue() == ""
    with stage("data", "building dataset 'x'", settings=settings):
        pass
    assert stream.getvalue().startswith("data: done in ")


@pytest.mark.parametrize("value, mode", [("auto", "plain"), ("on", "bar"), ("bar", "bar"), ("plain", "plain"), ("off", "off")])
def test_progress_modes_without_a_terminal(value, mode):
    class Trainer:
        progress = value
        progress_every = 5.0

    settings = ProgressSettings.from_trainer(Trainer(), unit="clips", stream=io.StringIO())
    assert (settings.mode, settings.interval, settings.unit) == (mode, 5.0, "clips")


def test_step_log_does_not_import_the_trainer():
    code = "import sys, selfsup.engine.step_log; print('selfsup.engine.trainer' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
