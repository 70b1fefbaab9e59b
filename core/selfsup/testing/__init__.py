"""Test support for plugin authors (opt-in).

Enable it in a plugin's ``conftest.py``::

    pytest_plugins = ["selfsup.testing"]

It provides the fixtures ``plugin_set``, ``register_plugin``, ``hook_recorder`` and
``one_thread``, the fixture factories :func:`only_plugin` (a suite that sees only its own
plugin) and :func:`one_thread_fixture` (autouse), fake installed plugins
(:class:`FakeEntryPoint`, :func:`hook_module`, :func:`use_entry_points`), sets ``SELFSUP_STRICT_PLUGINS=1`` so that validation
problems fail the tests, and exports the conformance kits
(:class:`EncoderContract`, :class:`ObjectiveContract`,
:class:`EvaluatorContract`, :class:`DatasetContract`, :class:`PluginImportContract`).
"""

from __future__ import annotations

import os

from .contracts import DatasetContract, EncoderContract, EvaluatorContract, ObjectiveContract, PluginImportContract
from .fakes import FakeDistribution, FakeEntryPoint, hook_module, use_entry_points
from .fixtures import (
    HookCall,
    HookRecorder,
    hook_recorder,
    isolate,
    one_thread,
    one_thread_fixture,
    only_plugin,
    plugin_set,
    register_plugin,
    torch_threads,
)

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
    "one_thread",
    "one_thread_fixture",
    "only_plugin",
    "torch_threads",
    "FakeDistribution",
    "FakeEntryPoint",
    "hook_module",
    "use_entry_points",
]


def pytest_configure(config: object) -> None:
    os.environ.setdefault("SELFSUP_STRICT_PLUGINS", "1")
