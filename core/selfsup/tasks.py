"""Tasks on data: what each label of a data source is, and which evaluators can score it.

A data source declares, in its ``info`` (:data:`selfsup.interfaces.DataInfo`), the task of
each label key under ``info["label_tasks"]``::

    info["label_tasks"] = {"label": {"type": "regression", "num_targets": 1}}

with ``type`` one of :data:`TASK_TYPES`:

==============  ==============================================================================
``binary``      one class index in {0, 1} per row (``num_classes`` = 2)
``multiclass``  one class index in ``0..num_classes-1`` per row
``multilabel``  ``num_targets`` binary (0/1) targets per row, ``NaN`` = missing (MoleculeNet)
``regression``  ``num_targets`` real-valued targets per row (``[N]`` or ``[N, T]``)
``none``        no labels (the source's batches carry no ``"label"``)
==============  ==============================================================================

(a source whose ``label_tasks`` has no ``"label"`` entry has no ``"label"``: task ``none``)
and an optional ``level`` (``"row"`` by default; e.g. ``"point"`` for per-point labels of a
point cloud, ``"shape"`` for one label per cloud). :func:`declare_task` writes the entry.
Evaluators, probes, ``fine-tune`` and the compatibility check read it through
:func:`label_task`; nothing guesses the task from label values. A source that declares
nothing (a plugin written before this field) is checked by nobody and its evaluators run as
before; its legacy ``info["task"]`` (``"classification"``, ``"regression"``,
``"multitask-binary"``, ``"unlabelled"``) is read as a declaration.

An evaluator states the task types it can score in ``EvaluatorSpec.tasks`` (``None``: any,
labels or not) and, for non-row labels, ``EvaluatorSpec.label_level``. :func:`check_evaluators`
rejects the others before training with an :class:`~selfsup.errors.EvaluatorTaskError` naming
the evaluators to use instead; :func:`default_evaluators` picks a modality's defaults for the
declared task.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ConfigError, EvaluatorTaskError

if TYPE_CHECKING:  # torch-free at import: specs.py reads TASK_TYPES
    from torch import nn

__all__ = [
    "TASK_TYPES",
    "CLASSIFICATION_TASKS",
    "TASK_DEFAULT_EVALUATORS",
    "LabelTask",
    "RawFeatureSource",
    "declare_task",
    "label_task",
    "supports_task",
    "check_evaluators",
    "default_evaluators",
]

#: The task types a label can have.
TASK_TYPES = ("binary", "multiclass", "multilabel", "regression", "none")
#: Types with one class index per row.
CLASSIFICATION_TASKS = frozenset({"binary", "multiclass"})
#: The core's evaluators for each task type, used when the modality's own defaults cannot
#: score the declared task (see :func:`default_evaluators`).
TASK_DEFAULT_EVALUATORS: dict[str, tuple[str, ...]] = {
    "binary": ("linear-probe", "knn"),
    "multiclass": ("linear-probe", "knn"),
    "multilabel": ("linear-probe",),
    "regression": ("regression-probe",),
    "none": ("embedding-stats",),
}
#: Legacy ``info["task"]`` strings and what they declare.
_LEGACY = {
    "regression": "regression",
    "multitask-binary": "multilabel",
    "multilabel": "multilabel",
    "unlabelled": "none",
    "unlabeled": "none",
    "none": "none",
    "binary": "binary",
    "multiclass": "multiclass",
}


@dataclass(frozen=True)
class LabelTask:
    """The declared task of one label key."""

    #: One of :data:`TASK_TYPES`.
    type: str
    #: Classes of a ``binary``/``multiclass`` label.
    num_classes: int | None = None
    #: Target columns of a ``multilabel``/``regression`` label.
    num_targets: int = 1
    #: What one label belongs to: ``"row"`` (one per embedding row), ``"point"``, ``"shape"``, ...
    level: str = "row"

    def __post_init__(self) -> None:
        if self.type not in TASK_TYPES:
            raise ConfigError(
                f"Task type {self.type!r} is not one of {list(TASK_TYPES)}. Declare e.g. type='multiclass'."
            )

    @property
    def labelled(self) -> bool:
        return self.type != "none"

    def describe(self) -> str:
        """``"regression (1 target)"``, ``"multiclass (7 classes)"``, ... for messages and tables."""
        if self.type in CLASSIFICATION_TASKS and self.num_classes:
            detail = f" ({self.num_classes} classes)"
        elif self.type in ("multilabel", "regression"):
            detail = f" ({self.num_targets} target{'s' if self.num_targets != 1 else ''})"
        else:
            detail = ""
        level = f", one label per {self.level}" if self.level != "row" else ""
        return f"{self.type}{detail}{level}"

    def to_info(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": self.type}
        if self.type in CLASSIFICATION_TASKS and self.num_classes is not None:
            entry["num_classes"] = int(self.num_classes)
        if self.type in ("multilabel", "regression"):
            entry["num_targets"] = int(self.num_targets)
        if self.level != "row":
            entry["level"] = self.level
        return entry


def declare_task(
    info: MutableMapping[str, Any],
    type: str,
    *,
    num_classes: int | None = None,
    num_targets: int = 1,
    level: str = "row",
    key: str = "label",
) -> LabelTask:
    """Record the task of label ``key`` in ``info["label_tasks"]`` and return it.

    ``multiclass`` with two classes is recorded as ``binary``.
    """
    if type == "multiclass" and num_classes == 2:
        type = "binary"
    if type == "binary" and num_classes is None:
        num_classes = 2
    task = LabelTask(type, num_classes=num_classes, num_targets=int(num_targets), level=level)
    tasks = dict(info.get("label_tasks") or {})
    tasks[key] = task.to_info()
    info["label_tasks"] = tasks
    return task


def label_task(info: Mapping[str, Any] | None, key: str = "label") -> LabelTask | None:
    """The declared task of label ``key``, or ``None`` when the source declares none."""
    if not isinstance(info, Mapping):
        return None
    tasks = info.get("label_tasks")
    if isinstance(tasks, Mapping):
        entry = tasks.get(key)
        if isinstance(entry, Mapping) and "type" in entry:
            return LabelTask(
                str(entry["type"]),
                num_classes=_int_or_none(entry.get("num_classes")),
                num_targets=int(entry.get("num_targets", 1)),
                level=str(entry.get("level", "row")),
            )
        if tasks and key not in tasks:
            return LabelTask("none") if key == "label" else None
    legacy = info.get("task") if key == "label" else None
    if not isinstance(legacy, str):
        return None
    if legacy == "classification":
        classes = _int_or_none(info.get("num_classes"))
        if classes is None:
            return None
        return LabelTask("binary" if classes == 2 else "multiclass", num_classes=classes)
    kind = _LEGACY.get(legacy)
    if kind is None:
        return None
    targets = _int_or_none(info.get("num_tasks")) or 1
    return LabelTask(kind, num_classes=_int_or_none(info.get("num_classes")), num_targets=targets)


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def supports_task(spec: Any, task: LabelTask | None) -> bool:
    """Whether an ``EvaluatorSpec`` can score labels of ``task`` (always, when undeclared)."""
    if task is None:
        return True
    types = getattr(spec, "tasks", None)
    if types is not None and task.type not in types:
        return False
    level = getattr(spec, "label_level", None)
    if level is not None and task.labelled and task.level != level:
        return False
    if level is None and types is not None and task.labelled and task.level != "row":
        return False  # a row-level probe cannot read per-point or per-shape labels
    return True


def default_evaluators(
    modality: Any, task: LabelTask | None, registry: Any | None = None, *, defaults: Sequence[str] | None = None
) -> list[str]:
    """The evaluators a run uses when the user names none, following the declared ``task``.

    1. ``modality.task_evaluators[task.type]`` when the modality gives a list for the task;
    2. else the modality's ``default_evaluators`` that can score the task, when all of them
       can (the defaults were picked for this kind of data);
    3. else those that can, followed by the core's :data:`TASK_DEFAULT_EVALUATORS` for the task.

    With a ``registry``, names it does not know for this modality are left out. ``defaults``
    (an objective's ``default_evaluators``) replace the modality's in steps 2 and 3.
    """
    objective_defaults = defaults is not None
    defaults = [str(name) for name in (defaults if defaults is not None else modality.default_evaluators)]
    if task is None:
        return defaults
    by_task = dict(getattr(modality, "task_evaluators", {}) or {})
    if task.type in by_task and not objective_defaults:
        return [str(name) for name in by_task[task.type]]
    if registry is None:
        return defaults

    def spec(name: str) -> Any:
        try:
            return registry.get("evaluator", name, modality=modality.name)
        except Exception:  # an unknown or incompatible name is reported where the user gives it
            return None

    usable = [name for name in defaults if (s := spec(name)) is not None and supports_task(s, task)]
    if len(usable) == len(defaults):
        return usable
    bare = {name.rpartition(":")[2] for name in usable}
    extra = [
        name
        for name in TASK_DEFAULT_EVALUATORS[task.type]
        if name not in bare and (s := spec(name)) is not None and supports_task(s, task)
    ]
    return usable + extra


def check_evaluators(specs: Sequence[Any], info: Mapping[str, Any], *, dataset: str, suggest: Sequence[str] = ()) -> None:
    """Raise :class:`EvaluatorTaskError` for the first evaluator that cannot score the data's task.

    ``suggest`` lists the evaluators to name as the fix (the defaults for the task).
    """
    task = label_task(info)
    if task is None:
        return
    for spec in specs:
        if supports_task(spec, task):
            continue
        fits = [name for name in suggest if name != spec.name]
        fix = (
            f"Use evaluators=[{','.join(fits)}] (the defaults for this task), or leave evaluators out."
            if fits
            else "Choose a dataset with labels of a task it supports."
        )
        accepted = sorted(spec.tasks) if getattr(spec, "tasks", None) is not None else list(TASK_TYPES)
        level = getattr(spec, "label_level", None) or "row"
        raise EvaluatorTaskError(
            f"Evaluator '{spec.name}' cannot score dataset '{dataset}': its labels are declared as "
            f"{task.describe()}, and '{spec.name}' scores {', '.join(accepted)} labels (one per {level}). {fix}"
        )


@runtime_checkable
class RawFeatureSource(Protocol):
    """A data source that can describe its rows by raw input features, for the baseline column.

    ``raw_feature_encoder()`` returns a parameter-free module mapping a batch to
    ``[rows, F]`` float features (tabular: numerical + one-hot categorical columns; graphs:
    pooled node features) with an integer ``embed_dim`` (= ``F``). The core runs the run's
    evaluators on it once and reports the numbers beside the pretrained and random-init ones.
    """

    def raw_feature_encoder(self) -> nn.Module: ...
