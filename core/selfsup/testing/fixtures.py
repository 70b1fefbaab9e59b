"""Pytest fixtures for plugin authors: an isolated plugin set, registration, a hook recorder,
one intra-op thread, and a plugin test suite that sees only its own plugin."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from .. import plugins as plugins_module
from .. import registry as registry_module
from ..plugins import PluginSet

__all__ = [
    "HookCall",
    "HookRecorder",
    "plugin_set",
    "register_plugin",
    "hook_recorder",
    "isolate",
    "one_thread",
    "one_thread_fixture",
    "only_plugin",
    "torch_threads",
]


@pytest.fixture
def plugin_set(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSet]:
    """A fresh, strict plugin set with the core's built-ins and no entry points.

    It replaces the process-wide set for the test, so ``pretrain()``, the CLI
    and the registry see only what the test registers.
    """
    with isolate(monkeypatch, entry_points=False) as plugins:
        yield plugins


class isolate:
    """Context manager behind :func:`plugin_set` (``entry_points=True`` also loads installed plugins)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, entry_points: bool = False, strict: bool = True) -> None:
        self.monkeypatch, self.entry_points, self.strict = monkeypatch, entry_points, strict

    def __enter__(self) -> PluginSet:
        plugins = PluginSet(strict=self.strict)
        plugins.load_builtins()
        if self.entry_points:
            plugins.load_entry_points()
        self.monkeypatch.setattr(plugins_module, "_PLUGINS", plugins)
        self.monkeypatch.setattr(registry_module, "_REGISTRY", None)
        return plugins

    def __exit__(self, *exc: Any) -> None:
        registry_module.reset()


@pytest.fixture
def register_plugin(plugin_set: PluginSet) -> Iterator[Callable[..., str]]:
    """``register_plugin(obj, name=None)`` registers a plugin object for this test only."""
    names: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        registered = plugin_set.register(plugin, name=name)
        names.append(registered)
        registry_module.reset()
        return registered

    yield register
    for name in names:
        plugin_set.unregister(name)
    registry_module.reset()


@dataclass
class HookCall:
    name: str
    kwargs: dict[str, Any]
    result: Any = None


@dataclass
class HookRecorder:
    """Every hook call made through the isolated plugin set, in order."""

    calls: list[HookCall] = field(default_factory=list)

    def names(self) -> list[str]:
        return [call.name for call in self.calls]

    def assert_called(self, name: str) -> HookCall:
        for call in self.calls:
            if call.name == name:
                return call
        raise AssertionError(f"hook {name!r} was not called; calls: {self.names()}")


@pytest.fixture
def hook_recorder(plugin_set: PluginSet) -> Iterator[HookRecorder]:
    """Record hook calls (pluggy's ``add_hookcall_monitoring``) for one test."""
    recorder = HookRecorder()

    def before(hook_name: str, hook_impls: Any, kwargs: dict[str, Any]) -> None:
        recorder.calls.append(HookCall(hook_name, dict(kwargs)))

    def after(outcome: Any, hook_name: str, hook_impls: Any, kwargs: dict[str, Any]) -> None:
        recorder.calls[-1].result = outcome.get_result() if outcome.exception is None else outcome.exception

    undo = plugin_set.manager.add_hookcall_monitoring(before, after)
    yield recorder
    undo()


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """``torch.set_num_threads(count)`` inside the block, the previous number restored afterwards."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def one_thread_fixture(*, autouse: bool = False) -> Any:
    """A ``one_thread`` fixture: one intra-op torch thread for the test (tiny models are fastest so,
    and immune to contention for a shared machine's cores). ``autouse=True`` for a whole suite::

        # conftest.py
        from selfsup.testing import one_thread_fixture
        one_thread = one_thread_fixture(autouse=True)
    """

    @pytest.fixture(autouse=autouse, name="one_thread")
    def _one_thread() -> Iterator[None]:
        with torch_threads(1):
            yield

    return _one_thread


#: ``one_thread`` for the tests that ask for it (the suites that load ``selfsup.testing``).
one_thread = one_thread_fixture()


def only_plugin(distribution: str, *, autouse: bool = True) -> Any:
    """An ``only_this_plugin`` fixture: every test sees the core's built-ins and the installed
    plugin ``distribution`` only (its entry points; ``SELFSUP_LOAD_PLUGINS`` keeps the other
    installed plugins out, so a broken unrelated plugin cannot fail the suite in strict mode),
    in a fresh plugin set and registry (:class:`isolate`). The fixture yields the plugin set::

        # conftest.py
        from selfsup.testing import only_plugin
        only_this_plugin = only_plugin("selfsup-audio")
    """

    @pytest.fixture(autouse=autouse, name="only_this_plugin")
    def _only_this_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSet]:
        monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", distribution)
        with isolate(monkeypatch, entry_points=True) as plugins:
            yield plugins

    return _only_this_plugin
