"""Callables named by config values, behind an allow-list.

A config value may name a component's building block (GaussianCross's
``objective_config.teacher``). Such a value resolves to one of the names the
component itself provides (``"resnet18"``) or to a ``"package.module:attribute"``
path that the user has allowed explicitly in the environment variable
``SELFSUP_ALLOWED_FACTORIES`` (comma-separated, exact paths). Anything else is an
:class:`~selfsup.errors.UnsafeFactoryError` raised before the module is imported,
so a shared ``config.yaml`` or a command line can never run arbitrary code
(``teacher=os:system``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import ConfigError, UnsafeFactoryError, did_you_mean

__all__ = ["ALLOW_VARIABLE", "allowed_factories", "check_config_factory", "config_factory"]

#: The environment variable holding the allowed ``package.module:attribute`` paths.
ALLOW_VARIABLE = "SELFSUP_ALLOWED_FACTORIES"


def allowed_factories() -> frozenset[str]:
    """The paths in ``SELFSUP_ALLOWED_FACTORIES``."""
    value = os.environ.get(ALLOW_VARIABLE, "")
    return frozenset(part.strip() for part in value.split(",") if part.strip())


def check_config_factory(value: str, *, key: str, builtin: Sequence[str]) -> None:
    """Refuse ``value`` unless it is one of ``builtin`` or an allowed ``package.module:attribute``
    path, importing nothing: for a component config's ``__post_init__``, so that a run is refused
    before its data is built. :func:`config_factory` applies the same check."""
    if value in builtin:
        return
    names = ", ".join(repr(name) for name in builtin)
    if ":" not in value:
        raise ConfigError(
            f"{key}={value!r} is not one of {names}.{did_you_mean(value, list(builtin))} "
            f"Use one of them (or an allowed 'package.module:attribute', see {ALLOW_VARIABLE})."
        )
    if value not in allowed_factories():
        raise UnsafeFactoryError(
            f"{key}={value!r} names a Python callable, which a config may only do when the path is on the "
            f"allow-list (a shared config could otherwise run any code). If you trust {value!r}, allow it: "
            f"export {ALLOW_VARIABLE}={value}."
        )


def config_factory(value: str, *, key: str, builtin: Mapping[str, Callable[..., Any]]) -> Callable[..., Any]:
    """The callable that the config value ``value`` of config key ``key`` names.

    ``builtin`` maps the names the component provides to their callables. A
    ``package.module:attribute`` path is imported only when it is on the allow-list.
    """
    if value in builtin:
        return builtin[value]
    check_config_factory(value, key=key, builtin=tuple(builtin))
    names = ", ".join(repr(name) for name in builtin)
    module_name, _, attribute = value.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"{key}={value!r} is allowed but could not be imported ({exc}). Give the path of an importable "
            f"callable, or use one of {names}."
        ) from exc
    if not callable(factory):
        raise ConfigError(f"{key}={value!r} is {type(factory).__name__}, not a callable. Give a callable's path.")
    return factory
