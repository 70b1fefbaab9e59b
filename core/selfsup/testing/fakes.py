"""Stand-ins for installed plugins: an entry point, its distribution, a module of hooks.

They let a test install a plugin (working or broken) exactly where ``importlib.metadata``
entry points come in, without installing a package::

    from selfsup.testing import FakeEntryPoint, hook_module, use_entry_points

    def test_a_broken_plugin_is_reported(monkeypatch):
        use_entry_points(monkeypatch, FakeEntryPoint("acme", ModuleNotFoundError("No module named 'x'")))
        ...  # selfsup.plugins.PluginSet().load_entry_points() now sees it

The plugin loading itself is the real one (:class:`selfsup.plugins.PluginSet`).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pytest

from ..hookspecs import hookimpl

__all__ = ["FakeDistribution", "FakeEntryPoint", "hook_module", "use_entry_points"]


class FakeDistribution:
    """The ``dist`` of an entry point: what error messages and ``selfsup plugins`` name."""

    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version


class FakeEntryPoint:
    """An entry point of group ``selfsup`` whose ``load()`` returns ``target``, or raises it
    when it is an exception (an import error of a broken plugin)."""

    def __init__(self, name: str, target: object, dist: tuple[str, str] = ("acme-ssl", "1.2.0")) -> None:
        self.name, self._target, self.dist = name, target, FakeDistribution(*dist)

    def load(self) -> object:
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


def hook_module(name: str = "acme_plugin", **hooks: Callable[..., Any]) -> types.ModuleType:
    """A module named ``name`` whose attributes are the given functions marked as hook
    implementations (``register_encoders=...``), as a plugin's ``plugin.py`` would be."""
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def use_entry_points(monkeypatch: pytest.MonkeyPatch, *entry_points: FakeEntryPoint) -> None:
    """Make ``entry_points`` the installed plugins for this test (instead of ``importlib.metadata``'s)."""
    monkeypatch.setattr("selfsup.plugins._entry_points", lambda: list(entry_points))
