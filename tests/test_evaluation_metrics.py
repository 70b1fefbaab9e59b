"""selfsup.evaluation.metrics against scikit-learn / scipy as golden references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
import sklearn.metrics as skm
import torch

from selfsup.errors import ComponentError
from selfsup.evaluation import metrics

pytestmark = pytest.mark.usefixtures("torch_single_thread")

SEEDS = range(12)


def _labels(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.integers(0, k, size=n)


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_and_macro_f1_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    y_true = _labels(rng, n, int(rng.integers(1, 6)))
    # Predictions may use classes absent from y_true and miss some of y_true's.
    y_pred = np.where(rng.random(n) < 0.6, y_true, _labels(rng, n, int(rng.integers(1, 8))))
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    expected = skm.f1_score(y_true, y_pred, average="macro", zero_division=0)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)
    labels = np.unique(y_true)
    expected = skm.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)
    assert metrics.macro_f1(y_true, y_pred, labels=labels) == pytest.approx(expected, abs=1e-12)


def test_metrics_accept_tensors_and_return_floats() -> None:
    y_true = torch.tensor([0, 1, 1, 2])
    y_pred = torch.tensor([0, 1, 2, 2])
    for fn in (
        metrics.accuracy,
        metrics.macro_f1,
        metrics.cluster_accuracy,
        metrics.normalized_mutual_info,
        metrics.adjusted_rand_index,
    ):
        value = fn(y_true, y_pred)
        assert type(value) is float
    assert metrics.accuracy(y_true, y_pred) == 0.75
    # F1: class0 1, class1 2/3, class2 2/3.
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_macro_f1_with_a_class_absent_from_both_scores_zero() -> None:
    y = np.array([0, 0, 1])
    assert metrics.macro_f1(y, y, labels=[0, 1, 2]) == pytest.approx(
        skm.f1_score(y, y, labels=[0, 1, 2], average="macro", zero_division=0)
    )
    assert metrics.macro_f1(y, y, labels=[0, 1, 2]) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "fragment"),
    [([0, 1], [0], "2 entries"), ([], [], "no samples"), ([[0, 1]], [[0, 1]], "1-D")],
)
def test_classification_metrics_reject_bad_input(y_true, y_pred, fragment) -> None:
    with pytest.raises(ComponentError, match=fragment):
        metrics.accuracy(y_true, y_pred)


# --------------------------------------------------------------------------- assignment


@pytest.mark.parametrize("shape", [(1, 1), (5, 5), (4, 9), (9, 4), (30, 30), (17, 40), (40, 17)])
@pytest.mark.parametrize("maximize", [False, True])
def test_linear_sum_assignment_matches_scipy(shape: tuple[int, int], maximize: bool) -> None:
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    for trial in range(5):
        # Continuous costs (unique optimum) and small integers (many tied optima).
        cost = rng.normal(size=shape) if trial % 2 == 0 else rng.integers(0, 3, size=shape).astype(float)
        rows, cols = metrics.linear_sum_assignment(cost, maximize=maximize)
        ref_rows, ref_cols = scipy.optimize.linear_sum_assignment(cost, maximize=maximize)
        assert len(rows) == len(cols) == min(shape)
        assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
        assert np.all(np.diff(rows) > 0)
        assert cost[rows, cols].sum() == pytest.approx(cost[ref_rows, ref_cols].sum(), abs=1e-9)
        if trial % 2 == 0:
            np.testing.assert_array_equal(rows, ref_rows)
            np.testing.assert_array_equal(cols, ref_cols)


def test_linear_sum_assignment_edge_cases() -> None:
    rows, cols = metrics.linear_sum_assignment(np.zeros((0, 3)))
    assert rows.size == 0 and cols.size == 0
    with pytest.raises(ComponentError, match="NaN or infinite"):
        metrics.linear_sum_assignment(np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(ComponentError, match="2-D"):
        metrics.linear_sum_assignment(np.ones(3))


def _reference_cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    counts = skm.cluster.contingency_matrix(y_true, y_pred)
    rows, cols = scipy.optimize.linear_sum_assignment(counts, maximize=True)
    return counts[rows, cols].sum() / len(y_true)


@pytest.mark.parametrize("seed", SEEDS)
def test_cluster_accuracy_matches_scipy_hungarian(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    n_classes, n_clusters = rng.integers(1, 9, size=2)  # rectangular on purpose
    y_true = _labels(rng, n, int(n_classes))
    y_pred = np.where(rng.random(n) < 0.5, (y_true * 3 + 1) % int(n_clusters), _labels(rng, n, int(n_clusters)))
    assert metrics.cluster_accuracy(y_true, y_pred) == pytest.approx(
        _reference_cluster_accuracy(y_true, y_pred), abs=1e-12
    )


def test_cluster_accuracy_is_permutation_invariant_and_align_clusters_recovers_classes() -> None:
    rng = np.random.default_rng(0)
    y = _labels(rng, 500, 6)
    permuted = np.array([4, 0, 5, 2, 1, 3])[y] + 10  # different ids entirely
    assert metrics.cluster_accuracy(y, permuted) == 1.0
    np.testing.assert_array_equal(metrics.align_clusters(y, permuted), y)
    # More clusters than classes: the extra cluster maps to ``unmatched``.
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([7, 7, 8, 9, 9, 9])
    np.testing.assert_array_equal(metrics.align_clusters(y_true, y_pred), [0, 0, -1, 1, 1, 1])
    assert metrics.cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)


# --------------------------------------------------------------------------- clustering agreement


@pytest.mark.parametrize("seed", SEEDS)
def test_nmi_and_ari_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    y_true = _labels(rng, n, int(rng.integers(1, 7)))
    y_pred = np.where(rng.random(n) < 0.5, y_true, _labels(rng, n, int(rng.integers(1, 9))))
    assert metrics.normalized_mutual_info(y_true, y_pred) == pytest.approx(
        skm.normalized_mutual_info_score(y_true, y_pred), abs=1e-10
    )
    assert metrics.adjusted_rand_index(y_true, y_pred) == pytest.approx(
        skm.adjusted_rand_score(y_true, y_pred), abs=1e-10
    )


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        ([0, 0, 0], [1, 1, 1]),  # both single cluster
        ([0, 0, 0, 0], [0, 1, 2, 3]),  # one side single cluster
        ([0, 1, 2, 3], [0, 0, 0, 0]),
        ([0, 0, 1, 1], [1, 1, 0, 0]),  # perfect, relabelled
        ([0], [5]),
        ([0, 1], [0, 1]),
    ],
)
def test_nmi_and_ari_edge_cases_match_sklearn(y_true, y_pred) -> None:
    assert metrics.normalized_mutual_info(y_true, y_pred) == pytest.approx(
        skm.normalized_mutual_info_score(y_true, y_pred), abs=1e-12
    )
    assert metrics.adjusted_rand_index(y_true, y_pred) == pytest.approx(
        skm.adjusted_rand_score(y_true, y_pred), abs=1e-12
    )


def test_ari_does_not_overflow_on_large_inputs() -> None:
    rng = np.random.default_rng(1)
    y_true = _labels(rng, 300_000, 2)
    y_pred = np.where(rng.random(300_000) < 0.9, y_true, 1 - y_true)
    assert metrics.adjusted_rand_index(y_true, y_pred) == pytest.approx(
        skm.adjusted_rand_score(y_true, y_pred), abs=1e-10
    )


# --------------------------------------------------------------------------- ranking


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_auc_matches_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    y = rng.integers(0, 2, size=n)
    y[0], y[1] = 0, 1  # both classes present
    scores = np.round(rng.normal(size=n) + y, decimals=int(rng.integers(0, 2)))  # many ties
    assert metrics.roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores), abs=1e-12)
    assert metrics.roc_auc(y.astype(bool), torch.tensor(scores)) == pytest.approx(
        skm.roc_auc_score(y, scores), abs=1e-12
    )
    assert metrics.roc_auc(2 * y - 1, scores) == pytest.approx(skm.roc_auc_score(2 * y - 1, scores), abs=1e-12)


def test_roc_auc_simple_values_and_errors() -> None:
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert metrics.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert metrics.roc_auc([0, 1], [1.0, 0.0]) == 0.0
    with pytest.raises(ComponentError, match="only one class"):
        metrics.roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ComponentError, match="binary"):
        metrics.roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ComponentError, match="NaN"):
        metrics.roc_auc([0, 1], [np.nan, 0.2])


# --------------------------------------------------------------------------- regression


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("targets", [1, 3])
def test_r2_and_rmse_match_sklearn(seed: int, targets: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 200))
    shape = (n,) if targets == 1 else (n, targets)
    y = rng.normal(size=shape) * 5 + 2
    y_hat = y + rng.normal(size=shape) * rng.uniform(0.1, 5)
    assert metrics.r2_score(y, y_hat) == pytest.approx(skm.r2_score(y, y_hat), abs=1e-10)
    assert metrics.rmse(y, y_hat) == pytest.approx(skm.root_mean_squared_error(y, y_hat), abs=1e-10)


@pytest.mark.parametrize(
    ("y", "y_hat"),
    [([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]), ([1.0, 1.0, 1.0], [1.0, 2.0, 1.0]), ([0.0, 1.0], [1.0, 0.0])],
)
def test_r2_constant_target_conventions_match_sklearn(y, y_hat) -> None:
    assert metrics.r2_score(y, y_hat) == pytest.approx(skm.r2_score(y, y_hat))


def test_regression_metrics_reject_bad_input() -> None:
    with pytest.raises(ComponentError, match="shape"):
        metrics.rmse([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ComponentError, match="at least 2"):
        metrics.r2_score([1.0], [1.0])


def test_average_ranks_match_scipy_rankdata() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 10, size=100).astype(float)
    np.testing.assert_allclose(metrics._average_ranks(values), scipy.stats.rankdata(values))
