"""Plugin subcommands: ``selfsup <name>`` from the ``register_commands`` hook.

A plugin returns :class:`CommandSpec` objects; ``factory`` (a callable or a lazy
``"package.module:function"`` path) is called with the command's ``argparse`` parser, adds the
command's arguments and returns the handler, ``handler(args) -> int | None`` (the exit status;
``None`` is 0)::

    @hookimpl
    def register_commands():
        return [CommandSpec(name="audio-stats", description="...", factory="selfsup_audio.stats:command")]

Plugins are consulted only when the command line names no core command (or asks for
``--help``), so core commands never pay for loading plugins, and a plugin's module is imported
only when its own command runs.

Isolation, as for the other hooks (:mod:`selfsup.registry`): a plugin whose
``register_commands`` raises or returns something other than ``CommandSpec`` objects loses its
commands (a warning; an error under ``SELFSUP_STRICT_PLUGINS=1``), and every other command
works. A command named like a core command is ignored with a warning. Two plugins providing
one name: each is ``selfsup <plugin>:<name>``, and the bare name is a
:class:`~selfsup.errors.PluginConflictError` naming both. A handler that raises something other
than a :class:`~selfsup.errors.SelfsupError` is reported as a :class:`~selfsup.errors.PluginError`
naming the plugin (one line, no traceback).
"""

from __future__ import annotations

import argparse
import warnings
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import PluginConflictError, PluginError, RegistrationError, SelfsupError
from .specs import _BuildableSpec

__all__ = ["CommandSpec", "collect_commands", "add_plugin_commands", "run_plugin_command"]

Handler = Callable[[argparse.Namespace], "int | None"]
_HOOK = "register_commands"
_HELP = ("-h", "--help")
#: A parser that takes any words (a command that can only report its error): no option prefix.
_ANY_ARGUMENTS: dict[str, Any] = {"prefix_chars": "\x00", "add_help": False}


@dataclass(frozen=True, kw_only=True)
class CommandSpec(_BuildableSpec):
    """A subcommand ``selfsup <name>``: ``factory(parser: argparse.ArgumentParser) -> handler``,
    ``handler(args: argparse.Namespace) -> int | None``. ``description`` is its help line."""

    kind: ClassVar[str] = "command"


def collect_commands(plugins: Any) -> list[CommandSpec]:
    """Every plugin's command specs, stamped with their provenance; a misbehaving plugin's
    commands are left out with a warning (raised as :class:`RegistrationError` when strict)."""
    caller = getattr(plugins.manager.hook, _HOOK)
    specs: list[CommandSpec] = []
    impls = caller.get_hookimpls()
    for impl in impls:
        status = plugins.provenance(impl.plugin)
        others = [other.plugin for other in impls if other.plugin is not impl.plugin]
        try:
            specs.extend(_collect_one(plugins, status, others))
        except RegistrationError as exc:
            if plugins.strict:
                raise
            warnings.warn(f"{exc} Its commands are left out; the other commands work.", RuntimeWarning, stacklevel=2)
    return specs


def _collect_one(plugins: Any, status: Any, others: list[Any]) -> list[CommandSpec]:
    try:
        results = plugins.manager.subset_hook_caller(_HOOK, remove_plugins=others)()
    except Exception as exc:  # any failure of third-party code
        raise RegistrationError(
            f"{_HOOK}() of plugin {status.label} raised {type(exc).__name__}: {exc}. Please report this to the "
            f"plugin author, or disable it with SELFSUP_DISABLE_PLUGINS={status.name}."
        ) from exc
    result = results[0] if results else None
    if result is None:
        return []
    items = [result] if isinstance(result, (CommandSpec, str, bytes, dict)) or not hasattr(result, "__iter__") else list(result)
    specs = []
    for item in items:
        if not isinstance(item, CommandSpec):
            raise RegistrationError(
                f"{_HOOK}() of plugin {status.label} returned {type(item).__name__}; expected a list of "
                "CommandSpec objects. Please report this to the plugin author."
            )
        specs.append(item.stamped(status.name, status.distribution, status.version))
    return specs


