"""Structured run configs and their merge order.

Merge order, lowest first: component defaults (each spec's ``config_cls`` and
the objective's ``trainer_defaults``) < modality defaults
(``ModalitySpec.overrides``) < the dataset's ``trainer_defaults`` < user overrides (config file < keyword arguments
< CLI dotlist). An unknown or mistyped key is a :class:`ConfigError` naming the
key and the closest valid one.

Which components a run uses (user's choice, objective's default, modality's
default) is decided in :mod:`selfsup.choices`.

Public keys: ``modality``, ``objective``, ``encoder``, ``dataset``,
``evaluators``, ``run_dir``, ``seed``, ``data.*`` (the dataset's config),
``encoder_config.*``, ``objective_config.*``, ``evaluator_config.<name>.*``,
``loggers``, ``logger_config.<name>.*`` and ``trainer.*`` (:class:`TrainerConfig`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .choices import choose, matches, qualified
from .plugins import BUILTIN_PLUGIN_NAME
from .errors import ConfigError, did_you_mean

__all__ = [
    "TrainerConfig",
    "RunConfig",
    "ResolvedRun",
    "CHOICE_KEYS",
    "load_user_config",
    "reuse_saved_config",
    "parse_dotlist",
    "resolve",
    "follow_task",
    "to_container",
    "dataclass_defaults",
]

#: Keys that choose components (resolved before the schema is known).
CHOICE_KEYS = ("modality", "objective", "encoder", "dataset", "evaluators")


@dataclass
class TrainerConfig:
    """The engine's settings; the same for every modality."""

    #: Optimiser steps; when unset, ``max_epochs`` decides.
    max_steps: Optional[int] = None
    max_epochs: Optional[int] = None
    batch_size: int = 256
    lr: float = 1e-3
    #: ``adamw``, ``adam``, ``sgd`` or ``lars``.
    optimizer: str = "adamw"
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    momentum: float = 0.9
    #: Biases and other 1-D parameters get no weight decay.
    exclude_bias_and_norm_from_weight_decay: bool = True
    #: ``cosine`` (linear warm-up then cosine) or ``constant`` (warm-up then flat).
    schedule: str = "cosine"
    warmup_steps: Optional[int] = None
    warmup_fraction: float = 0.05
    #: Update the warm-up factor every N steps (a staircase, as SSAST's official 50; the first N
    #: steps then run at lr 0); 1: every step, ``(step + 1) / warmup_steps``.
    warmup_every: int = 1
    #: The cosine ends at ``lr * min_lr_ratio``.
    min_lr_ratio: float = 0.0
    grad_clip_norm: Optional[float] = None
    grad_clip_value: Optional[float] = None
    accumulate_grad_batches: int = 1
    #: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
    device: str = "auto"
    #: ``fp32``, ``bf16``, ``fp16`` or ``auto`` (bf16 on CUDA that supports it, else fp32).
    precision: str = "fp32"
    #: PyTorch's CPU threads (``torch.set_num_threads``) for the run, restored afterwards;
    #: ``None``: PyTorch's default (one per core).
    threads: Optional[int] = None
    #: Wrap the objective's training step with ``torch.compile``.
    compile: bool = False
    #: Convolution weights and 4-D input batches in the ``channels_last`` memory format.
    channels_last: bool = False
    #: Under ``torchrun``: ``ddp`` (replicas, gradients averaged) or ``fsdp`` (sharded with FSDP2).
    strategy: str = "ddp"
    #: Under ``torchrun``: convert BatchNorm layers to ``SyncBatchNorm`` (statistics over the global batch).
    sync_batchnorm: bool = False
    #: Under ``torchrun``: let DDP skip parameters a step does not use (always on for several phases).
    find_unused_parameters: bool = False
    #: Save a checkpoint every N steps (0: only at the end).
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    #: Continue the run in ``run_dir`` from its last checkpoint.
    resume: bool = False
    #: Steps between flushes of the per-step log (one host-device sync per flush).
    log_every: int = 10
    num_workers: int = 0
    drop_last: bool = True
    #: ``auto`` (a bar when stderr is a terminal, plain lines otherwise), ``bar`` (or ``on``), ``plain`` or ``off``.
    progress: str = "auto"
    #: Seconds between plain progress lines (0: at every update); see ``selfsup.progress``.
    progress_every: float = 30.0
    #: Same as adding ``tensorboard`` to ``loggers``.
    tensorboard: bool = False
    #: Batch size for embedding data for the run's plots (evaluators have their own ``batch_size``).
    eval_batch_size: int = 1024
    #: Also evaluate the pretrained encoder every N steps while training (0: only at the end);
    #: each evaluation is a line of ``eval_log.jsonl``.
    eval_every: int = 0
    #: Evaluators run during training (names from the run's ``evaluators``); empty: all of them.
    eval_during_training: list[str] = field(default_factory=list)
    #: The ``"evaluator/metric"`` (higher is better) that picks the best evaluation during
    #: training, reported separately in ``metrics.json``; ``None``: the first metric reported.
    eval_select: Optional[str] = None
    #: Train a linear classifier beside the objective on the encoder's detached features of each
    #: training batch, logged as ``online_probe/loss`` and ``online_probe/accuracy`` (labelled data only).
    online_probe: bool = False
    #: The online probe's AdamW learning rate.
    online_probe_lr: float = 1e-2


