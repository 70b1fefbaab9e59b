"""Bad inputs through the CLI: a named error and a one-line fix, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfsup.cli import main


@pytest.fixture
def malformed_csv(tmp_path: Path) -> Path:
    folder = tmp_path / "malformed"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,7,1\n7,8,0\n")
    return folder


@pytest.fixture
def empty_csv(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b,label\n")
    return folder


CASES = {
    "unknown key": (["modality=tabular", "trainer.max_step=2"], "Unknown config key 'trainer.max_step'. Did you mean 'trainer.max_steps'"),
    "unknown modality": (["modality=tabulr"], "Unknown modality 'tabulr'. Did you mean 'tabular'"),
    "unknown objective": (["modality=tabular", "objective=t-jepe"], "Unknown objective 't-jepe'. Did you mean 't-jepa'"),
    "missing root": (["modality=tabular", "dataset=adult", "data.root=/nonexistent/adult"], "not found"),
    "malformed row": (["modality=tabular", "dataset=csv", "data.root={malformed}"], "line 4"),
    "empty dataset": (["modality=tabular", "dataset=csv", "data.root={empty}"], "but no data rows"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_without_traceback(case, malformed_csv, empty_csv, tmp_path, capsys):
    args, expected = CASES[case]
    args = [a.format(malformed=malformed_csv, empty=empty_csv) for a in args]
    code = main(["pretrain", *args, f"run_dir={tmp_path / 'run'}", "trainer.max_steps=1", "evaluators=[]"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("selfsup: error:") and "Traceback" not in err
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_objective_of_another_modality_is_rejected(capsys, tmp_path):
    from selfsup.registry import get_registry

    others = [s for s in get_registry().list("objectives") if not s.supports("tabular")]
    if not others:
        pytest.skip("no objective of another modality installed")
    code = main(["pretrain", "modality=tabular", f"objective={others[0].name}", f"run_dir={tmp_path / 'r'}"])
    err = capsys.readouterr().err
    assert code == 2 and "does not support modality 'tabular'" in err and "Traceback" not in err
