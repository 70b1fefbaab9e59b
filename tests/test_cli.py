"""The selfsup command: listings, info, plugins, pretrain, and errors without tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from selfsup.cli import main

SUPPORT = Path(__file__).parent / "support"


def test_list_shows_components_with_providers(toy, capsys):
    assert main(["list", "objectives", "--modality", "toy"]) == 0
    out = capsys.readouterr().out
    assert "denoise" in out and "plugin 'toy'" in out


def test_info_prints_config_defaults(toy, capsys):
    assert main(["info", "mlp"]) == 0
    out = capsys.readouterr().out
    assert "encoder mlp (modality toy)" in out and "hidden: 16" in out


def test_plugins_lists_status(toy, capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "selfsup-builtin" in out and "toy" in out and "ok" in out


def test_pretrain_prints_the_table(toy, tmp_path, capsys):
    assert main(["pretrain", "modality=toy", f"run_dir={tmp_path / 'r'}", "trainer.max_steps=5"]) == 0
    out = capsys.readouterr().out
    assert "linear-probe/accuracy" in out and "random init" in out


def test_print_config(toy, capsys):
    assert main(["pretrain", "--print-config", "modality=toy"]) == 0
    assert "max_steps: 20" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["modality=toy", "trainer.max_step=3"], "Did you mean 'trainer.max_steps'"),
        (["modality=nope"], "Unknown modality 'nope'"),
        (["modality=toy", "objective=denoize"], "Did you mean 'denoise'"),
        (["modality=toy", "trainer.max_steps"], "is not key=value"),
    ],
)
def test_errors_are_one_line_without_traceback(toy, capsys, args, message):
    assert main(["pretrain", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selfsup: error:") and message in err and "Traceback" not in err


def test_python_dash_m_runs_the_cli():
    env = {**os.environ, "SELFSUP_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run([sys.executable, "-m", "selfsup", "list", "evaluators"], capture_output=True, text=True, check=True, env=env)
    assert "linear-probe" in out.stdout and "knn" in out.stdout


def test_config_file_reproduces_a_run_in_a_new_directory(toy, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["pretrain", "modality=toy", "run_dir=first", "trainer.max_steps=4"]) == 0
    assert main(["pretrain", "--config", "first/config.yaml"]) == 0
    assert "run saved in runs/toy-denoise-" in capsys.readouterr().out
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].startswith("toy-denoise-")
    first = (tmp_path / "first" / "metrics.json").read_text()
    again = (tmp_path / "runs" / runs[0] / "metrics.json").read_text()
    import json

    assert json.loads(first)["evaluations"]["linear-probe"]["pretrained"] == json.loads(again)["evaluations"]["linear-probe"]["pretrained"]


def test_config_file_with_resume_continues_the_saved_run(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["pretrain", "modality=toy", "run_dir=first", "trainer.max_steps=4"]) == 0
    assert main(["pretrain", "--config", "first/config.yaml", "trainer.resume=true", "trainer.max_steps=6"]) == 0
    steps = [line for line in (tmp_path / "first" / "log.jsonl").read_text().splitlines() if line]
    assert len(steps) == 6 and not (tmp_path / "runs").exists()
