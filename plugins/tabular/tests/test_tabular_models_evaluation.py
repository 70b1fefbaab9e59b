"""Centroid anomaly evaluator, a short CLAN run on synthetic NIDS-like data, raw-feature baseline."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import nn

from selfsup.errors import ComponentError
from selfsup.interfaces import DataSource
from selfsup_tabular.encoders import ResidualMLP, ResidualMLPConfig
from selfsup_tabular.evaluation import (
    CentroidAnomaly,
    CentroidAnomalyConfig,
    RawMLPBaseline,
    RawMLPBaselineConfig,
)
from selfsup_tabular.evaluation.raw_baseline import RawFeatures
from selfsup_tabular.objectives import CLAN, CLANConfig


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """These tests train tiny networks: one thread is as fast, and does not stall when the cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class _Rows(torch.utils.data.Dataset):
    def __init__(self, columns: dict[str, torch.Tensor]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return next(iter(self.columns.values())).shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[index] for key, value in self.columns.items()}


class InMemoryTable(DataSource):
    """A tiny data source over in-memory column tensors (no loaders involved)."""

    def __init__(self, splits: dict[str, dict[str, torch.Tensor]], info: dict[str, Any]) -> None:
        self.splits = tuple(splits)
        self._splits = splits
        self.info = info

    def split(self, name: str) -> torch.utils.data.Dataset:
        return _Rows(self._splits[name])


class Passthrough(nn.Module):
    """Encoder returning the numerical columns."""

    embed_dim = 2

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return batch["numerical"]


def _info(num_numerical: int, cardinalities: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "num_numerical": num_numerical,
        "cardinalities": cardinalities,
        "num_features": num_numerical + len(cardinalities),
        **extra,
    }


# --------------------------------------------------------------------------- centroid anomaly


def test_centroid_anomaly_scores_cosine_distance_to_benign_centroid() -> None:
    train = {
        "numerical": torch.tensor([[1.0, 0.1], [1.0, -0.1], [0.0, 5.0]]),  # the attack row is not in μ0
        "label": torch.tensor([0, 0, 1]),
    }
    test = {
        "numerical": torch.tensor([[2.0, 0.0], [1.0, 0.2], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]]),
        "label": torch.tensor([0, 0, 1, 2, 1]),
    }
    data = InMemoryTable({"train": train, "test": test}, _info(2, [], benign_label=0))
    results = CentroidAnomaly().evaluate(Passthrough(), data, device=torch.device("cpu"), seed=0)
    # μ0 = (1, 0): scores 0, ~0.02, 1, 2, ~0.29 → every attack above every benign row.
    assert results["auroc"] == pytest.approx(1.0)
    assert results["auroc_class_1"] == pytest.approx(1.0) and results["auroc_class_2"] == pytest.approx(1.0)
    assert results["mean_class_auroc"] == pytest.approx(1.0)
    assert results["num_benign_reference"] == 2.0


def test_centroid_anomaly_partial_ordering() -> None:
    # Benign rows score 0 and 1−cos(45°); attacks score 1−cos(90°) = 1 and 0 → AUC = (1 + 0.5·... ) by hand:
    # benign scores {0, 0.293}, attack scores {1, 0}: pairs (1>0, 1>0.293, 0=0 → ½, 0<0.293) → 2.5 / 4.
    train = {"numerical": torch.tensor([[1.0, 0.0]]), "label": torch.tensor([0])}
    test = {
        "numerical": torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [3.0, 0.0]]),
        "label": torch.tensor([0, 0, 1, 1]),
    }
    data = InMemoryTable({"train": train, "test": test}, _info(2, []))  # benign_label defaults to 0
    results = CentroidAnomaly(CentroidAnomalyConfig(per_class=False)).evaluate(
        Passthrough(), data, device=torch.device("cpu"), seed=0
    )
    assert results["auroc"] == pytest.approx(2.5 / 4)
    assert "mean_class_auroc" not in results


def test_centroid_anomaly_uses_all_rows_of_an_unlabelled_reference() -> None:
    train = {"numerical": torch.tensor([[1.0, 0.0], [0.0, 1.0]])}  # centroid (0.5, 0.5)
    test = {"numerical": torch.tensor([[1.0, 1.0], [1.0, -1.0]]), "label": torch.tensor([0, 1])}
    data = InMemoryTable({"train": train, "test": test}, _info(2, []))
    results = CentroidAnomaly().evaluate(Passthrough(), data, device=torch.device("cpu"), seed=0)
    assert results["num_benign_reference"] == 2.0 and results["auroc"] == pytest.approx(1.0)


def test_centroid_anomaly_needs_both_classes() -> None:
    split = {"numerical": torch.randn(4, 2), "label": torch.zeros(4, dtype=torch.long)}
    data = InMemoryTable({"train": split, "test": split}, _info(2, []))
    with pytest.raises(ComponentError, match="both benign"):
        CentroidAnomaly().evaluate(Passthrough(), data, device=torch.device("cpu"), seed=0)


