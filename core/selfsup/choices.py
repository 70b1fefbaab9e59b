"""Which components a run uses: the user's choices, then the objective's, then the modality's.

Order, for each kind:

* **objective**: the user's ``objective``, else the modality's ``default_objective``;
* **encoder**: the user's ``encoder`` (checked against the objective's ``encoders``), else the
  objective's ``default_encoder``, else the modality's ``default_encoder`` when the objective
  can train it, else the first of the objective's ``encoders``;
* **dataset**: the user's ``dataset``, else the objective's ``default_dataset``, else the
  modality's ``default_dataset``.

A default is looked up among the components of the plugin that names it first
(:meth:`selfsup.registry.Registry.get_default`), so another plugin registering the same
name never breaks a modality's defaults; a name the user gives is looked up as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import IncompatibleComponentsError
from .specs import DatasetSpec, EncoderSpec, ModalitySpec, ObjectiveSpec

__all__ = ["Choices", "SpecLookup", "choose", "matches", "qualified"]


class SpecLookup(Protocol):
    """What :func:`choose` needs of a registry."""

    def get(self, kind: str, name: str, *, modality: str | None = None) -> Any: ...

    def get_default(
        self, kind: str, name: str, *, prefer: str | Sequence[str], modality: str | None = None
    ) -> Any: ...

    def contested(self, kind: str, spec: Any) -> bool: ...


@dataclass(frozen=True)
class Choices:
    """The specs a run uses."""

    modality: ModalitySpec
    objective: ObjectiveSpec
    encoder: EncoderSpec
    dataset: DatasetSpec


def matches(spec: Any, names: Sequence[str]) -> bool:
    """Whether ``spec`` is one of ``names`` (bare or ``plugin:name``)."""
    for name in names:
        plugin, _, bare = name.rpartition(":")
        if bare in (spec.name, *spec.aliases) and (not plugin or plugin in (spec.plugin, spec.distribution)):
            return True
    return False


def qualified(registry: SpecLookup, kind: str, spec: Any, given: Any) -> str:
    """The name a saved config records: ``plugin:name`` when the user gave it or another plugin
    provides the same name (so the saved config resolves to the same component), else ``name``."""
    if given and ":" in str(given):
        return str(given)
    return f"{spec.plugin}:{spec.name}" if registry.contested(kind, spec) else spec.name


def choose(
    registry: SpecLookup, modality: ModalitySpec, objective: Any, encoder: Any, dataset: Any
) -> Choices:
    """The objective, encoder and dataset of a run; ``objective``/``encoder``/``dataset`` are the
    user's names (``None`` or empty when not given)."""
    where = modality.name
    if objective:
        objective_spec = registry.get("objective", str(objective), modality=where)
    else:
        objective_spec = registry.get_default("objective", modality.default_objective, prefer=modality.plugin, modality=where)
    if encoder:
        encoder_spec = registry.get("encoder", str(encoder), modality=where)
        _check_encoder(objective_spec, encoder_spec, modality)
    else:
        encoder_spec = _default_encoder(registry, modality, objective_spec)
    if dataset:
        dataset_spec = registry.get("dataset", str(dataset), modality=where)
    elif objective_spec.default_dataset:
        dataset_spec = registry.get_default("dataset", objective_spec.default_dataset, prefer=objective_spec.plugin, modality=where)
    else:
        dataset_spec = registry.get_default("dataset", modality.default_dataset, prefer=modality.plugin, modality=where)
    return Choices(modality, objective_spec, encoder_spec, dataset_spec)


def _default_encoder(registry: SpecLookup, modality: ModalitySpec, objective: ObjectiveSpec) -> Any:
    if objective.default_encoder:
        name, prefer = objective.default_encoder, objective.plugin
    elif not objective.encoders or modality.default_encoder.rpartition(":")[2] in {
        e.rpartition(":")[2] for e in objective.encoders
    }:
        name, prefer = modality.default_encoder, modality.plugin
    else:
        name, prefer = objective.encoders[0], objective.plugin
    spec = registry.get_default("encoder", name, prefer=prefer, modality=modality.name)
    _check_encoder(objective, spec, modality)
    return spec


def _check_encoder(objective: ObjectiveSpec, encoder: EncoderSpec, modality: ModalitySpec) -> None:
    if not objective.encoders or matches(encoder, objective.encoders):
        return
    default = objective.default_encoder or objective.encoders[0]
    raise IncompatibleComponentsError(
        f"Objective '{objective.name}' ({objective.provider}) trains only the encoder(s) "
        f"{', '.join(objective.encoders)} of modality '{modality.name}', not '{encoder.name}' ({encoder.provider}). "
        f"Use encoder={default}, or leave encoder out to get it."
    )
