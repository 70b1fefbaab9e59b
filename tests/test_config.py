"""Config composition: merge order, unknown keys, types."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from selfsup.config import parse_dotlist, resolve
from selfsup.errors import ConfigError
from selfsup.registry import get_registry


def _resolve(**user):
    return resolve(OmegaConf.create(user), get_registry())


def test_merge_order_component_then_modality_then_user(toy):
    resolved = _resolve(modality="toy")
    assert resolved.config.trainer.lr == 0.01  # objective's trainer_defaults
    assert resolved.config.trainer.max_steps == 20  # modality override
    assert resolved.config.trainer.batch_size == 32
    resolved = _resolve(modality="toy", trainer={"max_steps": 5, "lr": 0.5})
    assert resolved.config.trainer.max_steps == 5 and resolved.config.trainer.lr == 0.5


def test_modality_defaults_fill_missing_choices(toy):
    resolved = _resolve(modality="toy")
    assert (resolved.config.objective, resolved.config.encoder, resolved.config.dataset) == ("denoise", "mlp", "blobs")
    assert list(resolved.config.evaluators) == ["linear-probe"]


def test_component_configs_take_their_schema(toy):
    resolved = _resolve(modality="toy", data={"num_samples": 99}, encoder_config={"hidden": 7})
    assert resolved.component_config("data").num_samples == 99
    assert resolved.component_config("encoder_config").hidden == 7
    assert resolved.evaluator_config("linear-probe").split == "test"


def test_unknown_nested_key_suggests_closest(toy):
    with pytest.raises(ConfigError, match="Unknown config key 'trainer.max_step'. Did you mean 'trainer.max_steps'"):
        _resolve(modality="toy", trainer={"max_step": 3})


def test_unknown_top_level_key(toy):
    with pytest.raises(ConfigError, match="Unknown config key 'modalty'. Did you mean 'modality'"):
        _resolve(modalty="toy")


def test_unknown_component_key(toy):
    with pytest.raises(ConfigError, match="Unknown config key 'data.num_sample'. Did you mean 'data.num_samples'"):
        _resolve(modality="toy", data={"num_sample": 3})


def test_mistyped_value_names_the_key(toy):
    with pytest.raises(ConfigError, match="trainer.max_steps"):
        _resolve(modality="toy", trainer={"max_steps": "many"})


def test_invalid_precision(toy):
    with pytest.raises(ConfigError, match="trainer.precision='fp8'"):
        _resolve(modality="toy", trainer={"precision": "fp8"})


def test_missing_modality(toy):
    with pytest.raises(ConfigError, match="No modality given. Pass modality=<name> \\(installed: toy\\)"):
        _resolve()


def test_dotlist_needs_equals():
    with pytest.raises(ConfigError, match="is not key=value"):
        parse_dotlist(["trainer.max_steps"])
    assert parse_dotlist(["trainer.max_steps=3", "evaluators=[knn]"]).trainer.max_steps == 3



def test_modality_overrides_apply_only_to_the_chosen_components(toy):
    import dataclasses

    from selfsup.config import _modality_layer
    from selfsup.specs import EncoderSpec

    registry = get_registry()
    modality = dataclasses.replace(
        registry.get("modality", "toy"),
        overrides={"evaluator_config": {"knn": {"k": 3}}, "encoder_config": {"hidden": 5}, "trainer": {"lr": 0.5}},
    )
    encoder = registry.get("encoder", "mlp", modality="toy")
    objective = registry.get("objective", "denoise", modality="toy")
    dataset = registry.get("dataset", "blobs", modality="toy")
    knn, probe = registry.get("evaluator", "knn"), registry.get("evaluator", "linear-probe")

    layer = _modality_layer(modality, encoder, objective, dataset, [knn])
    assert layer.evaluator_config.knn.k == 3 and layer.encoder_config.hidden == 5 and layer.trainer.lr == 0.5
    other = EncoderSpec(name="other", modality="toy", factory="x:y")
    layer = _modality_layer(modality, other, objective, dataset, [probe])
    assert "encoder_config" not in layer and dict(layer.evaluator_config) == {} and layer.trainer.lr == 0.5


def test_progress_accepts_yaml_on_off(toy):
    from selfsup.config import parse_dotlist

    assert resolve(OmegaConf.merge(parse_dotlist(["modality=toy", "trainer.progress=off"])), get_registry()).config.trainer.progress == "off"
    assert _resolve(modality="toy", trainer={"progress": "on"}).config.trainer.progress == "on"
    with pytest.raises(ConfigError, match="trainer.progress='sometimes'"):
        _resolve(modality="toy", trainer={"progress": "sometimes"})


def test_a_dataset_trainer_defaults_sit_between_the_modality_and_the_user(toy, register_plugin):
    """``DatasetSpec.trainer_defaults`` win over the objective's and the modality's settings and
    apply only to runs on that dataset; the user's keys win over them."""
    import types

    from selfsup import DatasetSpec, hookimpl

    plugin = types.ModuleType("small_blobs")
    plugin.register_datasets = hookimpl(lambda: [DatasetSpec(
        name="small-blobs", modality="toy", factory=toy.Blobs, config_cls=toy.BlobsConfig,
        trainer_defaults={"max_steps": 7, "lr": 0.25})])
    register_plugin(plugin, name="small_blobs")
    on_it = _resolve(modality="toy", dataset="small-blobs").config.trainer
    assert (on_it.max_steps, on_it.lr, on_it.batch_size) == (7, 0.25, 32)  # modality said 20, objective 0.01
    elsewhere = _resolve(modality="toy").config.trainer
    assert (elsewhere.max_steps, elsewhere.lr) == (20, 0.01)
    user = _resolve(modality="toy", dataset="small-blobs", trainer={"max_steps": 3}).config.trainer
    assert (user.max_steps, user.lr) == (3, 0.25)