def gaussian_nids(benign_rows: int, attack_rows: int, seed: int, dims: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Benign: a 3-component Gaussian mixture; attacks: shifted clusters (class 1) and inflated ones (class 2)."""
    generator = torch.Generator().manual_seed(seed)
    centers = torch.randn(3, dims, generator=torch.Generator().manual_seed(99))
    benign = centers[torch.randint(0, 3, (benign_rows,), generator=generator)]
    benign = benign + 0.5 * torch.randn(benign_rows, dims, generator=generator)
    half = attack_rows // 2
    shift = torch.zeros(dims)
    shift[:5] = 1.5
    shifted = centers[torch.randint(0, 3, (half,), generator=generator)] + shift
    shifted = shifted + 0.5 * torch.randn(half, dims, generator=generator)
    inflated = centers[torch.randint(0, 3, (attack_rows - half,), generator=generator)]
    inflated = inflated + 1.5 * torch.randn(attack_rows - half, dims, generator=generator)
    labels = torch.cat([torch.zeros(benign_rows), torch.ones(half), torch.full((attack_rows - half,), 2.0)])
    return torch.cat([benign, shifted, inflated]), labels.long()


def test_clan_beats_a_random_encoder_on_gaussian_attacks() -> None:
    torch.manual_seed(0)
    x_train, y_train = gaussian_nids(4096, 0, seed=0)
    x_test, y_test = gaussian_nids(1000, 1000, seed=1)
    mean, std = x_train.mean(0), x_train.std(0)  # CLAN: z-normalise with benign-train statistics
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    info = _info(20, [], benign_label=0, task="multiclass", num_classes=3)
    data = InMemoryTable(
        {"train": {"numerical": x_train, "label": y_train}, "test": {"numerical": x_test, "label": y_test}}, info
    )
    encoder = ResidualMLP(ResidualMLPConfig(width=64, n_blocks=2, d_out=16), info)
    random_encoder = copy.deepcopy(encoder)
    objective = CLAN(CLANConfig(), encoder, info)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=1e-3)
    for step in range(1, 81):
        rows = torch.randint(0, x_train.shape[0], (256,))
        out = objective.training_step({"numerical": x_train[rows], "label": y_train[rows]}, step=step, phase="main")
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()
    evaluator = CentroidAnomaly()
    random_auroc = evaluator.evaluate(random_encoder, data, device=torch.device("cpu"), seed=0)["auroc"]
    trained = evaluator.evaluate(encoder, data, device=torch.device("cpu"), seed=0)
    assert trained["auroc"] > random_auroc + 0.15, (random_auroc, trained)
    assert trained["auroc"] > 0.85 and trained["mean_class_auroc"] > 0.85


# --------------------------------------------------------------------------- raw-feature baseline


class _Unusable(nn.Module):
    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise AssertionError("the raw baseline must ignore the encoder")


def _classification_split(rows: int, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    numerical = torch.randn(rows, 3, generator=generator)
    categorical = torch.randint(1, 4, (rows, 2), generator=generator)
    label = ((numerical[:, 0] > 0) ^ (categorical[:, 1] == 2)).long()  # needs the one-hot column
    return {"numerical": numerical, "categorical": categorical, "label": label}


def test_raw_mlp_baseline_learns_from_raw_columns_and_ignores_the_encoder() -> None:
    info = _info(3, [4, 4], task="binary", num_classes=2)
    data = InMemoryTable(
        {"train": _classification_split(1500, 0), "val": _classification_split(300, 1), "test": _classification_split(500, 2)},
        info,
    )
    evaluator = RawMLPBaseline(RawMLPBaselineConfig(epochs=30))
    results = evaluator.evaluate(_Unusable(), data, device=torch.device("cpu"), seed=0)
    assert set(results) == {"accuracy", "macro_f1"}
    assert results["accuracy"] > 0.85
    settings = evaluator.settings()
    assert settings["hidden"] == [256, 256] and "encoder is ignored" in settings["features"]
    assert evaluator.split == "test"


def test_raw_features_are_numerical_then_one_hot() -> None:
    raw = RawFeatures(_info(1, [2, 3]))
    features = raw({"numerical": torch.tensor([[0.5]]), "categorical": torch.tensor([[1, 0]])})
    assert torch.allclose(features, torch.tensor([[0.5, 0.0, 1.0, 1.0, 0.0, 0.0]]))
    assert raw.embed_dim == 6


def test_evaluator_configs_are_omegaconf_compatible() -> None:
    from omegaconf import OmegaConf

    for cls in (CentroidAnomalyConfig, RawMLPBaselineConfig):
        config = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), {"split": "val"}))
        assert isinstance(config, cls) and config.split == "val"
    assert RawMLPBaselineConfig().hidden == (256, 256)  # the MLP probe's defaults, inherited
