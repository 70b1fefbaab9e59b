"""The ``selfsup`` command with the plugin installed."""

from __future__ import annotations

import json

from selfsup.cli import main


def test_example_cli_pretrain_example_series(tmp_path, capsys):
    run_dir = tmp_path / "cli-run"
    code = main(
        [
            "pretrain",
            "modality=example-series",
            "trainer.max_steps=5",
            "trainer.device=cpu",
            "data.train_size=128",
            "data.val_size=32",
            "data.test_size=64",
            "evaluators=[linear-probe]",
            f"run_dir={run_dir}",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "ts-simclr on synthetic-sines (example-series, encoder conv1d, seed 0)" in out
    assert "linear-probe/accuracy" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["run"]["trainer"]["max_steps"] == 5
    assert metrics["evaluations"]["linear-probe"]["data"]["train_size"] == 128


def test_example_cli_print_config_shows_plugin_defaults(capsys):
    assert main(["pretrain", "modality=example-series", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "objective: ts-simclr" in out and "temperature: 0.2" in out and "num_classes: 4" in out


def test_example_cli_reports_plugin_errors_in_one_line(tmp_path, capsys):
    code = main(["pretrain", "modality=example-series", "data.num_classes=1", f"run_dir={tmp_path / 'bad'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("selfsup: error: synthetic-sines cannot generate data.num_classes=1")
    assert "Traceback" not in err


def test_the_plugin_command_sines_summary(capsys):
    """``selfsup sines-summary``, added through the register_commands hook: per-class counts of
    each split of the generated data, and a bad key as one error line."""
    assert main(["sines-summary", "num_classes=3", "train_size=60", "val_size=30", "test_size=30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["train", "val", "test"]
    train_counts = [int(v) for v in lines[0].split("[")[1].rstrip("]").split(",")]
    assert lines[0].startswith("train: 60 rows") and len(train_counts) == 3 and sum(train_counts) == 60
    assert main(["sines-summary", "classes=3"]) == 2
    err = capsys.readouterr().err
    assert "'classes=3' is not key=value with a key of synthetic-sines" in err and "Traceback" not in err
