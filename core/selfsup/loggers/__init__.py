"""Experiment loggers: the ``register_loggers`` hook's components and how the engine calls them.

A logger is built by its spec's ``factory(config, run_dir)`` when a run starts (rank 0 only)
and receives, in order: the resolved config (:meth:`Logger.log_hyperparams`), training
scalars at each log flush and evaluation metrics during training
(:meth:`Logger.log_metrics`), the final metrics, the run's plots and ``metrics.json``
(:meth:`Logger.log_artifact`), and :meth:`Logger.close` with the run's status.

Metric names: ``train/<key>`` (``loss``, ``loss/<phase>``, ``lr``, ``grad_norm``,
``samples_per_s``, ...), ``eval/<evaluator>/<metric>`` during training, and after training
``final/<evaluator>/<metric>``, ``random_init/<evaluator>/<metric>`` and
``delta/<evaluator>/<metric>`` (pretrained minus random init).

A logger that raises is reported by one ``RuntimeWarning`` and switched off for the rest of
the run; training never stops because of it (:class:`LoggerSet`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["Logger", "LoggerSet", "LoggerWarning", "flatten", "build_loggers", "STATUSES"]

#: How a run ended, as passed to :meth:`Logger.close`.
STATUSES = ("finished", "failed", "interrupted")


@runtime_checkable
class Logger(Protocol):
    """What a ``LoggerSpec`` factory returns."""

    def log_hyperparams(self, params: Mapping[str, Any]) -> None:
        """The run's resolved config, nested (``{"trainer": {"lr": ...}, ...}``)."""

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Scalars at one optimiser step (steps never decrease)."""

    def log_artifact(self, path: Path) -> None:
        """A file the run wrote (plots, ``metrics.json``)."""

    def close(self, status: str) -> None:
        """The run ended: ``finished``, ``failed`` or ``interrupted``."""


class LoggerWarning(RuntimeWarning):
    """A logger failed; it is switched off and the run goes on."""


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"trainer": {"lr": 1e-3}}`` -> ``{"trainer.lr": 1e-3}``; lists become strings."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        elif isinstance(value, (list, tuple)):
            flat[dotted] = str(list(value))
        else:
            flat[dotted] = value
    return flat


class LoggerSet:
    """The run's loggers; every call reaches each active logger, and a failure switches one off."""

    def __init__(self, loggers: Sequence[tuple[str, Logger]] = ()) -> None:
        self.active: list[tuple[str, Logger]] = list(loggers)
        #: ``{logger name: "<method>: <error>"}`` for the loggers switched off.
        self.failed: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.active)

    def _call(self, method: str, *args: Any) -> None:
        for name, logger in list(self.active):
            try:
                getattr(logger, method)(*args)
            except Exception as exc:  # a logger never stops training
                self.active.remove((name, logger))
                self.failed[name] = f"{method}: {type(exc).__name__}: {exc}"
                warnings.warn(
                    f"Logger '{name}' failed in {method}() with {type(exc).__name__}: {exc}. It is switched off "
                    f"for the rest of this run; training goes on. Fix logger_config.{name}, or remove "
                    f"'{name}' from loggers.",
                    LoggerWarning,
                    stacklevel=3,
                )

    def log_hyperparams(self, params: Mapping[str, Any]) -> None:
        self._call("log_hyperparams", params)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        if metrics:
            self._call("log_metrics", metrics, step)

    def log_artifact(self, path: Path) -> None:
        self._call("log_artifact", path)

    def close(self, status: str) -> None:
        self._call("close", status)
        self.active.clear()


def build_loggers(specs: Sequence[Any], configs: Mapping[str, Any], run_dir: Path) -> LoggerSet:
    """Build each chosen logger (``configs[name]`` is its config object) before training starts.

    A logger that cannot start is a :class:`~selfsup.errors.ConfigError` (or the
    ``MissingDependencyError`` of its missing package): the run has not started yet.
    """
    from ..errors import ConfigError, SelfsupError

    built: list[tuple[str, Logger]] = []
    try:
        for spec in specs:
            try:
                logger = spec.resolve_factory()(configs[spec.name], run_dir)
            except SelfsupError:
                raise
            except Exception as exc:
                raise ConfigError(
                    f"Logger '{spec.name}' ({spec.provider}) could not start: {type(exc).__name__}: {exc}. "
                    f"Fix logger_config.{spec.name}, or remove '{spec.name}' from loggers."
                ) from exc
            built.append((spec.name, logger))
    except BaseException:
        LoggerSet(built).close("failed")
        raise
    return LoggerSet(built)
