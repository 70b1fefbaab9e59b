"""Collecting specs: provenance, conflicts, unknown names, incompatible combinations."""

from __future__ import annotations

import types

import pytest

from selfsup import EncoderSpec, ObjectiveSpec, hookimpl
from selfsup.errors import (
    IncompatibleComponentsError,
    MissingDependencyError,
    PluginConflictError,
    RegistrationError,
    UnknownComponentError,
)
from selfsup.registry import get_registry


def _module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def _rival_encoder():
    return [EncoderSpec(name="mlp", modality="toy", factory="selfsup_toy:MLPEncoder", config_cls=__import__("selfsup_toy").MLPConfig)]


def test_specs_are_stamped_with_provenance(toy):
    spec = get_registry().get("encoder", "mlp", modality="toy")
    assert spec.plugin == "toy"
    builtin = get_registry().get("evaluator", "linear-probe")
    assert builtin.distribution == "selfsup" and builtin.version


def test_conflict_lists_every_provider_and_plugin_prefix_selects(toy, register_plugin):
    register_plugin(_module("acme", register_encoders=_rival_encoder), name="acme")
    with pytest.raises(PluginConflictError) as info:
        get_registry().get("encoder", "mlp", modality="toy")
    message = str(info.value)
    assert "Conflicting encoders for modality 'toy' named 'mlp'" in message
    assert "plugin 'toy'" in message and "plugin 'acme'" in message
    assert "encoder='toy:mlp'" in message and "SELFSUP_DISABLE_PLUGINS=" in message
    assert get_registry().get("encoder", "acme:mlp", modality="toy").plugin == "acme"


def test_unknown_prefix_lists_providers(toy):
    with pytest.raises(UnknownComponentError, match="No plugin 'nobody' provides encoder 'mlp'.*Providers: 'toy'"):
        get_registry().get("encoder", "nobody:mlp", modality="toy")


def test_unknown_modality_names_first_party_distribution(toy):
    with pytest.raises(UnknownComponentError) as info:
        get_registry().get("modality", "graph")
    message = str(info.value)
    assert "Unknown modality 'graph'" in message and "Installed:" in message and "toy" in message
    assert "pip install selfsup-graph" in message


def test_unknown_objective_suggests_closest(toy):
    with pytest.raises(UnknownComponentError, match="Unknown objective 'denoize'. Did you mean 'denoise'"):
        get_registry().get("objective", "denoize", modality="toy")


def test_incompatible_objective_lists_alternatives(toy, register_plugin):
    def objectives():
        return [ObjectiveSpec(name="mae", modalities=frozenset({"vision"}), factory="x:y")]

    register_plugin(_module("vis", register_objectives=objectives), name="vis")
    with pytest.raises(IncompatibleComponentsError) as info:
        get_registry().get("objective", "mae", modality="toy")
    message = str(info.value)
    assert "does not support modality 'toy' (supports: vision)" in message
    assert "denoise" in message


def test_wrong_return_type_is_a_registration_error(toy, register_plugin):
    register_plugin(_module("bad", register_encoders=lambda: [object()]), name="bad")
    with pytest.raises(RegistrationError, match=r"register_encoders\(\) of plugin 'bad' returned a list holding object; expected a list of EncoderSpec"):
        get_registry()


def test_raising_hook_is_a_registration_error(toy, register_plugin):
    def broken():
        raise ValueError("oops")

    register_plugin(_module("bad", register_datasets=broken), name="bad")
    with pytest.raises(RegistrationError, match="raised ValueError: oops"):
        get_registry()


def test_component_of_unknown_modality_is_rejected_in_strict_mode(toy, register_plugin):
    def encoders():
        return [EncoderSpec(name="x", modality="nowhere", factory="x:y")]

    register_plugin(_module("odd", register_encoders=encoders), name="odd")
    with pytest.raises(RegistrationError, match="modality 'nowhere', which no installed plugin registers"):
        get_registry()


def test_invalid_name_is_rejected():
    with pytest.raises(RegistrationError, match="Invalid encoder name 'My Encoder'"):
        EncoderSpec(name="My Encoder", modality="toy", factory="x:y")


def test_config_cls_must_be_a_dataclass():
    with pytest.raises(RegistrationError, match="is not a dataclass"):
        EncoderSpec(name="x", modality="toy", factory="x:y", config_cls=dict)


def test_missing_requirement_names_the_package():
    spec = EncoderSpec(name="x", modality="toy", factory="x:y", requires=("not-a-real-package>=1",))
    with pytest.raises(MissingDependencyError, match="needs 'not-a-real-package>=1' \\(not installed\\). Install it"):
        spec.resolve_factory()


def test_lazy_factory_with_missing_attribute():
    spec = EncoderSpec(name="x", modality="toy", factory="selfsup.errors:Nope")
    with pytest.raises(RegistrationError, match="has no attribute 'Nope'"):
        spec.resolve_factory()


def test_listing_is_sorted_and_filtered_by_modality(toy):
    names = [s.name for s in get_registry().list("objectives", "toy")]
    assert names == sorted(names) and "denoise" in names
    assert get_registry().list("encoders", "vision") == []
