"""Core evaluators every plugin reuses, and the pure functions behind them.

Evaluators (``factory(config) -> Evaluator``; registered by the built-in plugin):

=====================  ==========================  ===============================
name                   class / config              metrics
=====================  ==========================  ===============================
``linear-probe``       LinearProbe / -Config       accuracy, macro_f1, l2 | roc_auc, tasks_scored
``knn``                KNN / KNNConfig             accuracy, macro_f1
``clustering``         Clustering / -Config        acc, nmi, ari, macro_f1
``regression-probe``   RegressionProbe / -Config   r2, rmse, mae, alpha
``mlp-probe``          MLPProbe / -Config          accuracy, macro_f1
``embedding-stats``    EmbeddingStats / -Config    embedding_std, effective_rank, rankme
``fine-tune``          FineTune / -Config          accuracy, macro_f1 | roc_auc | rmse, mae, r2
=====================  ==========================  ===============================

Every evaluator is deterministic given its ``seed`` and never touches the
global RNG. Only torch and numpy are used.

Importing this package is cheap: the configs (:mod:`.configs`, torch-free)
load eagerly, everything else on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

from .configs import (
    ClusteringConfig,
    EmbeddingStatsConfig,
    FineTuneConfig,
    KNNConfig,
    LinearProbeConfig,
    MLPProbeConfig,
    RegressionProbeConfig,
)

#: Public name -> submodule that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "LinearProbe": "linear_probe",
    "LinearClassifier": "linear_probe",
    "fit_logistic_regression": "linear_probe",
    "penalised_cross_entropy": "logistic",
    "penalised_binary_cross_entropy": "logistic",
    "lbfgs_fit": "logistic",
    "KNN": "knn",
    "knn_predict": "knn",
    "Clustering": "clustering",
    "kmeans": "clustering",
    "RegressionProbe": "regression_probe",
    "RidgeRegressor": "regression_probe",
    "fit_ridge": "regression_probe",
    "ridge_regression": "regression_probe",
    "MLPProbe": "mlp_probe",
    "MLPClassifier": "mlp_probe",
    "fit_mlp_classifier": "mlp_probe",
    "EmbeddingStats": "embedding_stats",
    "embedding_std": "embedding_stats",
    "effective_rank": "embedding_stats",
    "rankme": "embedding_stats",
    "FineTune": "fine_tune",
    "masked_binary_cross_entropy": "fine_tune",
    "binary_task_roc_auc": "fine_tune",
    "extract_features": "features",
    "split_train_val": "features",
    "probe_features": "features",
    "ProbeFeatures": "features",
    "accuracy": "metrics",
    "macro_f1": "metrics",
    "cluster_accuracy": "metrics",
    "align_clusters": "metrics",
    "contingency_matrix": "metrics",
    "linear_sum_assignment": "metrics",
    "normalized_mutual_info": "metrics",
    "adjusted_rand_index": "metrics",
    "roc_auc": "metrics",
    "r2_score": "metrics",
    "rmse": "metrics",
    "mae": "metrics",
    "fit_multitask_logistic": "multitask",
    "MultitaskLinearProbe": "multitask",
    "widen_grid": "grids",
    "format_results": "table",
}
_SUBMODULES = frozenset(
    {"metrics", "features", "logistic", "multitask", "grids", "table", "linear_probe", "knn", "clustering", "regression_probe", "mlp_probe", "embedding_stats", "fine_tune"}
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    # evaluators and their configs
    "LinearProbe",
    "LinearProbeConfig",
    "KNN",
    "KNNConfig",
    "Clustering",
    "ClusteringConfig",
    "RegressionProbe",
    "RegressionProbeConfig",
    "MLPProbe",
    "MLPProbeConfig",
    "EmbeddingStats",
    "EmbeddingStatsConfig",
    "FineTune",
    "FineTuneConfig",
    "masked_binary_cross_entropy",
    "binary_task_roc_auc",
    # feature extraction
    "extract_features",
    "split_train_val",
    "probe_features",
    "ProbeFeatures",
    # probes as pure functions
    "fit_logistic_regression",
    "penalised_cross_entropy",
    "penalised_binary_cross_entropy",
    "lbfgs_fit",
    "LinearClassifier",
    "knn_predict",
    "kmeans",
    "fit_ridge",
    "ridge_regression",
    "RidgeRegressor",
    "fit_mlp_classifier",
    "MLPClassifier",
    # collapse diagnostics
    "embedding_std",
    "effective_rank",
    "rankme",
    # metrics
    "accuracy",
    "macro_f1",
    "cluster_accuracy",
    "align_clusters",
    "contingency_matrix",
    "linear_sum_assignment",
    "normalized_mutual_info",
    "adjusted_rand_index",
    "roc_auc",
    "r2_score",
    "rmse",
    "mae",
    "fit_multitask_logistic",
    "MultitaskLinearProbe",
    "widen_grid",
    "format_results",
]
