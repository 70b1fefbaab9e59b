"""Evaluation metrics as pure functions (numpy only).

Every function accepts numpy arrays, torch tensors or sequences, and returns a
plain Python ``float`` (or numpy index arrays for :func:`linear_sum_assignment`).
The definitions follow scikit-learn's defaults exactly, so numbers are
comparable with published results computed with it; the test-suite checks each
one against scikit-learn / scipy.

Classification labels may be any hashable numpy-compatible values (usually
class indices); they are only compared for equality.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ComponentError

__all__ = [
    "accuracy",
    "macro_f1",
    "linear_sum_assignment",
    "contingency_matrix",
    "align_clusters",
    "cluster_accuracy",
    "normalized_mutual_info",
    "adjusted_rand_index",
    "roc_auc",
    "r2_score",
    "rmse",
    "mae",
]


# --------------------------------------------------------------------------- helpers


def _to_numpy(values: Any) -> np.ndarray:
    """Convert a tensor / array / sequence to a numpy array without copying when possible."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # torch.Tensor, without importing torch
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _labels_pair(y_true: Any, y_pred: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate two 1-D label vectors of equal, non-zero length."""
    a, b = _to_numpy(y_true), _to_numpy(y_pred)
    if a.ndim != 1 or b.ndim != 1:
        raise ComponentError(
            f"{metric}: expected 1-D label vectors, got shapes {a.shape} and {b.shape}. "
            "Flatten them first, e.g. y.reshape(-1)."
        )
    if a.shape[0] != b.shape[0]:
        raise ComponentError(
            f"{metric}: y_true has {a.shape[0]} entries but y_pred has {b.shape[0]}. Pass one prediction per sample."
        )
    if a.shape[0] == 0:
        raise ComponentError(f"{metric}: got no samples. Pass at least one labelled sample.")
    return a, b


def _encode_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encode two label vectors into indices of their sorted union.

    Returns ``(classes, a_idx, b_idx)`` with ``classes[a_idx] == a``.
    """
    classes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    inverse = inverse.reshape(-1)
    return classes, inverse[: a.shape[0]], inverse[a.shape[0] :]


def contingency_matrix(y_true: Any, y_pred: Any) -> np.ndarray:
    """Counts ``C[i, j]`` of samples with true class ``i`` and predicted cluster ``j``.

    Rows follow ``np.unique(y_true)``, columns ``np.unique(y_pred)`` (the same
    layout as ``sklearn.metrics.cluster.contingency_matrix``).
    """
    a, b = _labels_pair(y_true, y_pred, "contingency_matrix")
    classes, a_idx = np.unique(a, return_inverse=True)
    clusters, b_idx = np.unique(b, return_inverse=True)
    counts = np.zeros((classes.shape[0], clusters.shape[0]), dtype=np.int64)
    np.add.at(counts, (a_idx.reshape(-1), b_idx.reshape(-1)), 1)
    return counts


# --------------------------------------------------------------------------- classification


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of exact matches: ``mean(y_true == y_pred)``."""
    a, b = _labels_pair(y_true, y_pred, "accuracy")
    return float(np.mean(a == b))


def macro_f1(y_true: Any, y_pred: Any, *, labels: Sequence[Any] | np.ndarray | None = None) -> float:
    """Unweighted mean over classes of ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``.

    The classes are ``labels`` when given, else the sorted union of the values in
    ``y_true`` and ``y_pred`` (scikit-learn's ``f1_score(average="macro")``). A
    class with ``2 TP + FP + FN = 0`` (possible only with explicit ``labels``)
    scores 0, like scikit-learn's ``zero_division`` default.
    """
    a, b = _labels_pair(y_true, y_pred, "macro_f1")
    if labels is None:
        classes = np.unique(np.concatenate([a, b]))
    else:
        classes = np.unique(_to_numpy(labels))
        if classes.size == 0:
            raise ComponentError("macro_f1: labels=[] selects no class. Pass labels=None or some classes.")
    # Per class counts via one-hot comparisons: [C, N] booleans, fine for moderate C.
    tp = np.empty(classes.shape[0], dtype=np.int64)
    fp = np.empty_like(tp)
    fn = np.empty_like(tp)
    for start in range(0, classes.shape[0], 256):  # bound memory for many classes
        block = classes[start : start + 256, None]
        is_true = a[None, :] == block
        is_pred = b[None, :] == block
        both = np.count_nonzero(is_true & is_pred, axis=1)
        tp[start : start + 256] = both
        fp[start : start + 256] = np.count_nonzero(is_pred, axis=1) - both
        fn[start : start + 256] = np.count_nonzero(is_true, axis=1) - both
    denom = 2 * tp + fp + fn
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(tp.shape, dtype=np.float64), where=denom > 0)
    return float(np.mean(f1))


# --------------------------------------------------------------------------- assignment


def linear_sum_assignment(cost: Any, *, maximize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Solve the (rectangular) linear assignment problem: :func:`scipy.optimize.linear_sum_assignment`
    with the project's errors.

    Finds row indices ``r`` and column indices ``c`` (``len = min(n_rows, n_cols)``)
    minimising ``cost[r, c].sum()`` such that every row and every column is used
    at most once (or maximising it with ``maximize=True``). ``r`` is sorted.
    Costs must be finite (forbidden pairs are not supported).
    """
    from scipy.optimize import linear_sum_assignment as scipy_assignment

    matrix = np.asarray(_to_numpy(cost), dtype=np.float64)
    if matrix.ndim != 2:
        raise ComponentError(
            f"linear_sum_assignment: expected a 2-D cost matrix, got shape {matrix.shape}. "
            "Pass a [rows, columns] array."
        )
    if not np.all(np.isfinite(matrix)):
        raise ComponentError(
            "linear_sum_assignment: the cost matrix contains NaN or infinite values. "
            "Replace forbidden pairs by a large finite cost."
        )
    rows, cols = scipy_assignment(matrix, maximize=maximize)
    return rows.astype(np.int64), cols.astype(np.int64)


def align_clusters(y_true: Any, y_pred: Any, *, unmatched: Any = -1) -> np.ndarray:
    """Relabel cluster ids with the class ids of the best one-to-one matching.

    The matching maximises the number of samples whose mapped cluster equals their
    class (Hungarian algorithm on the contingency matrix). When there are more
    clusters than classes, the clusters left without a class are mapped to
    ``unmatched`` (pick a value that is not a class).
    """
    a, b = _labels_pair(y_true, y_pred, "align_clusters")
    classes, a_idx = np.unique(a, return_inverse=True)
    clusters, b_idx = np.unique(b, return_inverse=True)
    counts = np.zeros((clusters.shape[0], classes.shape[0]), dtype=np.int64)
    np.add.at(counts, (b_idx.reshape(-1), a_idx.reshape(-1)), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    out_dtype = np.result_type(classes.dtype, np.asarray(unmatched).dtype)
    mapping = np.full(clusters.shape[0], unmatched, dtype=out_dtype)
    mapping[rows] = classes[cols]
    return mapping[b_idx.reshape(-1)]


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Clustering accuracy under the best one-to-one cluster-to-class mapping.

    ``ACC = max_m (1/N) sum_i 1[y_i = m(c_i)]`` over injective maps ``m`` from
    clusters to classes, found with :func:`linear_sum_assignment` on the
    contingency matrix. Works for any numbers of clusters and classes; samples in
    clusters without a partner count as errors.
    """
    a, b = _labels_pair(y_true, y_pred, "cluster_accuracy")
    counts = contingency_matrix(a, b)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / a.shape[0])


# --------------------------------------------------------------------------- clustering agreement


def _entropy_from_counts(counts: np.ndarray) -> float:
    total = counts.sum()
    probs = counts[counts > 0] / total
    return float(-(probs * np.log(probs)).sum())


def normalized_mutual_info(y_true: Any, y_pred: Any) -> float:
    """``NMI = I(Y; C) / ((H(Y) + H(C)) / 2)`` (natural log; arithmetic-mean normalisation).

    Equals scikit-learn's ``normalized_mutual_info_score`` default, including its
    limit cases: 1.0 when both labelings have a single cluster, 0.0 when the
    mutual information is zero.
    """
    a, b = _labels_pair(y_true, y_pred, "normalized_mutual_info")
    counts = contingency_matrix(a, b)
    if counts.shape[0] == counts.shape[1] == 1:
        return 1.0
    if counts.shape[0] == 1 or counts.shape[1] == 1:
        return 0.0
    n = float(a.shape[0])
    rows, cols = np.nonzero(counts)
    nij = counts[rows, cols].astype(np.float64)
    row_sum = counts.sum(axis=1).astype(np.float64)
    col_sum = counts.sum(axis=0).astype(np.float64)
    terms = (nij / n) * (np.log(nij) + math.log(n) - np.log(row_sum[rows]) - np.log(col_sum[cols]))
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    mi = max(float(terms.sum()), 0.0)
    if mi == 0.0:
        return 0.0
    normaliser = 0.5 * (_entropy_from_counts(row_sum) + _entropy_from_counts(col_sum))
    return float(mi / normaliser)


def adjusted_rand_index(y_true: Any, y_pred: Any) -> float:
    """Hubert-Arabie adjusted Rand index, computed from the pair confusion matrix.

    With pair counts ``tp`` (same class, same cluster), ``fp``, ``fn``, ``tn``:
    ``ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn))``;
    1.0 when the partitions agree exactly (scikit-learn's convention). Exact
    integer arithmetic, so large ``N`` cannot overflow.
    """
    a, b = _labels_pair(y_true, y_pred, "adjusted_rand_index")
    counts = contingency_matrix(a, b)
    n = int(a.shape[0])
    sum_squares = int((counts.astype(object) ** 2).sum())
    n_c = counts.sum(axis=1).astype(object)
    n_k = counts.sum(axis=0).astype(object)
    # Pairs (ordered, as in sklearn's pair_confusion_matrix; the factor 2 cancels).
    tp = sum_squares - n
    fp = int((counts.astype(object) @ n_k).sum()) - sum_squares
    fn = int((counts.T.astype(object) @ n_c).sum()) - sum_squares
    tn = n * n - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


# --------------------------------------------------------------------------- ranking


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (``scipy.stats.rankdata``)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Start of each run of equal values.
    starts = np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]])
    run_id = np.cumsum(starts) - 1
    run_first = np.nonzero(starts)[0]
    run_last = np.concatenate([run_first[1:], [values.shape[0]]]) - 1
    run_rank = (run_first + run_last) / 2.0 + 1.0
    ranks = np.empty(values.shape[0], dtype=np.float64)
    ranks[order] = run_rank[run_id]
    return ranks


def roc_auc(y_true_binary: Any, scores: Any) -> float:
    """Area under the ROC curve, ties in ``scores`` counting one half.

    ``AUC = P(s+ > s-) + 0.5 P(s+ = s-)``, computed from average ranks as the
    Mann-Whitney statistic ``(R+ - n+ (n+ + 1)/2) / (n+ n-)``; this equals
    scikit-learn's trapezoidal ``roc_auc_score`` for binary targets. Positives
    are ``1``/``True``; labels must be in ``{0, 1}``, ``{-1, 1}`` or booleans.
    """
    y, s = _to_numpy(y_true_binary), _to_numpy(scores).astype(np.float64)
    if y.ndim != 1 or s.ndim != 1 or y.shape[0] != s.shape[0]:
        raise ComponentError(
            f"roc_auc: expected two 1-D arrays of equal length, got shapes {y.shape} and {s.shape}. "
            "Pass one score per sample."
        )
    if np.isnan(s).any():
        raise ComponentError("roc_auc: scores contain NaN. Remove or impute those samples first.")
    values = set(np.unique(y).tolist())
    if not (values <= {0, 1} or values <= {-1, 1}):
        raise ComponentError(
            f"roc_auc: y_true must be binary with values in {{0, 1}} or {{-1, 1}}, got {sorted(values)[:5]}. "
            "Binarise it, e.g. y_true == positive_class."
        )
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = int(y.shape[0] - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ComponentError(
            "roc_auc: only one class is present in y_true, so ROC AUC is undefined. "
            "Score a split that contains both positives and negatives."
        )
    ranks = _average_ranks(s)
    u_stat = ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u_stat / (n_pos * n_neg))


# --------------------------------------------------------------------------- regression


def _regression_pair(y_true: Any, y_pred: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    a = _to_numpy(y_true).astype(np.float64)
    b = _to_numpy(y_pred).astype(np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or a.shape != b.shape:
        raise ComponentError(
            f"{metric}: y_true has shape {_to_numpy(y_true).shape} but y_pred has shape "
            f"{_to_numpy(y_pred).shape}. Pass predictions shaped like the targets ([N] or [N, T])."
        )
    if a.shape[0] == 0:
        raise ComponentError(f"{metric}: got no samples. Pass at least one sample.")
    return a, b


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination ``R^2 = 1 - SS_res / SS_tot``.

    For ``[N, T]`` targets, the per-target scores are averaged uniformly
    (scikit-learn's default). A constant target scores 1.0 when predicted
    exactly, else 0.0 (scikit-learn's ``force_finite=True``).
    """
    a, b = _regression_pair(y_true, y_pred, "r2_score")
    if a.shape[0] < 2:
        raise ComponentError("r2_score: needs at least 2 samples to define SS_tot. Score more samples.")
    ss_res = ((a - b) ** 2).sum(axis=0)
    ss_tot = ((a - a.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.ones(a.shape[1])
    nonconstant = ss_tot != 0
    scores[nonconstant] = 1.0 - ss_res[nonconstant] / ss_tot[nonconstant]
    scores[~nonconstant & (ss_res != 0)] = 0.0
    return float(scores.mean())


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(mean((y - y_hat)^2))``, in the target's units.

    For ``[N, T]`` targets, the per-target RMSEs are averaged uniformly
    (scikit-learn's ``root_mean_squared_error`` default).
    """
    a, b = _regression_pair(y_true, y_pred, "rmse")
    return float(np.sqrt(((a - b) ** 2).mean(axis=0)).mean())


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean(|y - y_hat|)``, in the target's units.

    For ``[N, T]`` targets, the per-target MAEs are averaged uniformly
    (scikit-learn's ``mean_absolute_error`` default).
    """
    a, b = _regression_pair(y_true, y_pred, "mae")
    return float(np.abs(a - b).mean(axis=0).mean())