@dataclass
class RunConfig:
    """One pretraining run. ``data``, ``encoder_config``, ``objective_config`` and
    ``evaluator_config`` take the schema of the chosen components."""

    modality: Optional[str] = None
    objective: Optional[str] = None
    encoder: Optional[str] = None
    dataset: Optional[str] = None
    evaluators: Optional[list[str]] = None
    run_dir: Optional[str] = None
    seed: int = 0
    data: Any = None
    encoder_config: Any = None
    objective_config: Any = None
    evaluator_config: Any = None
    #: Experiment loggers (``register_loggers``), e.g. ``[tensorboard, mlflow]``.
    loggers: Optional[list[str]] = None
    logger_config: Any = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    #: Written by the engine into ``config.yaml``: one entry per resume, ``{step, changed, notes}``
    #: (:mod:`selfsup.resume`). Not carried into a new run started from that file.
    resumes: list[Any] = field(default_factory=list)


@dataclass
class ResolvedRun:
    """A validated config plus the specs it names."""

    config: DictConfig
    modality: Any
    encoder: Any
    objective: Any
    dataset: Any
    evaluators: list[Any]
    #: The chosen ``LoggerSpec`` objects (``loggers``).
    loggers: list[Any] = field(default_factory=list)
    #: True when the user named no evaluators (the modality's defaults were taken; they
    #: follow the dataset's declared task once it is known, see :func:`follow_task`).
    evaluators_defaulted: bool = False
    #: The registry the run was resolved against.
    registry: Any = None

    def component_config(self, key: str) -> Any:
        """The config object (a dataclass instance) of ``data``/``encoder_config``/...."""
        return OmegaConf.to_object(self.config[key])

    def evaluator_config(self, name: str) -> Any:
        return OmegaConf.to_object(self.config.evaluator_config[name])

    def logger_config(self, name: str) -> Any:
        return OmegaConf.to_object(self.config.logger_config[name])


def parse_dotlist(items: Sequence[str]) -> DictConfig:
    """``["trainer.lr=0.1", "evaluators=[knn]"]`` -> a nested config."""
    for item in items:
        if "=" not in item:
            raise ConfigError(
                f"Argument {item!r} is not key=value. Write it as e.g. trainer.max_steps=100."
            )
    try:
        return OmegaConf.from_dotlist(list(items))
    except OmegaConfBaseException as exc:
        raise ConfigError(f"Could not parse {list(items)}: {exc}. Quote values with spaces.") from exc


def load_user_config(path: str | Path) -> DictConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {str(path)!r} not found. Give the path to a run's config.yaml.")
    try:
        loaded = OmegaConf.load(path)
    except Exception as exc:  # yaml errors
        raise ConfigError(f"Config file {str(path)!r} is not valid YAML: {exc}. Fix the file.") from exc
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"Config file {str(path)!r} must hold a mapping of keys, not a list.")
    return loaded


def reuse_saved_config(saved: DictConfig, user: DictConfig) -> DictConfig:
    """A saved ``config.yaml`` as the base of a new run: its ``run_dir`` is dropped
    (a new one is made) unless the user names a ``run_dir`` or resumes the saved run."""
    resuming = bool(OmegaConf.select(user, "trainer.resume", default=False))
    if not resuming and ("resumes" in saved or ("run_dir" in saved and "run_dir" not in user)):
        saved = saved.copy()
        saved.pop("resumes", None)  # the history of the saved run, not of a new one
        if "run_dir" not in user:
            saved.pop("run_dir", None)
    return saved


