"""k-means and the clustering evaluator against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from selfsup.errors import ConfigError, DatasetError
from selfsup.evaluation import Clustering, ClusteringConfig, kmeans
from selfsup.evaluation.metrics import cluster_accuracy

pytestmark = pytest.mark.usefixtures("torch_single_thread")

CPU = torch.device("cpu")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_separates_blobs_and_matches_sklearn_inertia(seed: int) -> None:
    x, y = make_blobs(2000, n_features=10, centers=6, cluster_std=1.0, center_box=(-20, 20), random_state=seed)
    state = torch.get_rng_state()
    labels, centroids, inertia = kmeans(torch.tensor(x, dtype=torch.float32), 6, n_init=5, seed=seed)
    assert torch.equal(torch.get_rng_state(), state), "the global RNG must not move"
    assert labels.dtype == torch.int64 and labels.shape == (2000,) and centroids.shape == (6, 10)
    assert type(inertia) is float
    assert cluster_accuracy(y, labels.numpy()) == 1.0
    reference = KMeans(6, n_init=5, random_state=seed).fit(x)
    assert inertia == pytest.approx(reference.inertia_, rel=0.01)
    # The reported inertia is the inertia of the returned labels and centroids.
    direct = float(((torch.tensor(x) - centroids.double()[labels]) ** 2).sum())
    assert inertia == pytest.approx(direct, rel=1e-5)


def test_kmeans_inertia_close_to_sklearn_on_overlapping_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 8)).astype(np.float32)  # no cluster structure: local optima matter
    _, _, inertia = kmeans(torch.from_numpy(x), 10, n_init=10, seed=0)
    reference = KMeans(10, n_init=10, random_state=0).fit(x).inertia_
    assert inertia == pytest.approx(reference, rel=0.01)


def test_kmeans_is_seeded() -> None:
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(500, 4)).astype(np.float32))
    a = kmeans(x, 7, n_init=2, seed=3)
    b = kmeans(x, 7, n_init=2, seed=3)
    c = kmeans(x, 7, n_init=1, seed=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]
    assert not torch.equal(a[1], c[1])


def test_kmeans_degenerate_inputs() -> None:
    # Fewer distinct points than clusters would leave clusters empty; they are re-seeded.
    x = torch.tensor([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]]).repeat(20, 1)
    labels, centroids, inertia = kmeans(x, 3, n_init=3, seed=0)
    assert inertia == pytest.approx(0.0, abs=1e-6)
    assert len(set(labels.tolist())) == 3
    labels, _, inertia = kmeans(x, 1, n_init=1)
    assert labels.unique().tolist() == [0]
    assert inertia == pytest.approx(float(((x - x.mean(0)) ** 2).sum()), rel=1e-5)
    with pytest.raises(ConfigError, match="k=61"):
        kmeans(x, 61)


@pytest.fixture
def clustered_source(make_eval_source):
    x, y = make_blobs(900, n_features=6, centers=3, cluster_std=0.5, random_state=0)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    return make_eval_source(
        {"train": (x_t[:600], y_t[:600]), "test": (x_t[600:], y_t[600:])}, info={"num_classes": 3}, name="blobs3"
    )


def test_clustering_evaluator_scores_perfect_clusters(clustered_source, identity_encoder) -> None:
    evaluator = Clustering(ClusteringConfig(normalize="none"))
    assert evaluator.split == "test" and evaluator.settings()["num_clusters"] is None
    state = torch.get_rng_state()
    result = evaluator.evaluate(identity_encoder(6), clustered_source, device=CPU, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(result) == {"acc", "nmi", "ari", "macro_f1"}
    assert all(type(v) is float for v in result.values())
    assert result == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0, "macro_f1": 1.0})
    assert evaluator.evaluate(identity_encoder(6), clustered_source, device=CPU, seed=0) == result


def test_clustering_evaluator_options(clustered_source, identity_encoder) -> None:
    # More clusters than classes: ACC and macro-F1 drop (an unmatched cluster counts as wrong).
    over = Clustering(ClusteringConfig(num_clusters=6, normalize="standardize")).evaluate(
        identity_encoder(6), clustered_source, device=CPU, seed=0
    )
    assert over["acc"] < 1.0 and over["macro_f1"] < 1.0 and over["nmi"] < 1.0
    # k = 1: every sample in one cluster; NMI and ARI are 0.
    one = Clustering(ClusteringConfig(num_clusters=1)).evaluate(
        identity_encoder(6), clustered_source, device=CPU, seed=0
    )
    assert one["nmi"] == 0.0 and one["ari"] == 0.0 and one["acc"] == pytest.approx(1 / 3, abs=0.05)


def test_clustering_full_batch_source_uses_eval_mask(make_eval_source, identity_encoder) -> None:
    x, y = make_blobs(300, n_features=4, centers=3, cluster_std=0.3, random_state=3)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    source = make_eval_source(
        {"train": (x_t[:200], y_t[:200]), "all": (x_t[200:], y_t[200:])}, info={"num_classes": 3}, full_batch=True
    )
    result = Clustering(ClusteringConfig(split="all", normalize="none")).evaluate(
        identity_encoder(4), source, device=CPU, seed=0
    )
    assert result["acc"] == 1.0


def test_clustering_errors(make_eval_source, identity_encoder) -> None:
    source = make_eval_source(
        {
            "train": (torch.randn(10, 2), torch.zeros(10, dtype=torch.long)),
            "test": (torch.randn(4, 2), torch.zeros(4, dtype=torch.long)),
        },
        name="no-info",
    )
    with pytest.raises(DatasetError, match=r"no-info declares no info\['num_classes'\].*num_clusters"):
        Clustering().evaluate(identity_encoder(2), source, device=CPU, seed=0)
    with pytest.raises(DatasetError, match="only 4 rows"):
        Clustering(ClusteringConfig(num_clusters=5)).evaluate(identity_encoder(2), source, device=CPU, seed=0)
    with pytest.raises(ConfigError, match="normalize"):
        ClusteringConfig(normalize="pca")
    with pytest.raises(ConfigError, match="num_clusters"):
        ClusteringConfig(num_clusters=0)
