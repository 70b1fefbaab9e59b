"""``ObjectiveSpec.default_evaluators``: an objective's own default evaluators replace the
modality's when the run names none (the vision SSL objectives drop the GAN's ``fd-local``)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from selfsup import ObjectiveSpec
from selfsup.config import resolve
from selfsup.registry import get_registry
from selfsup.tasks import LabelTask, default_evaluators

pytest.importorskip("selfsup_vision")


def _evaluators(**user: object) -> list[str]:
    resolved = resolve(OmegaConf.create({"modality": "vision", **user}), get_registry())
    return [spec.name for spec in resolved.evaluators]


def test_objective_defaults_replace_the_modality_defaults() -> None:
    assert _evaluators(objective="simclr") == ["linear-probe", "knn"]
    assert "fd-local" in _evaluators(objective="augself-gan")  # no objective defaults: the modality's


def test_user_evaluators_win_over_objective_defaults() -> None:
    assert _evaluators(objective="simclr", evaluators=["knn"]) == ["knn"]


def test_task_following_keeps_the_objective_defaults() -> None:
    class Modality:
        default_evaluators = ("linear-probe", "knn", "fd-local")
        task_evaluators = {"multiclass": ("fd-local",)}

    task = LabelTask(type="multiclass", num_classes=3)
    assert default_evaluators(Modality(), task) == ["fd-local"]
    assert default_evaluators(Modality(), task, defaults=("knn",)) == ["knn"]


def test_spec_field_defaults_to_none() -> None:
    assert ObjectiveSpec(name="x", factory="m:f").default_evaluators is None
