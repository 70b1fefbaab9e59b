"""The first command a user types for each registered objective works as documented:

    selfsup pretrain modality=<its modality> objective=<it> trainer.max_steps=2

with no other key: the objective's defaults (encoder, dataset, evaluators) must fit together,
and the run must finish with a metrics.json holding both the pretrained and the random-init
evaluation. One subprocess per objective (the real CLI, the installed plugins). The step budget
is the only override; the default evaluation is kept, so some objectives take minutes on a
shared CPU: the test is marked slow (CI runs it too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from selfsup.registry import get_registry


def _objectives() -> list[tuple[str, str]]:
    """``(objective, modality)`` for every objective the installed plugins register."""
    pairs = []
    for spec in get_registry().list("objective"):
        modalities = tuple(getattr(spec, "modalities", ()) or ())
        pairs.append((spec.name, sorted(modalities)[0] if modalities else ""))
    return sorted(pairs)


OBJECTIVES = _objectives()


def test_every_shipped_objective_is_covered() -> None:
    names = {name for name, _ in OBJECTIVES}
    shipped = {"t-jepa", "clan", "scgc", "scgc-star", "d-sla", "ssast", "ssamba", "augself-gan",
               "diffaugment", "msm", "gaussian-cross", "simclr", "byol", "dino", "swav", "seer"}
    assert shipped <= names, sorted(shipped - names)


@pytest.mark.slow
@pytest.mark.parametrize(("objective", "modality"), OBJECTIVES, ids=[name for name, _ in OBJECTIVES])
def test_default_pretrain_command_succeeds(objective: str, modality: str, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    command = [sys.executable, "-m", "selfsup", "pretrain", f"modality={modality}", f"objective={objective}",
               "trainer.max_steps=2"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{' '.join(command[2:])} failed:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    runs = list((tmp_path / "runs").glob("*/metrics.json"))
    assert len(runs) == 1, done.stdout[-2000:]
    metrics = json.loads(runs[0].read_text())
    assert metrics["run"]["objective"] == objective and metrics["run"]["modality"] == modality
    evaluations = metrics["evaluations"]
    assert evaluations, "the default run evaluates nothing"
    for name, record in evaluations.items():
        assert "error" not in record, f"evaluator {name} failed: {record.get('error')}"
        assert record.get("pretrained") and record.get("random_init"), f"{name} lacks a pretrained/random-init pair"
