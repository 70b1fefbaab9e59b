"""``selfsup pretrain modality=timeseries`` from the command line, its errors, and a UCR run end to end."""

from __future__ import annotations

import json

from selfsup.cli import main

TINY = ["trainer.max_steps=3", "objective_config.pretrain_steps=2", "trainer.batch_size=16", "trainer.progress=off",
        "data.train_size=48", "data.test_size=24", "data.length=64", "encoder_config.n_block=2",
        "encoder_config.base_filters=8", "encoder_config.out_dim=16", "objective_config.cwt_filters=4"]


def test_cli_pretrains_the_default_timeseries_run(tmp_path, capsys):
    assert main(["pretrain", "modality=timeseries", f"run_dir={tmp_path / 'run'}", *TINY]) == 0
    out = capsys.readouterr().out
    assert "frame-projections on synthetic-pulses (timeseries, encoder frame-resnet1d, seed 0)" in out
    assert "regression-probe/r2" in out  # the regression task picks the regression probe
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["run"]["encoder"] == "frame-resnet1d"
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert "loss/pretrain" in log[0] and "ntx_time_cwt" in log[0] and "loss/mappers" in log[-1]


def test_cli_ucr_run_with_linear_probe(tmp_path, capsys, ucr_root):
    args = ["pretrain", "modality=timeseries", "dataset=ucr", f"data.root={ucr_root}", "data.name=ItalyPowerDemand",
            f"run_dir={tmp_path / 'ucr'}", "evaluators=[linear-probe]", *TINY[:4], *TINY[7:]]
    assert main(args) == 0
    assert "linear-probe/accuracy" in capsys.readouterr().out


def test_cli_unequal_lengths_are_one_line(tmp_path, capsys, ucr_root):
    code = main(["pretrain", "modality=timeseries", "dataset=ucr", f"data.root={ucr_root}", "data.name=JapaneseVowels",
                 f"run_dir={tmp_path / 'bad'}", *TINY[:4]])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "unequal lengths (7-26). Set data.unequal_length=resample" in err


def test_cli_objective_needs_the_frame_encoder(tmp_path, capsys):
    code = main(["pretrain", "modality=timeseries", "encoder=resnet1d", f"run_dir={tmp_path / 'bad'}", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "frame-resnet1d" in err and "Traceback" not in err
