"""``register_commands``: plugin subcommands of ``selfsup``, isolated like the other hooks."""

from __future__ import annotations

import argparse
import sys
import types
import warnings

import pytest

from selfsup import CommandSpec
from selfsup.cli import main
from selfsup.errors import RegistrationError
from selfsup.testing import hook_module, isolate

#: A module a lazy factory string can name (``"test_commands_target:greet"``).
_TARGET = types.ModuleType("test_commands_target")


def _greet(parser: argparse.ArgumentParser):
    parser.add_argument("--name", required=True)
    parser.add_argument("--code", type=int, default=0)

    def handler(args: argparse.Namespace) -> int:
        print(f"hello {args.name}")
        return args.code

    return handler


def _crash(parser: argparse.ArgumentParser):
    def handler(args: argparse.Namespace) -> None:
        raise ValueError("the plugin's own bug")

    return handler


_TARGET.greet = _greet  # type: ignore[attr-defined]
_TARGET.crash = _crash  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _target_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "test_commands_target", _TARGET)


def _commands(*specs: CommandSpec, name: str = "acme_plugin") -> types.ModuleType:
    return hook_module(name, register_commands=lambda: list(specs))


def _plugins(monkeypatch, *modules: types.ModuleType, strict: bool = False):
    with isolate(monkeypatch, entry_points=False, strict=strict) as plugins:
        for module in modules:
            plugins.register(module, name=module.__name__.removesuffix("_plugin"))
    return plugins


GREET = CommandSpec(name="greet", description="say hello", factory="test_commands_target:greet")


def test_a_plugin_command_runs_with_its_arguments_and_exit_status(monkeypatch, capsys) -> None:
    _plugins(monkeypatch, _commands(GREET))
    assert main(["greet", "--name", "Ada"]) == 0
    assert capsys.readouterr().out == "hello Ada\n"
    assert main(["greet", "--name", "Bo", "--code", "3"]) == 3
    with pytest.raises(SystemExit):  # its own argparse rules hold
        main(["greet"])
    assert "--name" in capsys.readouterr().err


def test_help_lists_plugin_commands_without_importing_their_modules(monkeypatch, capsys) -> None:
    lazy = CommandSpec(name="lazy", description="never imported here", factory="no_such_module_anywhere:command")
    _plugins(monkeypatch, _commands(GREET, lazy))
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "greet" in out and "never imported here" in out


def test_core_commands_never_consult_plugins(monkeypatch, capsys) -> None:
    def broken():
        raise RuntimeError("register_commands exploded")

    _plugins(monkeypatch, hook_module("acme_plugin", register_commands=broken), strict=True)
    assert main(["list", "evaluators"]) == 0  # strict, yet the broken hook is never called
    assert "linear-probe" in capsys.readouterr().out


def test_a_broken_register_commands_loses_only_its_own_commands(monkeypatch, capsys) -> None:
    def broken():
        raise RuntimeError("register_commands exploded")

    _plugins(monkeypatch, hook_module("acme_plugin", register_commands=broken), _commands(GREET, name="good_plugin"))
    with pytest.warns(RuntimeWarning, match=r"register_commands\(\) of plugin .*acme.* raised RuntimeError"):
        assert main(["greet", "--name", "Ada"]) == 0
    assert "hello Ada" in capsys.readouterr().out


def test_strict_mode_reports_a_bad_hook_as_one_line(monkeypatch, capsys) -> None:
    _plugins(monkeypatch, hook_module("acme_plugin", register_commands=lambda: ["not a spec"]), strict=True)
    assert main(["greet"]) == 2
    err = capsys.readouterr().err
    assert "returned str; expected a list of CommandSpec objects" in err and "Traceback" not in err


def test_a_failing_handler_or_factory_is_one_line_naming_the_plugin(monkeypatch, capsys) -> None:
    crash = CommandSpec(name="crash", factory="test_commands_target:crash")
    missing = CommandSpec(name="missing", factory="no_such_module_anywhere:command")
    _plugins(monkeypatch, _commands(crash, missing, GREET))
    assert main(["crash"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("selfsup: error: Command 'crash' of plugin 'acme'") and "ValueError: the plugin's own bug" in err
    assert "SELFSUP_DISABLE_PLUGINS=acme" in err and "Traceback" not in err
    assert main(["missing"]) == 2
    assert "could not import 'no_such_module_anywhere'" in capsys.readouterr().err
    assert main(["greet", "--name", "Ada"]) == 0  # the plugin's other command still works


def test_a_core_name_is_refused_and_two_providers_are_told_apart(monkeypatch, capsys) -> None:
    clash = CommandSpec(name="list", factory="test_commands_target:greet")
    _plugins(monkeypatch, _commands(clash, GREET), _commands(GREET, name="other_plugin"))
    with pytest.warns(RuntimeWarning, match="Command 'list' of plugin 'acme' has the name of a core command"):
        assert main(["other:greet", "--name", "Ada"]) == 0
    assert capsys.readouterr().out == "hello Ada\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["greet", "--name", "x"]) == 2
        err = capsys.readouterr().err
        assert "Command 'greet' is provided by 2 plugins" in err and "'selfsup acme:greet' or 'selfsup other:greet'" in err
        assert main(["list", "evaluators"]) == 0  # the core's list, never the plugin's
    assert "hello" not in capsys.readouterr().out


def test_a_factory_must_return_a_handler(monkeypatch, capsys) -> None:
    _TARGET.nothing = lambda parser: None  # type: ignore[attr-defined]
    _plugins(monkeypatch, _commands(CommandSpec(name="nothing", factory="test_commands_target:nothing")))
    assert main(["nothing", "any", "--words"]) == 2
    assert "its factory returned NoneType, not a handler(args) function" in capsys.readouterr().err


def test_the_spec_checks_its_name() -> None:
    with pytest.raises(RegistrationError, match="Invalid command name"):
        CommandSpec(name="Audio Stats", factory="x:y")
