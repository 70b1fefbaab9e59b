"""Collect specs from the hooks, stamp their provenance, look names up.

Keys: ``name`` for modalities, objectives and evaluators; ``(modality, name)``
for encoders and datasets. Two providers of one key are kept side by side: an
unqualified lookup of that key is a :class:`PluginConflictError` listing every
provider, and ``plugin:name`` picks one. A default named by a component (a
modality's default objective, an objective's default encoder) is looked up
among its own plugin's components first (:meth:`Registry.get_default`), so
another plugin registering the same name never breaks a modality's defaults.

Isolation: a plugin whose hook raises, returns something other than its specs,
or registers a config dataclass OmegaConf cannot turn into a schema is marked
``error`` (:meth:`selfsup.plugins.PluginSet.mark_failed`) and every component
it registered is left out; the other plugins keep working.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from . import plugins as plugins_module
from .errors import (
    IncompatibleComponentsError,
    PluginConflictError,
    PluginError,
    RegistrationError,
    UnknownComponentError,
    did_you_mean,
)
from .plugins import PluginSet, PluginStatus, get_plugins
from .specs import (
    ComponentSpec,
    DatasetSpec,
    EncoderSpec,
    EvaluatorSpec,
    FineTuneStrategySpec,
    LoggerSpec,
    ModalitySpec,
    ObjectiveSpec,
)

__all__ = ["Registry", "get_registry", "list_plugins", "reset", "KINDS"]

SpecT = TypeVar("SpecT", bound=ComponentSpec)

#: kind -> (hook name, spec class, keyed by modality)
KINDS: dict[str, tuple[str, type[ComponentSpec], bool]] = {
    "modality": ("register_modalities", ModalitySpec, False),
    "encoder": ("register_encoders", EncoderSpec, True),
    "objective": ("register_objectives", ObjectiveSpec, False),
    "evaluator": ("register_evaluators", EvaluatorSpec, False),
    "dataset": ("register_datasets", DatasetSpec, True),
    "logger": ("register_loggers", LoggerSpec, False),
    "strategy": ("register_fine_tune_strategies", FineTuneStrategySpec, False),
}

#: First-party plugins, named in "unknown modality" messages.
FIRST_PARTY = {
    "tabular": "selfsup-tabular",
    "graph": "selfsup-graph",
    "audio": "selfsup-audio",
    "vision": "selfsup-vision",
    "pointcloud": "selfsup-pointcloud",
}


class _Table(Generic[SpecT]):
    """All specs of one kind, grouped by key."""

    def __init__(self, kind: str, specs: Sequence[SpecT], keyed_by_modality: bool) -> None:
        self.kind = kind
        self.keyed_by_modality = keyed_by_modality
        self.by_key: dict[tuple[str, str], list[SpecT]] = defaultdict(list)
        for spec in specs:
            modality = getattr(spec, "modality", "") if keyed_by_modality else ""
            for name in (spec.name, *spec.aliases):
                self.by_key[(modality, name)].append(spec)

    def all(self, modality: str | None = None) -> list[SpecT]:
        seen: dict[int, SpecT] = {}
        for (key_modality, _), specs in self.by_key.items():
            for spec in specs:
                if modality is not None and self.keyed_by_modality and key_modality != modality:
                    continue
                if modality is not None and self.kind == "modality" and spec.name != modality:
                    continue
                if modality is not None and not self.keyed_by_modality and hasattr(spec, "supports"):
                    if not spec.supports(modality):  # type: ignore[attr-defined]
                        continue
                seen[id(spec)] = spec
        return sorted(seen.values(), key=lambda s: (getattr(s, "modality", ""), s.name, s.plugin))


class Registry:
    """Every component the loaded plugins provide."""

    def __init__(self, plugins: PluginSet) -> None:
        self.plugins = plugins
        self.tables: dict[str, _Table[Any]] = {}
        self._failed: dict[str, PluginError] = {}
        collected = {kind: self._collect(kind) for kind in KINDS}
        for name, error in self._failed.items():  # raises in strict mode
            plugins.mark_failed(name, error)
        collected = {kind: [s for s in specs if s.plugin not in self._failed] for kind, specs in collected.items()}
        modalities = {spec.name for spec in collected["modality"]}
        for kind, specs in collected.items():
            hook, _, keyed = KINDS[kind]
            if keyed:
                specs = self._drop_unknown_modalities(kind, specs, modalities)
            self.tables[kind] = _Table(kind, specs, keyed)

    # -- collection ---------------------------------------------------------

    def _collect(self, kind: str) -> list[ComponentSpec]:
        """Every spec of ``kind``; a plugin whose hook misbehaves is recorded in ``_failed``."""
        hook_name, _, _ = KINDS[kind]
        caller = getattr(self.plugins.manager.hook, hook_name)
        specs: list[ComponentSpec] = []
        for impl in caller.get_hookimpls():
            status = self.plugins.provenance(impl.plugin)
            if status.name in self._failed:
                continue
            others = [other.plugin for other in caller.get_hookimpls() if other.plugin is not impl.plugin]
            try:
                specs.extend(self._collect_one(kind, status, others))
            except RegistrationError as exc:
                self._failed[status.name] = exc
        return specs

    def _collect_one(self, kind: str, status: PluginStatus, others: list[Any]) -> list[ComponentSpec]:
        hook_name, spec_cls, _ = KINDS[kind]
        try:
            # through pluggy, so tracing and hook monitoring see the call
            results = self.plugins.manager.subset_hook_caller(hook_name, remove_plugins=others)()
            result = results[0] if results else None
        except Exception as exc:  # any failure of third-party code
            error = RegistrationError(
                f"{hook_name}() of plugin {status.label} raised {type(exc).__name__}: {exc}. "
                f"Please report this to the plugin author, or disable it with "
                f"SELFSUP_DISABLE_PLUGINS={status.name}."
            )
            error.__cause__ = exc
            raise error from exc
        if result is None:
            return []
        if isinstance(result, ComponentSpec):
            items: list[Any] = [result]
        elif isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
            items = [result]  # a dict would otherwise be read as its keys
        else:
            items = list(result)
        specs: list[ComponentSpec] = []
        seen: set[tuple[str, str]] = set()
        for item in items:
            if not isinstance(item, spec_cls):
                where = "" if item is result else f"a {_type_name(result)} holding "
                raise RegistrationError(
                    f"{hook_name}() of plugin {status.label} returned {where}{_type_name(item)}; expected "
                    f"a list of {spec_cls.__name__} objects. Please report this to the plugin author."
                )
            key = (getattr(item, "modality", ""), item.name)
            if key in seen:
                raise RegistrationError(
                    f"{hook_name}() of plugin {status.label} returned {kind} '{item.name}' twice. "
                    "Please report this to the plugin author."
                )
            seen.add(key)
            _check_config_schema(item, status)
            specs.append(item.stamped(status.name, status.distribution, status.version))
        return specs

    def _drop_unknown_modalities(
        self, kind: str, specs: list[ComponentSpec], modalities: set[str]
    ) -> list[ComponentSpec]:
        kept = []
        for spec in specs:
            modality = getattr(spec, "modality")
            if modality in modalities:
                kept.append(spec)
                continue
            message = (
                f"{kind.capitalize()} '{spec.name}' ({spec.provider}) belongs to modality '{modality}', "
                f"which no installed plugin registers; it is ignored. Install the plugin that provides "
                f"'{modality}'" + (f" ({FIRST_PARTY[modality]})" if modality in FIRST_PARTY else "") + "."
            )
            if self.plugins.strict:
                raise RegistrationError(message)
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        return kept

    # -- lookups ------------------------------------------------------------

    def list(self, kind: str, modality: str | None = None) -> list[Any]:
        """Every spec of ``kind`` (``"encoder"``, ...), optionally for one modality, sorted."""
        return self.tables[_check_kind(kind)].all(modality)

    def get(self, kind: str, name: str, *, modality: str | None = None) -> Any:
        """Look one component up; ``name`` may be ``plugin:name``."""
        table = self.tables[_check_kind(kind)]
        plugin, _, bare = name.rpartition(":")
        bare = bare.strip().lower()
        key = (modality or "" if table.keyed_by_modality else "", bare)
        candidates = table.by_key.get(key, [])
        if plugin:
            chosen = [s for s in candidates if plugin.lower() in (s.plugin.lower(), s.distribution.lower())]
            if not chosen:
                providers = ", ".join(f"'{s.plugin}'" for s in candidates) or "none"
                raise UnknownComponentError(
                    f"No plugin '{plugin}' provides {kind} '{bare}'{_for(modality, table)}. "
                    f"Providers: {providers}. Use one of them as '<plugin>:{bare}'."
                )
            candidates = chosen
        if not candidates:
            raise UnknownComponentError(self._unknown_message(kind, bare, modality, table))
        if len(candidates) > 1:
            providers = " and ".join(s.provider for s in candidates)
            first = candidates[0]
            selector = f"{kind}='{first.plugin}:{bare}'"
            if kind == "evaluator":
                selector = f"evaluators=['{first.plugin}:{bare}']"
            raise PluginConflictError(
                f"Conflicting {kind}s{_for(modality, table)} named '{bare}': provided by {providers}. "
                f"Select one explicitly with {selector}, or disable a plugin "
                f"with SELFSUP_DISABLE_PLUGINS={candidates[-1].plugin}."
            )
        spec = candidates[0]
        if modality is not None and not table.keyed_by_modality and not spec.supports(modality):
            supported = ", ".join(sorted(spec.modalities or ()))
            alternatives = ", ".join(s.name for s in self.list(kind, modality)) or "none"
            raise IncompatibleComponentsError(
                f"{kind.capitalize()} '{spec.name}' ({spec.provider}) does not support modality "
                f"'{modality}' (supports: {supported}). {kind.capitalize()}s available for "
                f"'{modality}': {alternatives}."
            )
        return spec

    def get_default(self, kind: str, name: str, *, prefer: str | Sequence[str], modality: str | None = None) -> Any:
        """Look up a default that plugin ``prefer`` names (a modality's default objective,
        an objective's default encoder): when several plugins provide ``name``, the one from
        ``prefer`` (the first of several that provides it) is taken instead of a
        :class:`PluginConflictError`."""
        table = self.tables[_check_kind(kind)]
        if ":" not in name:
            key = (modality or "" if table.keyed_by_modality else "", name.strip().lower())
            candidates = table.by_key.get(key, [])
            for plugin in [prefer] if isinstance(prefer, str) else prefer:
                if len(candidates) > 1 and sum(s.plugin == plugin for s in candidates) == 1:
                    return self.get(kind, f"{plugin}:{name}", modality=modality)
        return self.get(kind, name, modality=modality)

    def contested(self, kind: str, spec: Any) -> bool:
        """Whether another plugin also provides ``spec``'s name (a saved config must then say ``plugin:name``)."""
        table = self.tables[_check_kind(kind)]
        key = (getattr(spec, "modality", "") if table.keyed_by_modality else "", spec.name)
        return len(table.by_key.get(key, [])) > 1

    def _unknown_message(self, kind: str, name: str, modality: str | None, table: _Table[Any]) -> str:
        installed = sorted({s.name for s in table.all(modality)})
        message = (
            f"Unknown {kind} '{name}'{_for(modality, table)}."
            f"{did_you_mean(name, installed)} Installed: {', '.join(installed) or 'none'}."
        )
        if kind == "modality" and name in FIRST_PARTY:
            message += f" The first-party plugin is {FIRST_PARTY[name]}: pip install {FIRST_PARTY[name]}."
        elif kind != "modality":
            elsewhere = [
                s for s in self.tables[kind].all() if s.name == name and getattr(s, "modality", modality) != modality
            ]
            if elsewhere:
                message += " It exists for modality " + ", ".join(f"'{s.modality}'" for s in elsewhere) + "."
            else:
                message += f" Run 'selfsup list {kind}s' to see every installed {kind}."
        return message + self.plugins.failure_note()


def _type_name(value: Any) -> str:
    """``dict``, ``str`` or ``torch.nn.modules.linear.Linear``: the real type, for messages."""
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _check_config_schema(spec: ComponentSpec, status: PluginStatus) -> None:
    """Build the OmegaConf schema of a spec's config dataclass now, not when a run resolves it."""
    config_cls = getattr(spec, "config_cls", None)
    if config_cls is None:
        return
    from omegaconf import OmegaConf

    try:
        OmegaConf.structured(config_cls)
    except Exception as exc:  # OmegaConf's ValidationError and friends, or a failing default factory
        field = getattr(exc, "full_key", "") or ""
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RegistrationError(
            f"{spec.kind.capitalize()} '{spec.name}' of plugin {status.label} has a config dataclass "
            f"{config_cls.__qualname__} that OmegaConf cannot use"
            + (f" (field '{field}')" if field else "")
            + f": {reason}. Please report this to the plugin author (fields must be int, float, bool, str, "
            "an Enum, a dataclass, or Optional/list/dict of those)."
        ) from exc


def _for(modality: str | None, table: _Table[Any]) -> str:
    return f" for modality '{modality}'" if modality and table.keyed_by_modality else ""


def _check_kind(kind: str) -> str:
    singular = {"modalities": "modality", "strategies": "strategy"}.get(kind, kind[:-1] if kind.endswith("s") else kind)
    if singular not in KINDS:
        raise UnknownComponentError(
            f"Unknown component kind '{kind}'.{did_you_mean(kind, KINDS)} Kinds: {', '.join(KINDS)}."
        )
    return singular


_REGISTRY: Registry | None = None


def get_registry(extra_plugins: Sequence[Any] = ()) -> Registry:
    """The registry over the loaded plugins (plus ``extra_plugins`` when given)."""
    global _REGISTRY
    if extra_plugins:
        return Registry(get_plugins(extra_plugins))
    if _REGISTRY is None:
        _REGISTRY = Registry(get_plugins())
    return _REGISTRY


def list_plugins() -> list[PluginStatus]:
    """Every known plugin with its distribution, version, hooks and status.

    The registry is built first, so a plugin whose hooks fail when they are
    collected shows ``error`` rather than ``ok``.
    """
    get_registry()
    return get_plugins().list()


def reset(*, plugins: bool = False) -> None:
    """Forget the registry (the next use rebuilds it); with ``plugins``, the loaded plugins too."""
    global _REGISTRY
    _REGISTRY = None
    if plugins:
        plugins_module.reset()
