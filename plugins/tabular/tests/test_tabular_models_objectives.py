"""T-JEPA and CLAN objectives: EMA, gradients, logging, augmentation and a short training run."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from selfsup.errors import ConfigError, IncompatibleComponentsError
from selfsup_tabular.encoders import FTTransformer, FTTransformerConfig, ResidualMLP, ResidualMLPConfig
from selfsup_tabular.objectives import CLAN, TJEPA, CLANConfig, TJEPAConfig
from selfsup_tabular.objectives.augment import uniform_resample

ENCODER = FTTransformerConfig(d_token=16, n_layers=1, n_heads=2, d_ffn=32)
JEPA = TJEPAConfig(predictor_dim=16, predictor_layers=1, predictor_ffn=32)


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """These tests train tiny networks: one thread is as fast, and does not stall when the cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_info(num_numerical: int, cardinalities: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "num_numerical": num_numerical,
        "cardinalities": cardinalities,
        "num_features": num_numerical + len(cardinalities),
        "task": "binary",
        "num_classes": 2,
        **extra,
    }


def make_batch(rows: int, num_numerical: int, cardinalities: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    categorical = [torch.randint(0, c, (rows,), generator=generator) for c in cardinalities]
    return {
        "numerical": torch.randn(rows, num_numerical, generator=generator),
        "categorical": torch.stack(categorical, 1) if categorical else torch.zeros(rows, 0, dtype=torch.long),
        "label": torch.randint(0, 2, (rows,), generator=generator),
    }


def latent_table(rows: int, seed: int) -> dict[str, torch.Tensor]:
    """6 numerical + 2 categorical columns driven by 2 latent factors (learnable structure)."""
    generator = torch.Generator().manual_seed(seed)
    latent = torch.randn(rows, 2, generator=generator)
    mixing = torch.randn(2, 6, generator=torch.Generator().manual_seed(123))
    numerical = latent @ mixing + 0.1 * torch.randn(rows, 6, generator=generator)
    categorical = torch.stack(
        [1 + (latent[:, 0] > 0).long() + (latent[:, 1] > 0).long(), 1 + (latent[:, 0] > 0.5).long()], 1
    )
    return {"numerical": numerical, "categorical": categorical, "label": (latent[:, 0] > 0).long()}


def tjepa(info: dict[str, Any], **changes: Any) -> TJEPA:
    config = TJEPAConfig(**{**JEPA.__dict__, **changes})
    return TJEPA(config, FTTransformer(ENCODER, info), info)


# --------------------------------------------------------------------------- T-JEPA


def test_tjepa_rejects_encoders_without_tokens() -> None:
    info = make_info(3, [4])
    with pytest.raises(IncompatibleComponentsError, match="ResidualMLP.*tokens.*ft-transformer"):
        TJEPA(JEPA, ResidualMLP(ResidualMLPConfig(width=8, n_blocks=1), info), info)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reg_token_index_mode": "shifted"}, "reg_token_index_mode"),
        ({"num_target_masks": 0}, "num_target_masks"),
        ({"ema_start": 1.0, "ema_end": 0.9}, "ema_start"),
        ({"min_context_share": 0.9, "max_context_share": 0.9, "min_target_share": 0.5, "max_target_share": 0.9}, "do not fit"),
    ],
)
def test_tjepa_rejects_bad_configs(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tjepa(make_info(6, [3, 3]), **change)


def test_tjepa_config_is_omegaconf_compatible() -> None:
    for cls in (TJEPAConfig, CLANConfig):
        assert isinstance(OmegaConf.to_object(OmegaConf.structured(cls)), cls)


def test_ema_momentum_schedule_runs_from_0996_to_1() -> None:
    objective = tjepa(make_info(4, [3]))
    assert objective.momentum(1, 101) == pytest.approx(0.996)
    assert objective.momentum(51, 101) == pytest.approx(0.998)
    assert objective.momentum(101, 101) == pytest.approx(1.0)


def test_on_step_end_applies_the_ema_update() -> None:
    torch.manual_seed(0)
    objective = tjepa(make_info(4, [3]))
    with torch.no_grad():
        for parameter in objective.encoder.parameters():
            parameter.add_(torch.randn_like(parameter))
    before = [p.detach().clone() for p in objective.target_encoder.parameters()]
    online = [p.detach().clone() for p in objective.encoder.parameters()]
    objective.on_step_end(step=1, max_steps=10)
    assert objective.last_momentum == pytest.approx(0.996)
    for target, old, new in zip(objective.target_encoder.parameters(), before, online):
        assert torch.allclose(target, 0.996 * old + 0.004 * new, atol=1e-6)
    frozen = [p.detach().clone() for p in objective.target_encoder.parameters()]
    objective.on_step_end(step=10, max_steps=10)  # momentum 1.0: the target no longer moves
    assert objective.last_momentum == pytest.approx(1.0)
    assert all(torch.equal(a, b) for a, b in zip(objective.target_encoder.parameters(), frozen))


@pytest.mark.parametrize("mode", ["offset", "as_released"])
@pytest.mark.parametrize(("num_numerical", "cardinalities"), [(4, [3, 5]), (0, [3, 5, 4]), (5, [])])
def test_backward_reaches_every_trainable_parameter_and_never_the_target(
    mode: str, num_numerical: int, cardinalities: list[int]
) -> None:
    torch.manual_seed(0)
    info = make_info(num_numerical, cardinalities)
    objective = tjepa(info, reg_token_index_mode=mode)
    out = objective.training_step(make_batch(64, num_numerical, cardinalities), step=1, phase="main")
    out["loss"].backward()
    trainable = dict(objective.named_parameters())
    phase_parameters = {id(p) for phase in objective.phases() for p in phase.parameters}
    for name, parameter in trainable.items():
        if name.startswith("target_encoder."):
            assert not parameter.requires_grad and parameter.grad is None, name
            assert id(parameter) not in phase_parameters, name
            continue
        if parameter.numel() == 0:
            continue
        assert id(parameter) in phase_parameters, name
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_training_step_logs_detached_scalars() -> None:
    objective = tjepa(make_info(4, [3, 3]))
    out = objective.training_step(make_batch(32, 4, [3, 3]), step=1, phase="main")
    assert set(out) == {"loss", "target_std", "mean_predictor_loss", "context_size", "target_size"}
    for key, value in out.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, key
        assert value.requires_grad == (key == "loss"), key
    assert out["target_std"].item() > 0


@pytest.mark.parametrize("mode", ["offset", "as_released"])
def test_mean_predictor_loss_is_the_loss_of_predicting_each_target_by_its_row_mean(mode: str) -> None:
    """Hand-derived for two rows a, b: the row mean is (a + b)/2, so predicting it costs
    ((a − b)/2)² per value, averaged over the positions a target can take (``offset``: the feature
    tokens after the reg token; ``as_released``: the first d tokens) and the dimensions."""
    torch.manual_seed(0)
    info = make_info(4, [3, 3])
    objective = tjepa(info, reg_token_index_mode=mode)
    batch = make_batch(2, 4, [3, 3])
    out = objective.training_step(batch, step=1, phase="main")
    with torch.no_grad():
        full = objective.target_encoder.encode(objective.target_encoder.tokens(batch))  # [2, 1 + 6, h]
    positions = slice(1, 7) if mode == "offset" else slice(0, 6)
    expected = ((full[0, positions] - full[1, positions]) / 2).square().mean()
    assert out["mean_predictor_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    wrong = ((full[0] - full[1]) / 2).square().mean()  # every token, the reg token included
    assert abs(wrong.item() - expected.item()) > 1e-3 * expected.item()


def test_target_encoder_stays_in_eval_mode_and_is_in_the_state_dict() -> None:
    objective = tjepa(make_info(4, [3]))
    objective.train()
    assert objective.encoder.training and not objective.target_encoder.training
    assert objective.evaluation_encoder() is objective.encoder
    objective.config.evaluate = "target"
    assert objective.evaluation_encoder() is objective.target_encoder
    keys = objective.state_dict().keys()
    assert any(key.startswith("target_encoder.") for key in keys)
    assert any(key.startswith("predictor.") for key in keys)


def test_tjepa_step_under_bf16_autocast() -> None:
    objective = tjepa(make_info(4, [3, 3]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = objective.training_step(make_batch(32, 4, [3, 3]), step=1, phase="main")
    out["loss"].backward()
    assert out["loss"].dtype == torch.float32 and torch.isfinite(out["loss"])


def test_tjepa_loss_decreases_on_structured_data() -> None:
    torch.manual_seed(0)
    info = make_info(6, [4, 3])
    objective = tjepa(info)
    optimizer = torch.optim.AdamW([p for phase in objective.phases() for p in phase.parameters], lr=3e-3)
    data = latent_table(2048, seed=0)
    max_steps, losses, target_std = 60, [], None
    for step in range(1, max_steps + 1):
        rows = torch.randint(0, 2048, (256,))
        out = objective.training_step({k: v[rows] for k, v in data.items()}, step=step, phase="main")
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
        objective.on_step_end(step=step, max_steps=max_steps)
        losses.append(out["loss"].item())
        target_std = out["target_std"].item()
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.5 * first, (first, last)
    assert target_std is not None and target_std > 0.01  # no collapse of the targets


# --------------------------------------------------------------------------- CLAN


def test_uniform_resample_replaces_about_ten_percent() -> None:
    torch.manual_seed(0)
    numerical = torch.full((4000, 5), 9.0)
    categorical = torch.zeros(4000, 2, dtype=torch.long)
    cardinalities = torch.tensor([4, 1])
    new_numerical, new_categorical = uniform_resample(numerical, categorical, cardinalities)
    changed = new_numerical != 9.0
    assert changed.float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert new_numerical[changed].abs().max() <= 1.7
    assert torch.all(numerical == 9.0) and torch.all(categorical == 0)  # inputs untouched
    first = new_categorical[:, 0]
    assert (first != 0).float().mean().item() == pytest.approx(0.1, abs=0.015)
    assert set(first[first != 0].unique().tolist()) == {1, 2, 3}  # real categories only
    assert torch.all(new_categorical[:, 1] == 0)  # a column without real categories keeps its value


def test_uniform_resample_sample_probability() -> None:
    torch.manual_seed(0)
    numerical = torch.full((2000, 50), 9.0)
    augmented, _ = uniform_resample(numerical, None, None, p_feature=1.0, p_sample=0.3)
    rows_changed = (augmented != 9.0).all(dim=1)
    assert rows_changed.float().mean().item() == pytest.approx(0.3, abs=0.04)
    assert torch.all((augmented == 9.0).all(dim=1) | rows_changed)


@pytest.mark.parametrize(("num_numerical", "cardinalities"), [(4, [3, 5]), (0, [3, 5]), (5, [])])
def test_clan_step_reaches_every_parameter_and_logs(num_numerical: int, cardinalities: list[int]) -> None:
    torch.manual_seed(0)
    info = make_info(num_numerical, cardinalities, benign_label=0)
    objective = CLAN(CLANConfig(), ResidualMLP(ResidualMLPConfig(width=16, n_blocks=2, d_out=8), info), info)
    out = objective.training_step(make_batch(64, num_numerical, cardinalities), step=1, phase="main")
    out["loss"].backward()
    for name, parameter in objective.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert {"loss", "similar_loss", "dissimilar_loss", "active_negative_fraction", "benign_fraction"} <= set(out)
    assert 0.0 <= out["active_negative_fraction"].item() <= 1.0
    for key, value in out.items():
        assert value.dim() == 0 and value.requires_grad == (key == "loss"), key


def test_clan_trains_on_benign_rows_only() -> None:
    torch.manual_seed(0)
    info = make_info(4, [], benign_label=0)
    objective = CLAN(CLANConfig(), ResidualMLP(ResidualMLPConfig(width=16, n_blocks=1, d_out=8), info), info)
    batch = make_batch(32, 4, [])
    batch["label"] = torch.tensor([0] * 8 + [1] * 24)
    torch.manual_seed(1)
    mixed = objective.training_step(batch, step=1, phase="main")
    torch.manual_seed(1)
    benign_only = objective.training_step(  # the same augmentation draws for the first 8 rows
        {"numerical": batch["numerical"], "label": batch["label"]}, step=1, phase="main"
    )
    assert mixed["benign_fraction"].item() == pytest.approx(0.25)
    assert torch.allclose(mixed["loss"], benign_only["loss"])
    subset = objective.training_step({"numerical": batch["numerical"][:8]}, step=1, phase="main")
    assert "benign_fraction" not in subset  # no labels: every row is benign


def test_clan_works_with_the_ft_transformer_and_bf16() -> None:
    info = make_info(3, [4])
    objective = CLAN(CLANConfig(), FTTransformer(ENCODER, info), info)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = objective.training_step(make_batch(16, 3, [4]), step=1, phase="main")
    out["loss"].backward()
    assert torch.isfinite(out["loss"])


@pytest.mark.parametrize(("change", "message"), [({"train_on": "attacks"}, "train_on"), ({"margin": 1.5}, "margin")])
def test_clan_rejects_bad_configs(change: dict[str, Any], message: str) -> None:
    info = make_info(3, [])
    with pytest.raises(ConfigError, match=message):
        CLAN(CLANConfig(**change), ResidualMLP(ResidualMLPConfig(width=8, n_blocks=1), info), info)


def test_objectives_are_deep_copyable() -> None:
    info = make_info(3, [4])
    copy.deepcopy(tjepa(info))