def _requested(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names (its first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def add_plugin_commands(sub: Any, argv: Sequence[str], core: Collection[str], load_plugins: Callable[[], Any]) -> None:
    """Add the plugins' commands to the ``selfsup`` subparsers ``sub``, when ``argv`` names a
    command that is not a core one (or asks for help); only the named command's factory runs.
    ``load_plugins()`` returns the process's :class:`~selfsup.plugins.PluginSet` (called only then)."""
    requested = _requested(argv)
    if requested in core or (requested is None and not any(word in _HELP for word in argv)):
        return
    by_name: dict[str, list[CommandSpec]] = defaultdict(list)
    for spec in collect_commands(load_plugins()):
        if spec.name in core:
            warnings.warn(
                f"Command '{spec.name}' of {spec.provider} has the name of a core command; it is ignored. "
                "Please report this to the plugin author.",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        by_name[spec.name].append(spec)
    for name, specs in sorted(by_name.items()):
        if len(specs) == 1:
            _add(sub, name, specs[0], requested)
            continue
        for spec in specs:
            _add(sub, f"{spec.plugin}:{name}", spec, requested)
        choices = " or ".join(f"'selfsup {spec.plugin}:{name}'" for spec in specs)
        conflict = PluginConflictError(
            f"Command '{name}' is provided by {len(specs)} plugins: "
            f"{', '.join(f'{s.plugin} ({s.provider})' for s in specs)}. Run {choices}."
        )
        parser = sub.add_parser(name, help=f"(provided by {len(specs)} plugins; see the error)", **_ANY_ARGUMENTS)
        parser.add_argument("arguments", nargs=argparse.REMAINDER)
        parser.set_defaults(_selfsup_command=_failing(conflict))


def _add(sub: Any, name: str, spec: CommandSpec, requested: str | None) -> None:
    help_line = spec.description or f"(from {spec.provider})"
    if name != requested:
        sub.add_parser(name, help=help_line, description=spec.description)
        return
    parser = argparse.ArgumentParser(prog=f"{sub._prog_prefix} {name}", description=spec.description)
    try:
        built = spec.resolve_factory()(parser)
        if not callable(built):
            raise RegistrationError(
                f"Command '{spec.name}' ({spec.provider}): its factory returned {type(built).__name__}, "
                "not a handler(args) function. Please report this to the plugin author."
            )
        handler: Handler = _Bound(spec, built)
    except SelfsupError as exc:
        parser, handler = argparse.ArgumentParser(**_ANY_ARGUMENTS), _failing(exc)
        parser.add_argument("arguments", nargs=argparse.REMAINDER)
    except Exception as exc:  # a broken plugin module: only this command fails
        parser, handler = argparse.ArgumentParser(**_ANY_ARGUMENTS), _failing(_plugin_error(spec, exc))
        parser.add_argument("arguments", nargs=argparse.REMAINDER)
    parser.set_defaults(_selfsup_command=handler)
    sub.add_parser(name, help=help_line, description=spec.description)
    sub.choices[name] = parser  # the parser the factory filled (or one that only reports its error)


def _failing(error: SelfsupError) -> Handler:
    def fail(args: argparse.Namespace) -> int:
        raise error

    return fail


def _plugin_error(spec: CommandSpec, exc: BaseException) -> PluginError:
    error = PluginError(
        f"Command '{spec.name}' of {spec.provider} (plugin '{spec.plugin}') raised {type(exc).__name__}: {exc}. "
        f"Please report this to the plugin author, or disable it with SELFSUP_DISABLE_PLUGINS={spec.plugin}."
    )
    error.__cause__ = exc
    return error


class _Bound:
    """A plugin command's handler; errors other than selfsup's become one :class:`PluginError`."""

    def __init__(self, spec: CommandSpec, handler: Handler) -> None:
        self.spec, self.handler = spec, handler

    def __call__(self, args: argparse.Namespace) -> int:
        try:
            code = self.handler(args)
        except (SelfsupError, KeyboardInterrupt, BrokenPipeError, SystemExit):
            raise
        except Exception as exc:
            raise _plugin_error(self.spec, exc) from exc
        return int(code or 0)


def run_plugin_command(args: argparse.Namespace) -> int:
    """Run the plugin command ``args`` was parsed for (``selfsup.cli.main`` dispatches here)."""
    handler = getattr(args, "_selfsup_command", None)
    if handler is None:  # pragma: no cover - argparse only accepts registered commands
        raise PluginError(f"No plugin provides the command {args.command!r}. Run 'selfsup --help' for the commands.")
    return int(handler(args) or 0)
