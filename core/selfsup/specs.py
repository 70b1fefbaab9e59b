"""Spec objects: what every ``register_*`` hook returns.

A spec is a frozen description of one component: its name, a lazy factory, a
config dataclass holding its hyper-parameters, a description and what it needs.
The registry stamps each spec with the plugin, distribution and version that
provided it (``plugin``, ``distribution``, ``version``); those three fields are
not constructor arguments.

Factories are either callables or lazy ``"package.module:attribute"`` strings,
so that registering a component never imports its heavy dependencies.
Their signatures:

=================  ===============================================================
spec               factory signature
=================  ===============================================================
``EncoderSpec``    ``factory(config, data_info) -> torch.nn.Module`` with ``embed_dim``
``ObjectiveSpec``  ``factory(config, encoder, data_info) -> selfsup.Objective``
``DatasetSpec``    ``factory(config) -> selfsup.DataSource``; ``input_transform(config, state)``
                   ``-> selfsup.preprocessing.InputTransform`` (optional)
``EvaluatorSpec``  ``factory(config) -> selfsup.Evaluator``
``LoggerSpec``     ``factory(config, run_dir) -> selfsup.loggers.Logger``
=================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import MissingDependencyError, RegistrationError

__all__ = [
    "ComponentSpec",
    "ModalitySpec",
    "EncoderSpec",
    "ObjectiveSpec",
    "EvaluatorSpec",
    "DatasetSpec",
    "LoggerSpec",
    "FineTuneStrategySpec",
    "EmptyConfig",
    "Factory",
    "NAME_PATTERN",
]

#: A component factory: a callable, or a lazy ``"package.module:attribute"`` path.
Factory = Callable[..., Any] | str

#: Component names are lower case: letters, digits, ``-``, ``_`` and ``.``.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


@dataclass(frozen=True)
class EmptyConfig:
    """The config of a component without hyper-parameters."""


@dataclass(frozen=True, kw_only=True)
class ComponentSpec:
    """Fields shared by every spec."""

    #: The component's key, lower case with hyphens (``"t-jepa"``).
    name: str
    #: One line for ``selfsup list`` and ``selfsup info``.
    description: str = ""
    #: Other names the component answers to.
    aliases: tuple[str, ...] = ()
    #: Distribution requirements checked before the factory is imported,
    #: e.g. ``("torchaudio>=2.2",)``: the distribution must be installed at a
    #: matching version.
    requires: tuple[str, ...] = ()
    #: Filled in by the registry: the plugin's name, distribution and version.
    plugin: str = field(default="", init=False, compare=False)
    distribution: str = field(default="", init=False, compare=False)
    version: str = field(default="", init=False, compare=False)

    kind: ClassVar[str] = "component"

    def __post_init__(self) -> None:
        name = self.name.strip().lower()
        if not NAME_PATTERN.match(name):
            raise RegistrationError(
                f"Invalid {self.kind} name {self.name!r}: names are lower case letters, digits, "
                f"'-', '_' and '.'. Rename it, e.g. {re.sub(r'[^a-z0-9_.-]+', '-', name)!r}."
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "aliases", tuple(a.strip().lower() for a in self.aliases))

    @property
    def provider(self) -> str:
        """``"distribution version"`` (or the plugin name for in-process plugins)."""
        if self.distribution:
            return f"{self.distribution} {self.version}".strip()
        return f"plugin '{self.plugin}'" if self.plugin else "an unregistered spec"

    def stamped(self, plugin: str, distribution: str, version: str) -> ComponentSpec:
        """Return a copy carrying its provenance (used by the registry)."""
        clone = dataclasses.replace(self)
        object.__setattr__(clone, "plugin", plugin)
        object.__setattr__(clone, "distribution", distribution)
        object.__setattr__(clone, "version", version)
        return clone


@dataclass(frozen=True, kw_only=True)
class _BuildableSpec(ComponentSpec):
    #: A callable or a lazy ``"package.module:attribute"`` path.
    factory: Factory
    #: A dataclass whose fields are the component's hyper-parameters.
    config_cls: type = EmptyConfig

    def __post_init__(self) -> None:
        super().__post_init__()
        if not dataclasses.is_dataclass(self.config_cls):
            raise RegistrationError(
                f"{self.kind.capitalize()} '{self.name}': config_cls={self.config_cls!r} is not a "
                "dataclass. Decorate it with @dataclasses.dataclass, or leave config_cls out."
            )

    def resolve_factory(self) -> Callable[..., Any]:
        """Import a lazy factory (checking ``requires`` first) and return the callable."""
        _check_requirements(self)
        if callable(self.factory):
            return self.factory
        module_name, _, attribute = self.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise MissingDependencyError(
                f"{self.kind.capitalize()} '{self.name}' ({self.provider}) could not import "
                f"{module_name!r}: {exc}. Install the missing package, or reinstall the plugin that provides it."
            ) from exc
        try:
            return getattr(module, attribute) if attribute else module
        except AttributeError as exc:
            raise RegistrationError(
                f"{self.kind.capitalize()} '{self.name}' ({self.provider}) names factory "
                f"{self.factory!r}, but {module_name} has no attribute {attribute!r}. "
                "Please report this to the plugin author."
            ) from exc

    def default_config(self) -> Any:
        return self.config_cls()


def _check_requirements(spec: ComponentSpec) -> None:
    """Check each ``requires`` entry against the installed distributions (name and version)."""
    for requirement in spec.requires:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        satisfied = installed is not None
        if satisfied and name != requirement:
            try:
                from packaging.requirements import Requirement
            except ImportError:  # without packaging, only presence is checked
                pass
            else:
                satisfied = Requirement(requirement).specifier.contains(installed, prereleases=True)
        if not satisfied:
            found = f"{installed} is installed" if installed else "not installed"
            raise MissingDependencyError(
                f"{spec.kind.capitalize()} '{spec.name}' ({spec.provider}) needs "
                f"'{requirement}' ({found}). Install it: pip install '{requirement}'."
            )


@dataclass(frozen=True, kw_only=True)
class ModalitySpec(ComponentSpec):
    """A modality and the components ``pretrain(modality=...)`` picks by default."""

    default_encoder: str
    default_objective: str
    default_dataset: str
    default_evaluators: tuple[str, ...] = ("linear-probe", "knn")
    #: Evaluators for a declared task type (``{"regression": ("regression-probe",)}``) that
    #: replace ``default_evaluators`` when the dataset declares that task (see selfsup.tasks).
    task_evaluators: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Config values this modality prefers over component defaults, as a nested
    #: mapping (``{"trainer": {"max_steps": 300}}``); user overrides win. Settings
    #: under ``encoder_config``/``objective_config``/``data`` apply only while the
    #: modality's default component is used, ``evaluator_config.<name>`` only when
    #: that evaluator runs.
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: What one sample is called in progress throughputs (``"rows"`` gives ``rows/s``); a data
    #: source's own ``sample_unit`` attribute wins.
    sample_unit: str = "samples"
    kind: ClassVar[str] = "modality"


@dataclass(frozen=True, kw_only=True)
class EncoderSpec(_BuildableSpec):
    """A network mapping a batch to embeddings of width ``embed_dim``."""

    modality: str
    kind: ClassVar[str] = "encoder"


@dataclass(frozen=True, kw_only=True)
class ObjectiveSpec(_BuildableSpec):
    """A pretraining objective: owns heads, predictors, EMA targets and losses."""

    #: Modalities it supports; ``None`` means any modality.
    modalities: frozenset[str] | None = None
    #: Trainer settings the method's paper uses, e.g. ``{"lr": 3.66e-4}``;
    #: modality defaults and user overrides win over these.
    trainer_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The encoders (names in the run's modality; ``plugin:name`` allowed) this objective can
    #: train; empty: any. Choosing another one is an ``IncompatibleComponentsError`` before training.
    encoders: tuple[str, ...] = ()
    #: The encoder a run uses when it names none. ``None``: the modality's default encoder, or
    #: the first of ``encoders`` when that default is not among them.
    default_encoder: str | None = None
    #: The dataset a run uses when it names none, for an objective the modality's default
    #: dataset cannot feed. ``None``: the modality's default dataset.
    default_dataset: str | None = None
    #: Dataset settings the objective needs (``{"views_per_scene": 4}``), applied whenever the
    #: run's dataset is ``default_dataset``; they win over the modality's, the user's win over them.
    data_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: The evaluators a run uses when it names none, for an objective the modality's defaults do
    #: not fit (e.g. image SSL objectives in a modality whose defaults score a GAN).
    #: ``None``: the modality's ``default_evaluators``.
    default_evaluators: tuple[str, ...] | None = None
    kind: ClassVar[str] = "objective"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "encoders", tuple(e.strip().lower() for e in self.encoders))
        for attribute in ("default_encoder", "default_dataset"):
            value = getattr(self, attribute)
            if value is not None:
                object.__setattr__(self, attribute, value.strip().lower())
        if self.encoders and self.default_encoder is not None and self.default_encoder not in self.encoders:
            raise RegistrationError(
                f"Objective '{self.name}': default_encoder={self.default_encoder!r} is not among its "
                f"encoders {list(self.encoders)}. Add it to encoders, or pick one of them."
            )
        if self.data_defaults and self.default_dataset is None:
            raise RegistrationError(
                f"Objective '{self.name}': data_defaults are applied to its default_dataset, which is "
                "not set. Set default_dataset to the dataset they configure."
            )

    def supports(self, modality: str) -> bool:
        return self.modalities is None or modality in self.modalities


@dataclass(frozen=True, kw_only=True)
class EvaluatorSpec(_BuildableSpec):
    """A protocol that scores a frozen (or fine-tuned) encoder on labelled data."""

    modalities: frozenset[str] | None = None
    #: Task types it scores (``selfsup.tasks.TASK_TYPES``: ``binary``, ``multiclass``,
    #: ``multilabel``, ``regression``, ``none``); ``None``: any, labelled or not. A run
    #: whose dataset declares another task rejects it before training.
    tasks: frozenset[str] | None = None
    #: The label level it reads (``"point"``, ``"shape"``); ``None``: one label per embedding row.
    label_level: str | None = None
    kind: ClassVar[str] = "evaluator"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tasks is not None:
            from .tasks import TASK_TYPES

            tasks = frozenset(str(t) for t in ([self.tasks] if isinstance(self.tasks, str) else self.tasks))
            unknown = sorted(tasks - set(TASK_TYPES))
            if unknown:
                raise RegistrationError(
                    f"Evaluator '{self.name}': tasks={unknown} are not task types. Use some of {list(TASK_TYPES)}."
                )
            object.__setattr__(self, "tasks", tasks)

    def supports(self, modality: str) -> bool:
        return self.modalities is None or modality in self.modalities


@dataclass(frozen=True, kw_only=True)
class DatasetSpec(_BuildableSpec):
    """A dataset reader; its config usually has a ``root``."""

    modality: str
    #: Optional "raw inputs -> batch" transform used by ``selfsup embed`` / ``export``:
    #: ``input_transform(config, state) -> selfsup.preprocessing.InputTransform``, where
    #: ``config`` is the run's dataset config and ``state`` what the data source's
    #: ``preprocessing_state()`` returned at pretraining time. A callable or a lazy path.
    input_transform: Factory | None = None
    #: Trainer settings this dataset needs for the default run to show what pretraining does
    #: on it (a small dataset's budget, e.g. ``{"max_steps": 1200}``). They win over the
    #: objective's ``trainer_defaults`` and the modality's overrides; the user's win over them.
    trainer_defaults: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "dataset"

    def resolve_input_transform(self) -> Callable[..., Any] | None:
        """Import the ``input_transform`` factory (checking ``requires``); ``None`` without one."""
        if self.input_transform is None:
            return None
        clone = dataclasses.replace(self, factory=self.input_transform)
        return clone.stamped(self.plugin, self.distribution, self.version).resolve_factory()  # type: ignore[attr-defined]


@dataclass(frozen=True, kw_only=True)
class LoggerSpec(_BuildableSpec):
    """An experiment logger (TensorBoard, MLflow, W&B, ...) that receives the run's config,
    training scalars, evaluation metrics and plots; chosen with ``loggers=[...]``."""

    kind: ClassVar[str] = "logger"


@dataclass(frozen=True, kw_only=True)
class FineTuneStrategySpec(_BuildableSpec):
    """How the ``fine-tune`` evaluator trains and predicts (plain cross-entropy, SLA,
    Core-tuning, ...): ``factory(config)`` builds a
    :class:`selfsup.evaluation.fine_tune_strategy.FineTuneStrategy`; chosen with
    ``evaluator_config.fine-tune.strategy=<name>``."""

    #: Modalities it fits; ``None``: any (a strategy that needs images says so with a named
    #: error on the first batch of another modality).
    modalities: frozenset[str] | None = None
    kind: ClassVar[str] = "strategy"

    def supports(self, modality: str) -> bool:
        return self.modalities is None or modality in self.modalities
