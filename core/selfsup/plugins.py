"""Plugin discovery and loading.

Load order (once, on first use): add the hookspecs, register the core's
built-in plugin, load each entry point of the ``selfsup`` group in its own
``try`` (a broken plugin is reported and skipped unless strict), then check
that every hook implementation matches a hookspec.

Controls (environment variables):

* ``SELFSUP_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points (only built-ins
  and the ones named in ``SELFSUP_LOAD_PLUGINS``).
* ``SELFSUP_LOAD_PLUGINS=selfsup-tabular,acme``: load only these (entry-point
  or distribution names); an empty value loads none.
* ``SELFSUP_DISABLE_PLUGINS=audio,acme``: block these (entry-point or
  distribution names).
* ``SELFSUP_TRACE_PLUGINS=1``: print every hook call to stderr.
* ``SELFSUP_STRICT_PLUGINS=1``: a load or validation failure raises.

A name in ``SELFSUP_LOAD_PLUGINS`` or ``SELFSUP_DISABLE_PLUGINS`` that matches no
installed plugin is warned about, with the closest installed name.

A plugin whose hooks fail later, when the registry collects their specs (a hook
raises, returns something other than specs, or a config dataclass has no
OmegaConf schema), is marked ``error`` through :meth:`PluginSet.mark_failed`
and its components are left out; every other plugin keeps working.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError, PluginLoadError, PluginValidationError, did_you_mean

__all__ = [
    "ENTRY_POINT_GROUP",
    "BUILTIN_PLUGIN_NAME",
    "PluginStatus",
    "PluginSet",
    "get_plugins",
    "reset",
]

ENTRY_POINT_GROUP = "selfsup"
BUILTIN_PLUGIN_NAME = "selfsup-builtin"
_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _names(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {part.strip().lower() for part in value.split(",") if part.strip()}


@dataclass
class PluginStatus:
    """One row of ``selfsup plugins``."""

    name: str
    distribution: str
    version: str
    #: ``"ok"``, ``"error"`` or ``"blocked"``.
    status: str
    error: str = ""
    hooks: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``'name' (distribution version)`` for messages."""
        if self.distribution:
            return f"'{self.name}' ({self.distribution} {self.version})"
        return f"'{self.name}'"


