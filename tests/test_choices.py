"""Which components a run uses: the user's, then the objective's, then the modality's."""

from __future__ import annotations

import types

import pytest

from selfsup import EncoderSpec, ObjectiveSpec, hookimpl
from selfsup.config import resolve
from selfsup.errors import IncompatibleComponentsError, RegistrationError
from selfsup.registry import get_registry


def _plugin(**hooks) -> types.ModuleType:
    module = types.ModuleType("picky_plugin")
    for name, function in hooks.items():
        setattr(module, name, hookimpl(function))
    return module


@pytest.fixture
def picky(toy, register_plugin):
    """toy plus an encoder 'wide' and objectives that name their encoder or dataset."""
    from selfsup_toy import Denoise, DenoiseConfig, MLPConfig, MLPEncoder

    def encoders():
        return [EncoderSpec(name="wide", modality="toy", factory=MLPEncoder, config_cls=MLPConfig)]

    def objectives():
        common = {"modalities": frozenset({"toy"}), "factory": Denoise, "config_cls": DenoiseConfig}
        return [
            ObjectiveSpec(name="needs-wide", encoders=("wide",), **common),
            ObjectiveSpec(name="either", encoders=("mlp", "wide"), **common),
            ObjectiveSpec(name="prefers-wide", default_encoder="wide", **common),
            ObjectiveSpec(name="few-blobs", default_dataset="blobs", data_defaults={"num_samples": 64}, **common),
        ]

    register_plugin(_plugin(register_encoders=encoders, register_objectives=objectives), name="picky")


@pytest.mark.parametrize(
    ("user", "encoder"),
    [
        ({}, "mlp"),  # the modality's default objective names nothing
        ({"objective": "needs-wide"}, "wide"),  # the modality's mlp is not among its encoders
        ({"objective": "either"}, "mlp"),  # the modality's default is among them: kept
        ({"objective": "prefers-wide"}, "wide"),
        ({"objective": "prefers-wide", "encoder": "mlp"}, "mlp"),  # no `encoders`: any is allowed
        ({"objective": "either", "encoder": "wide"}, "wide"),
    ],
)
def test_encoder_order_user_then_objective_then_modality(picky, user, encoder):
    resolved = resolve({"modality": "toy", **user}, get_registry())
    assert resolved.encoder.name == encoder and resolved.config.encoder == encoder


def test_an_encoder_the_objective_cannot_train_is_an_error_before_training(picky):
    with pytest.raises(IncompatibleComponentsError) as info:
        resolve({"modality": "toy", "objective": "needs-wide", "encoder": "mlp"}, get_registry())
    assert str(info.value) == (
        "Objective 'needs-wide' (plugin 'picky') trains only the encoder(s) wide of modality 'toy', "
        "not 'mlp' (plugin 'toy'). Use encoder=wide, or leave encoder out to get it."
    )


def test_objective_data_defaults_apply_on_its_dataset_below_the_user(picky):
    assert resolve({"modality": "toy", "objective": "few-blobs"}, get_registry()).config.data.num_samples == 64
    assert resolve({"modality": "toy"}, get_registry()).config.data.num_samples == 256
    mine = resolve({"modality": "toy", "objective": "few-blobs", "data": {"num_samples": 32}}, get_registry())
    assert mine.config.data.num_samples == 32


def test_spec_fields_are_checked_when_the_spec_is_made():
    with pytest.raises(RegistrationError, match="default_encoder='b' is not among its encoders"):
        ObjectiveSpec(name="x", factory="a:b", encoders=("a",), default_encoder="b")
    with pytest.raises(RegistrationError, match="data_defaults are applied to its default_dataset, which is not set"):
        ObjectiveSpec(name="x", factory="a:b", data_defaults={"root": "x"})
