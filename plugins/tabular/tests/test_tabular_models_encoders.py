"""FT-Transformer and residual-MLP encoders: shapes, tokens, configs and errors."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from selfsup.errors import ConfigError, IncompatibleComponentsError
from selfsup_tabular.encoders import (
    FTTransformer,
    FTTransformerConfig,
    ResidualMLP,
    ResidualMLPConfig,
    build_ft_transformer,
    build_residual_mlp,
)
from selfsup_tabular.encoders.ft_transformer import sinusoidal_positions

SMALL = FTTransformerConfig(d_token=8, n_layers=1, n_heads=2, d_ffn=16)


def make_batch(rows: int, num_numerical: int, cardinalities: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    categorical = [torch.randint(0, c, (rows,), generator=generator) for c in cardinalities]
    return {
        "numerical": torch.randn(rows, num_numerical, generator=generator),
        "categorical": torch.stack(categorical, 1) if categorical else torch.zeros(rows, 0, dtype=torch.long),
        "label": torch.randint(0, 2, (rows,), generator=generator),
    }


def make_info(num_numerical: int, cardinalities: list[int]) -> dict[str, Any]:
    return {
        "num_numerical": num_numerical,
        "cardinalities": cardinalities,
        "num_features": num_numerical + len(cardinalities),
        "task": "binary",
        "num_classes": 2,
    }


LAYOUTS = [(3, [4, 2]), (0, [4, 2, 6]), (5, [])]


@pytest.mark.parametrize(("num_numerical", "cardinalities"), LAYOUTS)
@pytest.mark.parametrize("pooling", ["flatten", "mean", "reg"])
def test_ft_transformer_shapes(num_numerical: int, cardinalities: list[int], pooling: str) -> None:
    info = make_info(num_numerical, cardinalities)
    encoder = build_ft_transformer(dataclasses.replace(SMALL, n_reg_tokens=2, pooling=pooling), info)
    batch = make_batch(5, num_numerical, cardinalities)
    d = num_numerical + len(cardinalities)
    assert encoder.tokens(batch).shape == (5, 2 + d, 8)
    assert encoder.encode(encoder.tokens(batch)).shape == (5, 2 + d, 8)
    expected = {"flatten": (2 + d) * 8, "mean": 8, "reg": 2 * 8}[pooling]
    assert encoder.embed_dim == expected
    assert encoder(batch).shape == (5, expected)
    assert encoder.num_features == d and encoder.n_reg_tokens == 2 and encoder.d_token == 8


def test_ft_transformer_accepts_batches_without_empty_keys() -> None:
    encoder = FTTransformer(SMALL, make_info(0, [3, 3]))
    batch = make_batch(4, 0, [3, 3])
    del batch["numerical"]
    assert encoder(batch).shape == (4, encoder.embed_dim)


def test_feature_tokens_follow_the_ft_transformer_formula() -> None:
    config = dataclasses.replace(SMALL, positional="none", n_reg_tokens=1)
    encoder = FTTransformer(config, make_info(2, [3]))
    batch = {"numerical": torch.tensor([[0.5, -2.0]]), "categorical": torch.tensor([[2]])}
    tokens = encoder.tokens(batch)[0]
    tokenizer = encoder.tokenizer
    assert torch.allclose(tokens[0], tokenizer.reg_weight[0])  # reg token: W_reg · 1, no bias
    assert torch.allclose(tokens[1], 0.5 * tokenizer.numerical_weight[0] + tokenizer.feature_bias[0])
    assert torch.allclose(tokens[2], -2.0 * tokenizer.numerical_weight[1] + tokenizer.feature_bias[1])
    embedding = tokenizer.category_embeddings.weight[2]  # offset 0, category 2
    assert torch.allclose(tokens[3], embedding + tokenizer.feature_bias[2])


def test_categorical_offsets_separate_columns() -> None:
    encoder = FTTransformer(dataclasses.replace(SMALL, positional="none"), make_info(0, [3, 4]))
    tokens = encoder.tokens({"categorical": torch.tensor([[1, 1]])})[0]
    table = encoder.tokenizer.category_embeddings.weight
    assert torch.allclose(tokens[1], table[1] + encoder.tokenizer.feature_bias[0])
    assert torch.allclose(tokens[2], table[3 + 1] + encoder.tokenizer.feature_bias[1])


def test_sinusoidal_positions_use_base_100_interleaved() -> None:
    table = sinusoidal_positions(5, 4, base=100.0)
    position, i = 3, 1  # columns 2 (sin) and 3 (cos) use ω_1 = 100^(−2/4)
    omega = 100.0 ** (-2 * i / 4)
    assert table[position, 2].item() == pytest.approx(math.sin(position * omega), abs=1e-6)
    assert table[position, 3].item() == pytest.approx(math.cos(position * omega), abs=1e-6)
    assert torch.allclose(table[:, 0], torch.sin(torch.arange(5.0)))  # ω_0 = 1
    encoder = FTTransformer(SMALL, make_info(2, [3]))
    no_positions = FTTransformer(dataclasses.replace(SMALL, positional="none"), make_info(2, [3]))
    no_positions.load_state_dict(encoder.state_dict())
    batch = make_batch(2, 2, [3])
    difference = encoder.tokens(batch) - no_positions.tokens(batch)
    assert torch.allclose(difference, sinusoidal_positions(4, 8).expand(2, -1, -1), atol=1e-6)


def test_ft_transformer_is_post_norm_with_the_tjepa_head() -> None:
    encoder = FTTransformer(SMALL, make_info(2, [3]))
    assert all(not layer.norm_first for layer in encoder.backbone.layers)
    kinds = [type(module).__name__ for module in encoder.backbone.head]
    assert kinds == ["Dropout", "LayerNorm", "Linear", "Dropout", "LayerNorm"]


def test_ft_transformer_config_is_omegaconf_compatible() -> None:
    structured = OmegaConf.structured(FTTransformerConfig)
    config = OmegaConf.to_object(OmegaConf.merge(structured, {"n_layers": 1, "pooling": "mean"}))
    assert isinstance(config, FTTransformerConfig) and config.n_layers == 1
    for cls in (ResidualMLPConfig,):
        assert isinstance(OmegaConf.to_object(OmegaConf.structured(cls)), cls)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pooling": "max"}, "pooling"),
        ({"positional": "learned"}, "positional"),
        ({"n_heads": 3}, "divisible"),
        ({"d_token": 7, "n_heads": 1}, "even width"),
        ({"pooling": "reg", "n_reg_tokens": 0}, "n_reg_tokens"),
    ],
)
def test_ft_transformer_rejects_bad_configs(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FTTransformer(dataclasses.replace(SMALL, **change), make_info(2, [3]))


def test_encoders_reject_non_tabular_data_info() -> None:
    with pytest.raises(IncompatibleComponentsError, match="cardinalities"):
        FTTransformer(SMALL, {"num_classes": 10})
    with pytest.raises(IncompatibleComponentsError, match="num_features"):
        ResidualMLP(ResidualMLPConfig(), {**make_info(2, [3]), "num_features": 7})


@pytest.mark.parametrize(("num_numerical", "cardinalities"), LAYOUTS)
@pytest.mark.parametrize("categorical", ["one_hot", "embedding"])
def test_residual_mlp_shapes(num_numerical: int, cardinalities: list[int], categorical: str) -> None:
    config = ResidualMLPConfig(width=16, n_blocks=3, d_out=8, categorical=categorical, cat_embed_dim=4)
    encoder = build_residual_mlp(config, make_info(num_numerical, cardinalities))
    out = encoder(make_batch(6, num_numerical, cardinalities))
    assert out.shape == (6, 8) and encoder.embed_dim == 8
    if categorical == "one_hot":
        assert encoder.input_dim == num_numerical + sum(cardinalities)


def test_residual_mlp_matches_clan_equations() -> None:
    encoder = ResidualMLP(ResidualMLPConfig(width=4, n_blocks=2, d_out=3), make_info(2, []))
    x = torch.randn(5, 2)
    first, second = encoder.blocks
    h1 = torch.relu(first.linear(x)) + first.skip(x)  # skip is a Linear resize 2 → 4
    h2 = torch.relu(second.linear(h1)) + h1  # identity skip
    assert torch.allclose(encoder({"numerical": x}), encoder.output(h2), atol=1e-6)


def test_residual_mlp_one_hot_marks_each_category() -> None:
    encoder = ResidualMLP(ResidualMLPConfig(width=4, n_blocks=1), make_info(1, [3, 2]))
    features = encoder.features({"numerical": torch.tensor([[0.7]]), "categorical": torch.tensor([[2, 0]])})
    assert torch.allclose(features, torch.tensor([[0.7, 0.0, 0.0, 1.0, 1.0, 0.0]]))
