"""Test support for plugin authors (opt-in).

Enable it in a plugin's ``conftest.py``::

    pytest_plugins = ["selfsup.testing"]

It provides the fixtures ``plugin_set``, ``register_plugin`` and
``hook_recorder``, sets ``SELFSUP_STRICT_PLUGINS=1`` so that validation
problems fail the tests, and exports the conformance kits
(:class:`EncoderContract`, :class:`ObjectiveContract`,
:class:`EvaluatorContract`, :class:`DatasetContract`, :class:`PluginImportContract`).
"""

from __future__ import annotations

import os

from .contracts import DatasetContract, EncoderContract, EvaluatorContract, ObjectiveContract, PluginImportContract
from .fixtures import HookCall, HookRecorder, hook_recorder, isolate, plugin_set, register_plugin

__all__ = [
    "DatasetContract",
    "EncoderContract",
    "EvaluatorContract",
    "ObjectiveContract",
    "PluginImportContract",
    "HookCall",
    "HookRecorder",
    "hook_recorder",
    "isolate",
    "plugin_set",
    "register_plugin",
]


def pytest_configure(config: object) -> None:
    os.environ.setdefault("SELFSUP_STRICT_PLUGINS", "1")
