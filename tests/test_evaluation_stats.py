"""Collapse diagnostics: golden cases and scipy / numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

from selfsup.errors import ComponentError, ConfigError
from selfsup.evaluation import EmbeddingStats, EmbeddingStatsConfig, effective_rank, embedding_std, rankme

pytestmark = pytest.mark.usefixtures("torch_single_thread")

CPU = torch.device("cpu")


def _reference_rank(z: np.ndarray, eps: float) -> float:
    s = np.linalg.svd(z, compute_uv=False)
    p = s / s.sum() + eps
    return float(np.exp(scipy.stats.entropy(p) if eps == 0 else -(p * np.log(p)).sum()))


def test_identical_rows_have_rank_one_and_zero_std() -> None:
    z = torch.tensor([[0.3, -1.0, 2.0, 0.5]]).repeat(50, 1)
    assert effective_rank(z) == pytest.approx(1.0, abs=1e-6)
    assert rankme(z) == pytest.approx(1.0, abs=1e-4)
    assert embedding_std(z) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(("n", "d"), [(1, 5), (8, 8), (8, 32)])
def test_orthonormal_rows_have_rank_n(n: int, d: int) -> None:
    q, _ = torch.linalg.qr(torch.randn(d, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64))
    z = q.T  # n orthonormal rows
    assert effective_rank(z) == pytest.approx(n, rel=1e-9)
    assert rankme(z) == pytest.approx(n, rel=1e-5)


def test_ranks_match_scipy_entropy_reference() -> None:
    rng = np.random.default_rng(0)
    # Decaying spectrum: a partially collapsed embedding.
    z = rng.normal(size=(200, 32)) * np.geomspace(1, 1e-3, 32)
    assert effective_rank(torch.tensor(z)) == pytest.approx(_reference_rank(z, 0.0), rel=1e-9)
    assert rankme(torch.tensor(z)) == pytest.approx(_reference_rank(z, 1e-7), rel=1e-9)
    assert 1.0 < effective_rank(torch.tensor(z)) < 32.0
    assert rankme(torch.tensor(z), eps=0.0) == pytest.approx(effective_rank(torch.tensor(z)), rel=1e-12)


def test_embedding_std_matches_numpy() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 64))
    normalised = z / np.linalg.norm(z, axis=1, keepdims=True)
    expected = normalised.std(axis=0, ddof=1).mean()
    assert embedding_std(torch.tensor(z, dtype=torch.float32)) == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(1 / np.sqrt(64), rel=0.05)  # the isotropic reference value


def test_rank_functions_reject_bad_input() -> None:
    with pytest.raises(ComponentError, match="N >= 2"):
        embedding_std(torch.ones(1, 3))
    with pytest.raises(ComponentError, match="NaN"):
        effective_rank(torch.tensor([[1.0, float("nan")]]))
    assert effective_rank(torch.zeros(4, 3)) == 0.0


def test_embedding_stats_on_unlabelled_split(make_eval_source, identity_encoder) -> None:
    rng = np.random.default_rng(2)
    z = torch.tensor(rng.normal(size=(300, 16)), dtype=torch.float32)
    source = make_eval_source({"train": (z[:100], None), "test": (z[100:], None)})
    evaluator = EmbeddingStats(EmbeddingStatsConfig(max_samples=150))
    assert evaluator.split == "test" and evaluator.settings() == {
        "split": "test",
        "max_samples": 150,
        "batch_size": 1024,
    }
    state = torch.get_rng_state()
    result = evaluator.evaluate(identity_encoder(16), source, device=CPU, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(result) == {"embedding_std", "effective_rank", "rankme"}
    assert all(type(v) is float for v in result.values())
    assert result == evaluator.evaluate(identity_encoder(16), source, device=CPU, seed=0)
    assert result != evaluator.evaluate(identity_encoder(16), source, device=CPU, seed=1)  # another subset
    assert 10.0 < result["effective_rank"] <= 16.0
    full = EmbeddingStats().evaluate(identity_encoder(16), source, device=CPU, seed=0)
    assert full["rankme"] == pytest.approx(rankme(z[100:]), rel=1e-9)


def test_embedding_stats_detects_collapse(make_eval_source) -> None:
    class Collapsed(torch.nn.Module):
        embed_dim = 8

        def forward(self, batch):
            return torch.ones(batch["x"].shape[0], 8) + 1e-9 * batch["x"][:, :8]

    source = make_eval_source({"train": (torch.randn(64, 8), None), "test": (torch.randn(64, 8), None)})
    result = EmbeddingStats().evaluate(Collapsed(), source, device=CPU, seed=0)
    assert result["embedding_std"] < 1e-6
    assert result["effective_rank"] == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ConfigError, match="max_samples"):
        EmbeddingStatsConfig(max_samples=0)