class PluginSet:
    """The pluggy manager plus what selfsup knows about each plugin."""

    def __init__(self, *, strict: bool | None = None) -> None:
        self.strict = _flag("SELFSUP_STRICT_PLUGINS") if strict is None else strict
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.statuses: dict[str, PluginStatus] = {}
        self.failures: dict[str, BaseException] = {}
        if _flag("SELFSUP_TRACE_PLUGINS"):
            self.manager.trace.root.setwriter(sys.stderr.write)
            self.manager.enable_tracing()

    # -- registration -------------------------------------------------------

    def register(self, plugin: Any, *, name: str | None = None, distribution: str = "", version: str = "") -> str:
        """Register one plugin object (a module or any object with ``@hookimpl`` functions)."""
        name = name or getattr(plugin, "__name__", None) or f"plugin-{id(plugin):x}"
        status = PluginStatus(name=name, distribution=distribution, version=version, status="ok")
        if self.manager.has_plugin(name):
            raise PluginError(
                f"Plugin {status.label} is registered twice. Register each plugin object once, "
                "or give the second one another name."
            )
        try:
            self.manager.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            detail = str(exc).removeprefix(f"Plugin {name!r} for hook ").strip()
            self._fail(
                status,
                PluginValidationError(
                    f"Plugin {status.label} does not match the hookspec: {detail}. Fix the hook's arguments "
                    f"(register_* hooks take none), or {_DISABLE_HINT.format(name=name)}"
                ),
            )
            return name
        self.statuses[name] = status
        unknown = self._unknown_hooks(plugin)
        if unknown:
            self.manager.unregister(plugin)
            known = sorted(hookspecs_names())
            messages = [
                f"Plugin {status.label} implements unknown hook '{hook}'.{did_you_mean(hook, known)} "
                f"Known hooks: {', '.join(known)}. (If this hook exists in a newer selfsup, upgrade selfsup.)"
                for hook in unknown
            ]
            self._fail(status, PluginValidationError(" ".join(messages)))
            return name
        status.hooks = sorted(
            impl_name for impl_name in hookspecs_names() if self._implements(plugin, impl_name)
        )
        return name

    def unregister(self, name: str) -> None:
        if self.manager.has_plugin(name):
            self.manager.unregister(name=name)
        self.statuses.pop(name, None)

    def _implements(self, plugin: Any, hook_name: str) -> bool:
        caller = getattr(self.manager.hook, hook_name)
        return any(impl.plugin is plugin for impl in caller.get_hookimpls())

    def _unknown_hooks(self, plugin: Any) -> list[str]:
        unknown = []
        for attr in dir(plugin):
            opts = self.manager.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            hook_name = opts.get("specname") or attr
            caller = getattr(self.manager.hook, hook_name, None)
            if (caller is None or not caller.has_spec()) and not opts.get("optionalhook"):
                unknown.append(hook_name)
        return unknown

    def mark_failed(self, name: str, error: PluginError) -> None:
        """Mark the registered plugin ``name`` as failed (its hooks misbehaved) and unregister it.

        Raises ``error`` in strict mode; otherwise warns once.
        """
        status = self.statuses.get(name) or PluginStatus(name, "", "", "ok")
        if status.status == "error":  # the first failure is the one reported
            return
        if self.manager.has_plugin(name):
            self.manager.unregister(name=name)
        status.hooks = []
        self._fail(status, error)

    def _fail(self, status: PluginStatus, error: PluginError) -> None:
        status.status, status.error = "error", str(error)
        self.statuses[status.name] = status
        self.failures[status.name] = error
        if self.strict:
            raise error
        warnings.warn(str(error), RuntimeWarning, stacklevel=3)

    # -- discovery ----------------------------------------------------------

    def load_builtins(self) -> None:
        from . import builtin

        version = _version("selfsup")
        self.register(builtin, name=BUILTIN_PLUGIN_NAME, distribution="selfsup", version=version)

    def load_entry_points(self) -> None:
        allow = _names("SELFSUP_LOAD_PLUGINS")
        block = _names("SELFSUP_DISABLE_PLUGINS") or set()
        autoload = not _flag("SELFSUP_DISABLE_PLUGIN_AUTOLOAD")
        if BUILTIN_PLUGIN_NAME in block:
            raise PluginError(
                f"Plugin '{BUILTIN_PLUGIN_NAME}' cannot be disabled: it holds the core evaluators. "
                "Remove it from SELFSUP_DISABLE_PLUGINS."
            )
        entry_points = sorted(_entry_points(), key=lambda ep: ep.name)
        _warn_unknown_names(entry_points, {"SELFSUP_LOAD_PLUGINS": allow or set(), "SELFSUP_DISABLE_PLUGINS": block})
        for entry_point in entry_points:
            dist_name = entry_point.dist.name if entry_point.dist else ""
            dist_version = entry_point.dist.version if entry_point.dist else ""
            keys = {entry_point.name.lower(), dist_name.lower()}
            status = PluginStatus(entry_point.name, dist_name, dist_version, "blocked")
            if keys & block or (allow is not None and not keys & allow) or (allow is None and not autoload):
                self.statuses[entry_point.name] = status
                continue
            if entry_point.name in self.statuses:
                continue
            try:
                module = entry_point.load()
            except Exception as exc:  # any import-time failure of third-party code
                error = PluginLoadError(
                    f"Plugin {status.label} failed to load: {type(exc).__name__}: {exc}. "
                    f"Install the missing dependency, upgrade the plugin, or {_DISABLE_HINT.format(name=entry_point.name)}"
                )
                error.__cause__ = exc
                self._fail(status, error)
                continue
            self.register(module, name=entry_point.name, distribution=dist_name, version=dist_version)

    # -- queries ------------------------------------------------------------

    def provenance(self, plugin: Any) -> PluginStatus:
        name = self.manager.get_name(plugin) or ""
        return self.statuses.get(name) or PluginStatus(name, "", "", "ok")

    def failure_note(self) -> str:
        """A note for "unknown component" messages when a failed plugin may be the cause."""
        notes = [f"Note: plugin {s.label} failed to load: {s.error}" for s in self.statuses.values() if s.status == "error"]
        return (" " + " ".join(notes)) if notes else ""

    def list(self) -> list[PluginStatus]:
        """Every plugin's status (call :func:`selfsup.list_plugins` for one that includes hook failures)."""
        return sorted(self.statuses.values(), key=lambda s: (s.name != BUILTIN_PLUGIN_NAME, s.name))


_DISABLE_HINT = "disable it with SELFSUP_DISABLE_PLUGINS={name}."


def hookspecs_names() -> list[str]:
    return [name for name in dir(hookspecs) if name.startswith("register_")]


def _warn_unknown_names(entry_points: Sequence[importlib.metadata.EntryPoint], variables: dict[str, set[str]]) -> None:
    """Warn about names in the ``SELFSUP_*_PLUGINS`` variables that match no installed plugin."""
    known = {BUILTIN_PLUGIN_NAME}
    for entry_point in entry_points:
        known.add(entry_point.name.lower())
        if entry_point.dist is not None:
            known.add(entry_point.dist.name.lower())
    for variable, names in variables.items():
        for name in sorted(names - known):
            warnings.warn(
                f"{variable} names '{name}', which is no installed plugin.{did_you_mean(name, sorted(known))} "
                f"Installed: {', '.join(sorted(known))}. Fix the name in {variable}.",
                RuntimeWarning,
                stacklevel=4,
            )


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


_PLUGINS: PluginSet | None = None


def get_plugins(extra: Sequence[Any] = ()) -> PluginSet:
    """The process-wide plugin set, loaded on first use.

    ``extra`` plugin objects (``pretrain(..., plugins=[obj])``) are registered
    into a fresh set that also holds the built-ins and the entry points.
    """
    global _PLUGINS
    if extra:
        plugins = _load_all()
        for plugin in extra:
            plugins.register(plugin, name=getattr(plugin, "__name__", None) or type(plugin).__name__)
        return plugins
    if _PLUGINS is None:
        _PLUGINS = _load_all()
    return _PLUGINS


def _load_all() -> PluginSet:
    plugins = PluginSet()
    plugins.load_builtins()
    plugins.load_entry_points()
    return plugins


def reset() -> None:
    """Forget the loaded plugins (tests; the next use loads them again).

    The registry built over them is reset by :func:`selfsup.registry.reset` with ``plugins=True``.
    """
    global _PLUGINS
    _PLUGINS = None
