"""SIGTERM and SIGINT sent by another process: the step finishes, a checkpoint is written,
the exact resume command is printed, the exit is non-zero without a traceback, and the
printed command resumes to the weights of an uninterrupted run. A second Ctrl-C aborts."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

SUPPORT = Path(__file__).parent / "support"

#: ``selfsup`` with the toy plugin registered (it has no entry point).
_CLI = textwrap.dedent(
    """
    import sys
    import selfsup_toy
    from selfsup.plugins import get_plugins
    get_plugins().register(selfsup_toy, name="toy")
    from selfsup.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)
ARGS = ["modality=toy", "evaluators=[]", "trainer.max_steps=12", "trainer.batch_size=32", "trainer.progress=off"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSUP_TOY_")}
    return {**env, "PYTHONPATH": str(SUPPORT), "SELFSUP_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1", **extra}


def _cli(tmp_path: Path) -> Path:
    script = tmp_path / "selfsup_cli.py"
    script.write_text(_CLI)
    return script


def _wait_for(path: Path, process: subprocess.Popen) -> None:
    while not path.exists():
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)


def _interrupt(tmp_path: Path, run_dir: Path, signals: list[int], at_step: int = 5) -> subprocess.CompletedProcess:
    """Start a run, pause it inside ``at_step``, send ``signals`` from this process, let the step finish."""
    release = tmp_path / f"release-{run_dir.name}"
    process = subprocess.Popen(
        [sys.executable, str(_cli(tmp_path)), "pretrain", f"run_dir={run_dir}", *ARGS],
        env=_env(SELFSUP_TOY_PAUSE_AT_STEP=str(at_step), SELFSUP_TOY_PAUSE_FILE=str(release)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _wait_for(Path(f"{release}.reached"), process)
    for number in signals:
        os.kill(process.pid, number)
        time.sleep(0.2)  # each handled before the next arrives
    release.write_text("go")
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "encoder.safetensors"))


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("straight")
    done = subprocess.run([sys.executable, str(_cli(tmp)), "pretrain", f"run_dir={tmp / 'run'}", *ARGS],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return tmp / "run"


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_signal_saves_the_step_prints_the_command_and_the_command_resumes_exactly(tmp_path, straight, name):
    number = getattr(signal, name)
    run_dir = tmp_path / "run"
    stopped = _interrupt(tmp_path, run_dir, [number])
    assert stopped.returncode == 128 + number, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert f"Stopped by {name} after step 5 of 12" in stopped.stderr
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("step-*.pt")) == ["step-00000005.pt"]
    command = stopped.stderr.split("Continue with: ", 1)[1].splitlines()[0]
    assert command == f"selfsup pretrain --config {run_dir / 'config.yaml'} trainer.resume=true"
    argv = shlex.split(command)[1:]
    resumed = subprocess.run([sys.executable, str(_cli(tmp_path)), *argv], env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    a, b = _weights(straight), _weights(run_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [line for line in (run_dir / "log.jsonl").read_text().splitlines() if line]
    assert len(steps) == 12


def test_a_second_ctrl_c_aborts_at_once_without_a_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    aborted = _interrupt(tmp_path, run_dir, [signal.SIGINT, signal.SIGINT])
    assert aborted.returncode == 130, aborted.stderr
    assert "Traceback" not in aborted.stderr and "aborted by Ctrl-C" in aborted.stderr
    assert not list((run_dir / "checkpoints").glob("step-*.pt"))  # the step was not finished, nothing saved
    # no checkpoint: the same command without resume starts the run again (the folder rule)
    again = subprocess.run([sys.executable, str(_cli(tmp_path)), "pretrain", f"run_dir={run_dir}", *ARGS],
                           env=_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "stopped before its first checkpoint; starting it again from step 0" in again.stderr


def test_a_signal_in_the_last_step_stops_before_the_final_evaluation(tmp_path, straight):
    run_dir = tmp_path / "run"
    stopped = _interrupt(tmp_path, run_dir, [signal.SIGTERM], at_step=12)
    assert stopped.returncode == 143, stopped.stderr
    assert "Stopped by SIGTERM after step 12 of 12" in stopped.stderr
    assert not (run_dir / "encoder.safetensors").exists()  # stopped before saving and evaluating
    resumed = subprocess.run([sys.executable, str(_cli(tmp_path)), "pretrain", "--config", str(run_dir / "config.yaml"),
                              "trainer.resume=true"], env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    a, b = _weights(straight), _weights(run_dir)
    assert all(torch.equal(a[k], b[k]) for k in a)
