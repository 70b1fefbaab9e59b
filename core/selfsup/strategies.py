"""Binding fine-tuning strategies (``register_fine_tune_strategies``) to the evaluators that use them.

An evaluator that trains with a strategy exposes ``strategy_name`` and ``strategy_config`` (from
its config) and ``use_strategy(strategy)``; the core's ``fine-tune`` does. The evaluators know
nothing of the registry: :func:`build_evaluator` (used by ``pretrain``, ``evaluate`` and
evaluation during training) looks the strategy up, builds its config and hands it over, and
:func:`check_strategies` does the same lookups before training so that an unknown strategy or
setting fails before any compute is spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import ConfigError, did_you_mean

__all__ = ["build_evaluator", "build_strategy", "check_strategies"]


def build_strategy(registry: Any, name: str, settings: Mapping[str, Any], *, modality: str | None = None, owner: str = "fine-tune") -> Any:
    """The strategy ``name`` (``plugin:name`` allowed) built from its config class and ``settings``."""
    spec = registry.get("strategy", name, modality=modality)
    schema = OmegaConf.structured(spec.config_cls)
    unknown = sorted(set(settings) - set(schema.keys()))
    if unknown:
        known = list(schema.keys())
        raise ConfigError(
            f"{owner}: strategy '{spec.name}' has no setting '{unknown[0]}'.{did_you_mean(unknown[0], known)} "
            f"Its settings: {', '.join(known) or 'none'} (selfsup info {spec.name})."
        )
    try:
        config = OmegaConf.to_object(OmegaConf.merge(schema, dict(settings)))
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or "?"
        raise ConfigError(
            f"{owner}: strategy_config.{key} of strategy '{spec.name}' has the wrong type ({str(exc).splitlines()[0]}). "
            f"Give a value of the type 'selfsup info {spec.name}' shows."
        ) from exc
    return spec.resolve_factory()(config)


def _modality(resolved: Any) -> str | None:
    modality = getattr(resolved, "modality", None)
    return getattr(modality, "name", None)


def build_evaluator(resolved: Any, spec: Any) -> Any:
    """``spec``'s evaluator built from the run's config, with its strategy bound when it takes one."""
    evaluator = spec.resolve_factory()(resolved.evaluator_config(spec.name))
    use = getattr(evaluator, "use_strategy", None)
    if callable(use):
        use(build_strategy(resolved.registry, evaluator.strategy_name, evaluator.strategy_config,
                           modality=_modality(resolved), owner=spec.name))
    return evaluator


def check_strategies(resolved: Any) -> None:
    """Look up and build every chosen evaluator's strategy (before training)."""
    for spec in resolved.evaluators:
        config = resolved.evaluator_config(spec.name)
        name = getattr(config, "strategy", None)
        if isinstance(name, str) and resolved.registry is not None:
            build_strategy(resolved.registry, name, dict(getattr(config, "strategy_config", {}) or {}),
                           modality=_modality(resolved), owner=spec.name)
