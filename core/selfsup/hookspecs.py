"""The hooks a selfsup plugin implements.

Every hook is named ``register_<things>``, takes no arguments and returns an
iterable of spec objects (``selfsup.specs``). Built-in components are
registered through these same hooks. Hooks aggregate: every plugin's specs are
collected, and two providers of the same key are an error, never last-wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

from .specs import (
    DatasetSpec,
    EncoderSpec,
    EvaluatorSpec,
    FineTuneStrategySpec,
    LoggerSpec,
    ModalitySpec,
    ObjectiveSpec,
)

if TYPE_CHECKING:
    from .commands import CommandSpec

__all__ = ["hookimpl", "hookspec", "PROJECT_NAME"]

PROJECT_NAME = "selfsup"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_modalities() -> Iterable[ModalitySpec]:
    """Return the modalities this plugin defines, with their default components.

    Keyed by ``name``. Example::

        @hookimpl
        def register_modalities():
            return [ModalitySpec(name="tabular", default_encoder="ft-transformer",
                                 default_objective="t-jepa", default_dataset="adult-sample")]
    """


@hookspec
def register_encoders() -> Iterable[EncoderSpec]:
    """Return encoder specs; ``factory(config, data_info)`` builds an ``nn.Module``
    with an ``embed_dim`` attribute whose ``forward(batch)`` returns ``[rows, embed_dim]``.

    Keyed by ``(modality, name)``. Example::

        @hookimpl
        def register_encoders():
            return [EncoderSpec(name="mlp", modality="tabular",
                                factory="my_plugin.encoders:build_mlp", config_cls=MLPConfig)]
    """


@hookspec
def register_objectives() -> Iterable[ObjectiveSpec]:
    """Return objective specs; ``factory(config, encoder, data_info)`` builds a
    ``selfsup.Objective``.

    Keyed by ``name``; ``modalities=None`` means the objective fits any modality.
    Example::

        @hookimpl
        def register_objectives():
            return [ObjectiveSpec(name="my-loss", modalities=frozenset({"tabular"}),
                                  factory="my_plugin.objectives:MyObjective")]
    """


@hookspec
def register_evaluators() -> Iterable[EvaluatorSpec]:
    """Return evaluator specs; ``factory(config)`` builds a ``selfsup.Evaluator``.

    Keyed by ``name``. Example::

        @hookimpl
        def register_evaluators():
            return [EvaluatorSpec(name="anomaly-auroc", modalities=frozenset({"tabular"}),
                                  factory="my_plugin.evaluation:AnomalyAUROC")]
    """


@hookspec
def register_datasets() -> Iterable[DatasetSpec]:
    """Return dataset specs; ``factory(config)`` builds a ``selfsup.DataSource``.

    Keyed by ``(modality, name)``; the config usually has a ``root`` folder.
    Example::

        @hookimpl
        def register_datasets():
            return [DatasetSpec(name="adult", modality="tabular",
                                factory="my_plugin.datasets:Adult", config_cls=AdultConfig)]
    """


@hookspec
def register_loggers() -> Iterable[LoggerSpec]:
    """Return logger specs; ``factory(config, run_dir)`` builds a ``selfsup.loggers.Logger``
    (``log_hyperparams``, ``log_metrics``, ``log_artifact``, ``close``).

    Keyed by ``name``; a run uses the loggers named in ``loggers=[...]``. Example::

        @hookimpl
        def register_loggers():
            return [LoggerSpec(name="csv", factory="my_plugin.logging:CSVLogger", config_cls=CSVConfig)]
    """


@hookspec
def register_commands() -> Iterable[CommandSpec]:
    """Return subcommands of ``selfsup`` (``selfsup.commands.CommandSpec``); ``factory(parser)``
    adds the command's arguments to its ``argparse`` parser and returns ``handler(args) -> int | None``.

    Keyed by ``name``; a core command's name is refused, and two plugins providing one name are
    reached as ``selfsup <plugin>:<name>``. The factory is imported only when its command runs.
    Example::

        @hookimpl
        def register_commands():
            return [CommandSpec(name="audio-stats", description="fbank mean and std of a dataset",
                                factory="my_plugin.stats:command")]
    """


@hookspec
def register_fine_tune_strategies() -> Iterable[FineTuneStrategySpec]:
    """Return fine-tuning strategy specs; ``factory(config)`` builds a
    ``selfsup.evaluation.fine_tune_strategy.FineTuneStrategy`` (``tasks``, ``build_head``,
    ``training_loss``, ``predict``) that the ``fine-tune`` evaluator trains with.

    Keyed by ``name``; a run picks one with ``evaluator_config.fine-tune.strategy=<name>`` and
    sets it with ``evaluator_config.fine-tune.strategy_config.<key>=...``. Example::

        @hookimpl
        def register_fine_tune_strategies():
            return [FineTuneStrategySpec(name="label-smoothing", factory="my_plugin.tuning:LabelSmoothing",
                                         config_cls=LabelSmoothingConfig)]
    """
