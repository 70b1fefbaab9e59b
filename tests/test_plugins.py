"""Plugin loading, validation and the environment controls."""

from __future__ import annotations

import importlib.metadata
import types

import pytest

from selfsup.errors import PluginError, PluginLoadError, PluginValidationError
from selfsup.plugins import BUILTIN_PLUGIN_NAME, PluginSet
from selfsup.testing import FakeEntryPoint, hook_module, use_entry_points

_FakeEntryPoint = FakeEntryPoint


def _plugin_module(**hooks) -> types.ModuleType:
    return hook_module("fake_plugin", **hooks)


def _load(monkeypatch, entry_points, *, strict=False) -> PluginSet:
    use_entry_points(monkeypatch, *entry_points)
    plugins = PluginSet(strict=strict)
    plugins.load_builtins()
    plugins.load_entry_points()
    return plugins


def test_builtin_plugin_registers_core_evaluators(monkeypatch):
    plugins = _load(monkeypatch, [])
    status = plugins.statuses[BUILTIN_PLUGIN_NAME]
    assert status.status == "ok" and status.distribution == "selfsup"
    assert "register_evaluators" in status.hooks


def test_failing_plugin_is_reported_and_skipped(monkeypatch):
    ep = _FakeEntryPoint("acme", ModuleNotFoundError("No module named 'torchaudio'"))
    with pytest.warns(RuntimeWarning, match="failed to load"):
        plugins = _load(monkeypatch, [ep])
    status = plugins.statuses["acme"]
    assert status.status == "error"
    assert "Plugin 'acme' (acme-ssl 1.2.0) failed to load: ModuleNotFoundError: No module named 'torchaudio'" in status.error
    assert "SELFSUP_DISABLE_PLUGINS=acme" in status.error


def test_failing_plugin_raises_in_strict_mode(monkeypatch):
    ep = _FakeEntryPoint("acme", ImportError("boom"))
    with pytest.raises(PluginLoadError, match="acme-ssl 1.2.0"):
        _load(monkeypatch, [ep], strict=True)


def test_strict_mode_from_environment(monkeypatch):
    monkeypatch.setenv("SELFSUP_STRICT_PLUGINS", "1")
    assert PluginSet().strict is True


def test_hook_signature_mismatch_names_plugin_and_signature(monkeypatch):
    def register_encoders(cfg):
        return []

    ep = _FakeEntryPoint("acme", _plugin_module(register_encoders=register_encoders))
    with pytest.raises(PluginValidationError) as info:
        _load(monkeypatch, [ep], strict=True)
    message = str(info.value)
    assert "Plugin 'acme' (acme-ssl 1.2.0)" in message and "cfg" in message
    assert "SELFSUP_DISABLE_PLUGINS=acme" in message


def test_unknown_hook_suggests_the_closest(monkeypatch):
    def register_encoder():
        return []

    ep = _FakeEntryPoint("acme", _plugin_module(register_encoder=register_encoder))
    with pytest.raises(PluginValidationError, match="unknown hook 'register_encoder'. Did you mean 'register_encoders'"):
        _load(monkeypatch, [ep], strict=True)


def test_unknown_hook_is_unregistered_when_not_strict(monkeypatch):
    def register_encoder():
        return []

    ep = _FakeEntryPoint("acme", _plugin_module(register_encoder=register_encoder))
    with pytest.warns(RuntimeWarning):
        plugins = _load(monkeypatch, [ep])
    assert plugins.statuses["acme"].status == "error"
    assert not plugins.manager.has_plugin("acme")


def test_disable_plugins_by_entry_point_or_distribution(monkeypatch):
    eps = [_FakeEntryPoint("acme", _plugin_module()), _FakeEntryPoint("other", _plugin_module(), dist=("other-ssl", "0.1"))]
    monkeypatch.setenv("SELFSUP_DISABLE_PLUGINS", "acme,other-ssl")
    plugins = _load(monkeypatch, eps)
    assert plugins.statuses["acme"].status == "blocked"
    assert plugins.statuses["other"].status == "blocked"


def test_builtin_cannot_be_disabled(monkeypatch):
    monkeypatch.setenv("SELFSUP_DISABLE_PLUGINS", BUILTIN_PLUGIN_NAME)
    with pytest.raises(PluginError, match="cannot be disabled"):
        _load(monkeypatch, [])


def test_load_plugins_allow_list(monkeypatch):
    eps = [_FakeEntryPoint("acme", _plugin_module()), _FakeEntryPoint("other", _plugin_module(), dist=("other-ssl", "0.1"))]
    monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", "other-ssl")
    plugins = _load(monkeypatch, eps)
    assert plugins.statuses["acme"].status == "blocked"
    assert plugins.statuses["other"].status == "ok"


def test_disable_autoload(monkeypatch):
    monkeypatch.setenv("SELFSUP_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins = _load(monkeypatch, [_FakeEntryPoint("acme", _plugin_module())])
    assert plugins.statuses["acme"].status == "blocked"
    assert plugins.statuses[BUILTIN_PLUGIN_NAME].status == "ok"


def test_trace_writes_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("SELFSUP_TRACE_PLUGINS", "1")
    plugins = _load(monkeypatch, [])
    plugins.manager.hook.register_evaluators()
    assert "register_evaluators" in capsys.readouterr().err


def test_registering_the_same_name_twice_is_an_error(plugin_set):
    module = _plugin_module()
    plugin_set.register(module, name="twice")
    with pytest.raises(PluginError, match="registered twice"):
        plugin_set.register(_plugin_module(), name="twice")


def test_installed_first_party_plugins_load_cleanly():
    """With every plugin installed (CI), each entry point loads with status ok."""
    eps = importlib.metadata.entry_points(group="selfsup")
    if not eps:
        pytest.skip("no selfsup plugins installed")
    plugins = PluginSet(strict=True)
    plugins.load_builtins()
    plugins.load_entry_points()
    assert all(s.status == "ok" for s in plugins.list()), [s for s in plugins.list() if s.status != "ok"]


def test_hook_recorder_sees_registry_collection(hook_recorder, toy):
    from selfsup.registry import get_registry

    get_registry().list("encoders")
    assert "register_encoders" in hook_recorder.names()