def to_container(config: Any) -> Any:
    if isinstance(config, (DictConfig, ListConfig)):
        return OmegaConf.to_container(config, resolve=True)
    return config


def resolve(user: Mapping[str, Any] | DictConfig, registry: Any) -> ResolvedRun:
    """Validate ``user`` overrides against the chosen components' schemas and merge.

    ``registry`` is a :class:`selfsup.registry.Registry`.
    """
    user_cfg = user if isinstance(user, DictConfig) else OmegaConf.create(dict(user))
    from .hints import check_choice_keys  # objective.x=... -> objective_config.x

    check_choice_keys(user_cfg)
    _check_keys(user_cfg, _top_level_schema(), "")
    modality_name = user_cfg.get("modality")
    if not modality_name:
        installed = ", ".join(s.name for s in registry.list("modality")) or "none installed"
        raise ConfigError(f"No modality given. Pass modality=<name> (installed: {installed}).")
    modality = registry.get("modality", str(modality_name))
    chosen = choose(registry, modality, user_cfg.get("objective"), user_cfg.get("encoder"), user_cfg.get("dataset"))
    objective, encoder, dataset = chosen.objective, chosen.encoder, chosen.dataset
    evaluator_names = user_cfg.get("evaluators")
    defaulted = evaluator_names is None
    lookup = registry.get
    if evaluator_names is None:
        evaluator_names = list(getattr(objective, "default_evaluators", None) or modality.default_evaluators)
        lookup = partial(registry.get_default, prefer=(modality.plugin, BUILTIN_PLUGIN_NAME))
    if isinstance(evaluator_names, str):
        evaluator_names = [evaluator_names]
    evaluators = [lookup("evaluator", str(n), modality=modality.name) for n in evaluator_names]
    logger_names = _logger_names(user_cfg)
    loggers = [registry.get("logger", n) for n in logger_names]

    schema = OmegaConf.structured(RunConfig)
    OmegaConf.set_struct(schema, False)
    schema.data = _schema(dataset.config_cls)
    schema.encoder_config = _schema(encoder.config_cls)
    schema.objective_config = _schema(objective.config_cls)
    schema.evaluator_config = OmegaConf.create({spec.name: _schema(spec.config_cls) for spec in evaluators})
    schema.logger_config = OmegaConf.create({spec.name: _schema(spec.config_cls) for spec in loggers})
    OmegaConf.set_struct(schema, True)
    layers = [
        OmegaConf.create({"trainer": dict(objective.trainer_defaults)}),
        _modality_layer(modality, encoder, objective, dataset, evaluators, registry),
        OmegaConf.create({"trainer": dict(dataset.trainer_defaults)}),
        _objective_data_layer(objective, dataset),
        user_cfg,
    ]
    for layer in layers:
        _check_keys(layer, schema, "")
    choices = {
        "modality": modality.name,
        "objective": qualified(registry, "objective", objective, user_cfg.get("objective")),
        "encoder": qualified(registry, "encoder", encoder, user_cfg.get("encoder")),
        "dataset": qualified(registry, "dataset", dataset, user_cfg.get("dataset")),
        "evaluators": [qualified(registry, "evaluator", s, n) for s, n in zip(evaluators, evaluator_names)],
        "loggers": [_qualified(s, n) for s, n in zip(loggers, logger_names)],
    }
    try:
        merged = OmegaConf.merge(schema, *layers, choices)
    except OmegaConfBaseException as exc:
        raise ConfigError(_describe(exc)) from exc
    _check_values(merged)
    return ResolvedRun(merged, modality, encoder, objective, dataset, evaluators, loggers, defaulted, registry)


def _logger_names(user_cfg: DictConfig) -> list[str]:
    """``loggers`` as a list, plus ``tensorboard`` when ``trainer.tensorboard=true`` (the older switch)."""
    names = user_cfg.get("loggers") or []
    names = [str(names)] if isinstance(names, str) else [str(n) for n in names]
    if OmegaConf.select(user_cfg, "trainer.tensorboard", default=False) is True:
        if "tensorboard" not in {n.rpartition(":")[2].strip().lower() for n in names}:
            names.append("tensorboard")
    return names


