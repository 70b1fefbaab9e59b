"""Collect specs from the hooks, stamp their provenance, look names up.

Keys: ``name`` for modalities, objectives and evaluators; ``(modality, name)``
for encoders and datasets. Two providers of one key are kept side by side: an
unqualified lookup of that key is a :class:`PluginConflictError` listing every
provider, and ``plugin:name`` picks one.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from .errors import (
    IncompatibleComponentsError,
    PluginConflictError,
    RegistrationError,
    UnknownComponentError,
    did_you_mean,
)
from .plugins import PluginSet, get_plugins
from .specs import ComponentSpec, DatasetSpec, EncoderSpec, EvaluatorSpec, LoggerSpec, ModalitySpec, ObjectiveSpec

__all__ = ["Registry", "get_registry", "reset", "KINDS"]

SpecT = TypeVar("SpecT", bound=ComponentSpec)

#: kind -> (hook name, spec class, keyed by modality)
KINDS: dict[str, tuple[str, type[ComponentSpec], bool]] = {
    "modality": ("register_modalities", ModalitySpec, False),
    "encoder": ("register_encoders", EncoderSpec, True),
    "objective": ("register_objectives", ObjectiveSpec, False),
    "evaluator": ("register_evaluators", EvaluatorSpec, False),
    "dataset": ("register_datasets", DatasetSpec, True),
    "logger": ("register_loggers", LoggerSpec, False),
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
        collected = {kind: self._collect(kind) for kind in KINDS}
        modalities = {spec.name for spec in collected["modality"]}
        for kind, specs in collected.items():
            hook, _, keyed = KINDS[kind]
            if keyed:
                specs = self._drop_unknown_modalities(kind, specs, modalities)
            self.tables[kind] = _Table(kind, specs, keyed)

    # -- collection ---------------------------------------------------------

    def _collect(self, kind: str) -> list[ComponentSpec]:
        hook_name, spec_cls, _ = KINDS[kind]
        caller = getattr(self.plugins.manager.hook, hook_name)
        specs: list[ComponentSpec] = []
        for impl in caller.get_hookimpls():
            status = self.plugins.provenance(impl.plugin)
            others = [other.plugin for other in caller.get_hookimpls() if other.plugin is not impl.plugin]
            try:
                # through pluggy, so tracing and hook monitoring see the call
                results = self.plugins.manager.subset_hook_caller(hook_name, remove_plugins=others)()
                result = results[0] if results else None
            except Exception as exc:
                raise RegistrationError(
                    f"{hook_name}() of plugin {status.label} raised {type(exc).__name__}: {exc}. "
                    f"Please report this to the plugin author, or disable it with "
                    f"SELFSUP_DISABLE_PLUGINS={status.name}."
                ) from exc
            if result is None:
                continue
            items = [result] if isinstance(result, ComponentSpec) else result
            try:
                items = list(items)
            except TypeError:
                items = [result]
            seen: set[tuple[str, str]] = set()
            for item in items:
                if not isinstance(item, spec_cls):
                    raise RegistrationError(
                        f"{hook_name}() of plugin {status.label} returned {type(item)!r}; expected "
                        f"{spec_cls.__name__} objects. Please report this to the plugin author."
                    )
                key = (getattr(item, "modality", ""), item.name)
                if key in seen:
                    raise RegistrationError(
                        f"{hook_name}() of plugin {status.label} returned {kind} '{item.name}' twice. "
                        "Please report this to the plugin author."
                    )
                seen.add(key)
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


def _for(modality: str | None, table: _Table[Any]) -> str:
    return f" for modality '{modality}'" if modality and table.keyed_by_modality else ""


def _check_kind(kind: str) -> str:
    singular = {"modalities": "modality"}.get(kind, kind[:-1] if kind.endswith("s") else kind)
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


def reset() -> None:
    global _REGISTRY
    _REGISTRY = None
