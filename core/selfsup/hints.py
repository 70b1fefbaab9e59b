"""Hints for the config keys newcomers reach for first.

``objective.mask_ratio=0.5`` reads naturally but ``objective`` names a component; its
settings live under ``objective_config``. Without this check the dotlist becomes
``objective: {mask_ratio: 0.5}`` and the registry is asked for a component named after a
mapping. :func:`check_choice_keys` turns every such slip into a ``ConfigError`` naming the
key to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

__all__ = ["SETTINGS_SECTION", "check_choice_keys"]

#: Where the settings of each component choice live (``None``: it has none).
SETTINGS_SECTION: dict[str, str | None] = {
    "modality": None,
    "objective": "objective_config",
    "encoder": "encoder_config",
    "dataset": "data",
    "evaluators": "evaluator_config.<evaluator>",
    "evaluator": "evaluator_config.<evaluator>",
}


def _first_leaf(value: Mapping[str, Any], prefix: str = "") -> tuple[str, Any]:
    key, item = next(iter(value.items()))
    dotted = f"{prefix}{key}"
    if isinstance(item, Mapping) and item:
        return _first_leaf(item, dotted + ".")
    return dotted, item


def check_choice_keys(user: Mapping[str, Any]) -> None:
    """Refuse ``objective.x=...``, ``encoder.x``, ``dataset.x``, ``evaluators.x``, ``evaluator.x``
    and ``modality.x`` with the key that sets ``x``."""
    for choice, section in SETTINGS_SECTION.items():
        value = user.get(choice)
        if not isinstance(value, Mapping) or not value:
            continue
        sub, item = _first_leaf(value)
        given = f"{choice}.{sub}={item}"
        if section is None:
            raise ConfigError(
                f"'{given}': '{choice}' names a component and has no settings. "
                f"Give the name alone, e.g. {choice}=tabular (run 'selfsup list modalities')."
            )
        if section.endswith("<evaluator>"):
            name, _, rest = sub.partition(".")
            if rest:  # evaluator.knn.k=5: the evaluator is named
                fix = f"evaluator_config.{name}.{rest}={item}"
            else:
                fix = f"evaluator_config.<evaluator>.{sub}={item}, e.g. evaluator_config.knn.{sub}={item}"
            raise ConfigError(f"'{given}': evaluator settings are set per evaluator. Use {fix}.")
        raise ConfigError(
            f"'{given}': '{choice}' names the {choice} component ({choice}=<name>); "
            f"its settings are under '{section}'. Use {section}.{sub}={item}."
        )