def follow_task(resolved: ResolvedRun, data_info: Mapping[str, Any]) -> ResolvedRun:
    """The run with evaluators that fit the task ``data_info`` declares, checked before training.

    When the user named no evaluators, the modality's defaults are replaced by
    :func:`selfsup.tasks.default_evaluators` for the declared task (the config is resolved
    again with that list). Then every evaluator is checked against the task: one that cannot
    score it is an :class:`~selfsup.errors.EvaluatorTaskError` naming the evaluators to use.
    """
    from .tasks import check_evaluators, default_evaluators, label_task

    task = label_task(data_info)
    if task is None:
        return resolved
    registry = resolved.registry
    wanted = default_evaluators(resolved.modality, task, registry, defaults=getattr(resolved.objective, "default_evaluators", None))
    current = [str(name) for name in resolved.config.evaluators]
    if resolved.evaluators_defaulted and registry is not None and wanted != current:
        config = resolved.config.copy()
        OmegaConf.set_struct(config, False)
        keep = {name.rpartition(":")[2] for name in wanted}
        config.evaluator_config = {k: v for k, v in (config.evaluator_config or {}).items() if k in keep}
        config.evaluators = wanted
        resolved = resolve(OmegaConf.create(OmegaConf.to_container(config)), registry)
        resolved.evaluators_defaulted = True
    check_evaluators(resolved.evaluators, data_info, dataset=resolved.dataset.name, suggest=wanted)
    return resolved


def _modality_layer(
    modality: Any, encoder: Any, objective: Any, dataset: Any, evaluators: list[Any], registry: Any = None
) -> DictConfig:
    """The modality's overrides that apply to the chosen components.

    Settings for a component (``encoder_config``, ``objective_config``, ``data``)
    apply only when it is the modality's default one (the modality plugin's own
    when another plugin registers the same name), and ``evaluator_config``
    entries only for evaluators in the run, so that choosing other components
    never trips over keys of the defaults.
    """
    layer = OmegaConf.create(dict(modality.overrides))
    for key, kind, spec, default in (
        ("encoder_config", "encoder", encoder, modality.default_encoder),
        ("objective_config", "objective", objective, modality.default_objective),
        ("data", "dataset", dataset, modality.default_dataset),
    ):
        plugin, _, bare = default.rpartition(":")
        contested = registry is not None and registry.contested(kind, spec)
        own = spec.plugin == (plugin or modality.plugin) or not (plugin or contested)
        if key in layer and (spec.name != bare or not own):
            layer.pop(key)
    if "evaluator_config" in layer:
        chosen = {spec.name for spec in evaluators}
        layer.evaluator_config = {k: v for k, v in layer.evaluator_config.items() if k in chosen}
    return layer


def _objective_data_layer(objective: Any, dataset: Any) -> DictConfig:
    """The objective's ``data_defaults`` when the run's dataset is its ``default_dataset``."""
    if objective.data_defaults and matches(dataset, [objective.default_dataset]):
        return OmegaConf.create({"data": dict(objective.data_defaults)})
    return OmegaConf.create({})


def _qualified(spec: Any, given: Any) -> str:
    """Keep ``plugin:name`` when the user gave it (loggers; components use :func:`selfsup.choices.qualified`)."""
    return str(given) if given and ":" in str(given) else spec.name


def _schema(config_cls: type) -> DictConfig:
    """A component's structured config, writable even when its dataclass is frozen."""
    node = OmegaConf.structured(config_cls)
    OmegaConf.set_readonly(node, False)
    for key in node.keys():  # free mapping fields (dict[str, Any], e.g. fine-tune's strategy_config) take any key
        child = node._get_node(key)
        if isinstance(child, DictConfig) and OmegaConf.get_type(child) is dict and len(child) == 0:
            OmegaConf.set_struct(child, False)
    return node


def _top_level_schema() -> DictConfig:
    schema = OmegaConf.structured(RunConfig)
    return schema


def _check_keys(layer: DictConfig, schema: DictConfig, prefix: str) -> None:
    for key in layer.keys():
        dotted = f"{prefix}{key}"
        if key not in schema:
            valid = [f"{prefix}{k}" for k in schema.keys()]
            hint = did_you_mean(dotted, valid)
            raise ConfigError(
                f"Unknown config key '{dotted}'.{hint or ' Valid keys here: ' + ', '.join(valid) + '.'}"
                + (" Remove or rename it." if hint else "")
            )
        value, expected = layer[key], schema[key]
        if isinstance(expected, DictConfig) and OmegaConf.get_type(expected) is dict and len(expected) == 0:
            continue  # a free mapping field (e.g. fine-tune's strategy_config): its owner checks the keys
        if isinstance(value, DictConfig) and isinstance(expected, DictConfig):
            _check_keys(value, expected, dotted + ".")
        elif isinstance(value, DictConfig) and expected is not None and not isinstance(expected, DictConfig):
            raise ConfigError(f"Config key '{dotted}' takes a single value, not a mapping. Write {dotted}=<value>.")


