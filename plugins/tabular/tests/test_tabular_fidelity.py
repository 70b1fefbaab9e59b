"""Behaviours pinned to the released T-JEPA code (jose-melo/t-jepa): the released target-mask
aliasing as an option, gradient clamping of the context encoder only, the feature-type embedding,
and a torch-free plugin registration."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import torch
from selfsup.errors import ConfigError
from selfsup.registry import get_registry
from selfsup.testing import EncoderContract, PluginImportContract
from selfsup_tabular.configs import FTTransformerConfig, TJEPAConfig
from selfsup_tabular.encoders import FTTransformer
from selfsup_tabular.objectives import TJEPA
from selfsup_tabular.objectives.masks import sample_jepa_masks
from selfsup_tabular.objectives.t_jepa import FeatureTokenEncoder

INFO = {"num_numerical": 5, "cardinalities": [3, 4, 2], "num_features": 8, "task": "binary", "num_classes": 2}
ENCODER = FTTransformerConfig(d_token=16, n_layers=1, n_heads=2, d_ffn=32)
JEPA = TJEPAConfig(predictor_dim=16, predictor_layers=1, predictor_ffn=32)


class TestFTTransformerIsAFeatureTokenEncoder(EncoderContract):
    modality = "tabular"
    dataset = "adult-sample"
    encoder = "ft-transformer"
    encoder_config = {"d_token": 16, "n_layers": 1, "n_heads": 2, "d_ffn": 32}
    capabilities = (FeatureTokenEncoder,)


class TestTabularPluginImport(PluginImportContract):
    plugin_module = "selfsup_tabular.plugin"
    heavy_modules = ("torch", "pandas", "pyarrow", "sklearn")


def _batch(rows: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    categorical = torch.stack([torch.randint(0, c, (rows,), generator=generator) for c in INFO["cardinalities"]], 1)
    return {"numerical": 3 * torch.randn(rows, 5, generator=generator), "categorical": categorical}


def _objective(**changes) -> TJEPA:
    torch.manual_seed(0)
    return TJEPA(dataclasses.replace(JEPA, **changes), FTTransformer(ENCODER, INFO), INFO)


def test_released_target_masks_repeat_one_draw_per_row():
    torch.manual_seed(0)
    released = sample_jepa_masks(64, 12, 3, 4, 4, device="cpu", identical_targets=True).targets
    assert all(torch.equal(released[0], released[k]) for k in range(1, 4))
    independent = sample_jepa_masks(64, 12, 3, 4, 4, device="cpu").targets
    differs = (independent.sort(dim=2).values != independent[:1].sort(dim=2).values).any(dim=2)  # [M, B]
    assert differs[1:].float().mean() > 0.9  # C(9,4)=126 sets: a repeat is rare
    objective = _objective(target_masks="as_released")
    masks = objective.sample_masks(16, torch.device("cpu"))
    assert all(torch.equal(masks.targets[0], masks.targets[k]) for k in range(1, JEPA.num_target_masks))


def test_encoder_gradients_are_clamped_and_the_predictors_are_not():
    """src/encoder.py: ``p.register_hook(lambda g: torch.clamp(g, -clip, clip))`` on the context encoder."""
    grads = {}
    for clip in (1.0, None):
        objective = _objective(encoder_grad_clip_value=clip)
        torch.manual_seed(1)
        (1e4 * objective.training_step(_batch(), step=1, phase="main")["loss"]).backward()
        grads[clip] = (
            max(p.grad.abs().max().item() for p in objective.encoder.parameters() if p.grad is not None),
            max(p.grad.abs().max().item() for p in objective.predictor.parameters() if p.grad is not None),
        )
        assert all(p.grad is None for p in objective.target_encoder.parameters())
    assert grads[1.0][0] <= 1.0 and grads[None][0] > 1.0  # the clamp acted on the encoder
    assert grads[1.0][1] > 1.0 and grads[1.0][1] == pytest.approx(grads[None][1])  # and not on the predictor
    pickle.loads(pickle.dumps(_objective()))  # the hooks do not stop the objective from pickling


def test_default_trainer_does_not_clamp_every_parameter():
    spec = get_registry().get("objective", "t-jepa", modality="tabular")
    assert spec.trainer_defaults.get("grad_clip_value") is None
    assert TJEPAConfig().encoder_grad_clip_value == 1.0


@pytest.mark.parametrize("bad", [{"target_masks": "shared"}, {"encoder_grad_clip_value": 0.0}])
def test_bad_fidelity_options_are_config_errors(bad):
    with pytest.raises(ConfigError, match="t-jepa"):
        _objective(**bad)


def test_feature_type_embedding_adds_one_vector_per_kind_and_none_to_reg_tokens():
    torch.manual_seed(0)
    plain = FTTransformer(ENCODER, INFO)
    torch.manual_seed(0)
    typed = FTTransformer(dataclasses.replace(ENCODER, feature_type_embedding=True), INFO)
    typed.load_state_dict(plain.state_dict(), strict=False)
    batch = _batch(4)
    difference = typed.tokens(batch) - plain.tokens(batch)  # [B, R + d, h]
    reg, numerical, categorical = difference[:, :1], difference[:, 1:6], difference[:, 6:]
    embedding = typed.feature_type_embedding.weight.detach()
    assert torch.equal(reg, torch.zeros_like(reg))
    torch.testing.assert_close(numerical, embedding[0].expand_as(numerical))
    torch.testing.assert_close(categorical, embedding[1].expand_as(categorical))
    only_numerical = {"num_numerical": 5, "cardinalities": [], "num_features": 5, "task": "binary", "num_classes": 2}
    assert FTTransformer(dataclasses.replace(ENCODER, feature_type_embedding=True), only_numerical).feature_type_embedding is None
