"""The first command a user types for each registered objective works as documented:

    selfsup pretrain modality=<its modality> objective=<it> trainer.max_steps=2

with no other key: the objective's defaults (encoder, dataset, evaluators) must fit together,
and the run must finish with a metrics.json holding both the pretrained and the random-init
evaluation. One subprocess per objective (the real CLI, the installed plugins). The step budget
is the only override; the default evaluation is kept, so some objectives take minutes on a
shared CPU: the test is marked slow (CI runs it too).

The suite's budget (docs/testing.md, "The suite's budget"): objectives whose default runs
evaluate *the same thing* share one evaluation. Two default runs evaluate the same thing when
their resolved configs agree on everything the evaluation reads: modality, encoder and its
config, dataset and its config, evaluators and their config, the seed and the trainer's
evaluation keys; an objective that evaluates another network than its encoder (it overrides
``Objective.evaluation_encoder``, e.g. DINO's teacher, T-JEPA's target) is never grouped.
In each group the first objective (by name) runs with its full default evaluation; the
others run the same command through ``tests/support/docs_shim`` (``SELFSUP_DOCS_MAX_STEPS``):
the config is resolved as written, so the default evaluator names and settings are still
checked, then it trains and saves with no evaluator. Measured on one CPU (2026-12-07): the
shared evaluations of byol/swav (ResNet-18 on digits), augself-gan-plus/diffaugment (BigGAN-D
on digits) and scgc-star (SBM clustering) cost about as much as their representatives'.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from selfsup.config import resolve
from selfsup.interfaces import Objective
from selfsup.registry import get_registry

SHIM = Path(__file__).parent / "support" / "docs_shim"
#: The resolved keys that decide what a default run's evaluation computes.
EVALUATION_KEYS = ("modality", "encoder", "encoder_config", "dataset", "data", "evaluators", "evaluator_config", "seed")


def _objectives() -> list[tuple[str, str]]:
    """``(objective, modality)`` for every objective the installed plugins register."""
    pairs = []
    for spec in get_registry().list("objective"):
        modalities = tuple(getattr(spec, "modalities", ()) or ())
        pairs.append((spec.name, sorted(modalities)[0] if modalities else ""))
    return sorted(pairs)


OBJECTIVES = _objectives()


def evaluation_key(objective: str, modality: str) -> str:
    """What the default run of ``objective`` evaluates, as a string (equal strings: the same evaluation)."""
    registry = get_registry()
    config = OmegaConf.to_container(
        resolve({"modality": modality, "objective": objective, "trainer": {"max_steps": 2}}, registry).config,
        resolve=True,
    )
    assert isinstance(config, dict)
    key = {name: config.get(name) for name in EVALUATION_KEYS}
    key["trainer"] = {name: value for name, value in config["trainer"].items() if "eval" in name or name == "device"}
    cls = registry.get("objective", objective).resolve_factory()
    if isinstance(cls, type) and cls.evaluation_encoder is not Objective.evaluation_encoder:
        key["evaluation_encoder"] = objective  # evaluates another network: never shares
    return json.dumps(key, sort_keys=True, default=str)


@functools.cache
def evaluated_by() -> dict[str, str]:
    """For each objective, the objective whose default run evaluates for it (itself or its group's first)."""
    first: dict[str, str] = {}
    chosen = {}
    for objective, modality in OBJECTIVES:
        chosen[objective] = first.setdefault(evaluation_key(objective, modality), objective)
    return chosen


def test_every_shipped_objective_is_covered() -> None:
    names = {name for name, _ in OBJECTIVES}
    shipped = {"t-jepa", "clan", "scgc", "scgc-star", "d-sla", "ssast", "ssamba", "augself-gan",
               "diffaugment", "msm", "gaussian-cross", "simclr", "g-simclr", "byol", "myow", "obow", "dino", "mugs",
               "swav", "seer", "sit"}
    assert shipped <= names, sorted(shipped - names)


def test_shared_evaluations_group_only_identical_evaluations() -> None:
    """The grouping sees every key the evaluation reads (a regrouping bug would hide an objective's evaluation)."""
    chosen = evaluated_by()
    assert set(chosen) == {name for name, _ in OBJECTIVES}
    # ResNet-18 on digits, the same evaluators
    assert chosen["simclr"] == chosen["g-simclr"] == chosen["byol"] == chosen["myow"] == chosen["obow"] == chosen["swav"]
    assert chosen["mugs"] == "mugs" and chosen["sit"] == "sit"  # ViT defaults: vit-tiny / vit-small
    assert chosen["dino"] == "dino" and chosen["t-jepa"] == "t-jepa"  # they evaluate their EMA teacher/target
    assert chosen["seer"] == "seer" and chosen["mae"] == "mae"  # RegNetY / MAE-ViT: other encoders
    assert chosen["gaussian-cross"] == "gaussian-cross" and chosen["msm"] == "msm"  # posed views vs none
    assert chosen["ssast"] == "ssast" and chosen["ssamba"] == "ssamba"  # AST vs AMBA
    assert chosen["d-sla"] == "d-sla"  # graph-set data, GIN
    # every modality evaluates at least once in full
    assert {m for o, m in OBJECTIVES if chosen[o] == o} == {m for _, m in OBJECTIVES}
    # a key the evaluation reads splits a group
    assert evaluation_key("simclr", "vision") != evaluation_key("seer", "vision")


@pytest.mark.slow
@pytest.mark.parametrize(("objective", "modality"), OBJECTIVES, ids=[name for name, _ in OBJECTIVES])
def test_default_pretrain_command_succeeds(objective: str, modality: str, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    representative = evaluated_by()[objective]
    evaluates = representative == objective
    if not evaluates:  # resolved as written, then trained and saved without the shared evaluation
        env["PYTHONPATH"] = os.pathsep.join([str(SHIM), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["SELFSUP_DOCS_MAX_STEPS"] = "2"
    command = [sys.executable, "-m", "selfsup", "pretrain", f"modality={modality}", f"objective={objective}",
               "trainer.max_steps=2"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{' '.join(command[2:])} failed:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    runs = list((tmp_path / "runs").glob("*/metrics.json"))
    assert len(runs) == 1, done.stdout[-2000:]
    metrics = json.loads(runs[0].read_text())
    assert metrics["run"]["objective"] == objective and metrics["run"]["modality"] == modality
    assert (runs[0].parent / "encoder.safetensors").is_file(), "the run saved no encoder"
    evaluations = metrics["evaluations"]
    if not evaluates:
        assert not evaluations, f"{objective}'s evaluation is {representative}'s: it should have been left out"
        return
    assert evaluations, "the default run evaluates nothing"
    for name, record in evaluations.items():
        assert "error" not in record, f"evaluator {name} failed: {record.get('error')}"
        assert record.get("pretrained") and record.get("random_init"), f"{name} lacks a pretrained/random-init pair"