def _describe(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", "") or ""
    message = str(exc).splitlines()[0]
    return f"Invalid value for config key '{key}': {message}. Give a value of the expected type."


def _check_values(config: DictConfig) -> None:
    trainer = config.trainer
    # YAML reads on/off as booleans, which the str field stores as "True"/"False"
    trainer.progress = {"true": "on", "false": "off"}.get(str(trainer.progress).lower(), trainer.progress)
    if trainer.progress not in {"auto", "bar", "on", "plain", "off"}:
        raise ConfigError(f"trainer.progress={trainer.progress!r} is not one of auto, bar, on, plain, off. Use trainer.progress=plain for log files.")
    if trainer.progress_every < 0:
        raise ConfigError(f"trainer.progress_every must be >= 0 seconds (0: every update), got {trainer.progress_every}. Use e.g. trainer.progress_every=30.")
    if trainer.precision not in {"fp32", "bf16", "fp16", "auto"}:
        raise ConfigError(
            f"trainer.precision={trainer.precision!r} is not one of fp32, bf16, fp16, auto. "
            "Use trainer.precision=bf16 for mixed precision."
        )
    if trainer.optimizer not in {"adamw", "adam", "sgd", "lars"}:
        raise ConfigError(
            f"trainer.optimizer={trainer.optimizer!r} is not one of adamw, adam, sgd, lars.{did_you_mean(trainer.optimizer, ['adamw', 'adam', 'sgd', 'lars'])}"
        )
    if trainer.schedule not in {"cosine", "constant"}:
        raise ConfigError(f"trainer.schedule={trainer.schedule!r} is not 'cosine' or 'constant'.")
    for key in ("batch_size", "accumulate_grad_batches", "warmup_every"):
        if trainer[key] < 1:
            raise ConfigError(f"trainer.{key} must be at least 1, got {trainer[key]}.")
    if trainer.max_steps is not None and trainer.max_steps < 1:
        raise ConfigError(f"trainer.max_steps must be at least 1, got {trainer.max_steps}.")
    if trainer.max_steps is None and trainer.max_epochs is None:
        raise ConfigError("Neither trainer.max_steps nor trainer.max_epochs is set. Set one, e.g. trainer.max_steps=1000.")
    if trainer.strategy not in ("ddp", "fsdp"):
        raise ConfigError(f"trainer.strategy={trainer.strategy!r} is not one of ddp, fsdp. Use trainer.strategy=fsdp to shard large encoders.")
    if trainer.strategy == "fsdp" and trainer.eval_every:
        raise ConfigError(
            "trainer.eval_every with trainer.strategy=fsdp: the sharded encoder cannot be evaluated on rank 0 alone. "
            "Use trainer.strategy=ddp, or evaluate the saved checkpoints afterwards with trainer.eval_every=0."
        )
    if trainer.checkpoint_every < 0:
        raise ConfigError(
            f"trainer.checkpoint_every must be >= 0 (0: only the final checkpoint), got {trainer.checkpoint_every}. "
            "Use e.g. trainer.checkpoint_every=500."
        )
    if trainer.keep_checkpoints < 1:
        raise ConfigError(
            f"trainer.keep_checkpoints must be at least 1, got {trainer.keep_checkpoints}. "
            "Use trainer.keep_checkpoints=2 (the default) so a corrupt newest checkpoint has a fallback."
        )
    if trainer.eval_every < 0:
        raise ConfigError(f"trainer.eval_every must be >= 0 (0: off), got {trainer.eval_every}. Use e.g. trainer.eval_every=100.")
    chosen = [str(name).rpartition(":")[2] for name in config.evaluators]
    for name in trainer.eval_during_training:
        if str(name).rpartition(":")[2] not in chosen:
            raise ConfigError(
                f"trainer.eval_during_training names {name!r}, which is not among the run's evaluators {chosen}."
                f"{did_you_mean(str(name), chosen)} Add it to evaluators or pick one of them."
            )


def dataclass_defaults(config_cls: type) -> dict[str, Any]:
    """The default values of a config dataclass, as a plain dict (for ``selfsup info``)."""
    return OmegaConf.to_container(OmegaConf.structured(config_cls)) if dataclasses.is_dataclass(config_cls) else {}
