"""Cross-validated evaluation of a finished run: ``selfsup evaluate run_dir=... cv=K``.

Protocol of :func:`cross_validate`: the run's encoder (and its random-init twin, and the raw
features when the data provides them) is evaluated ``K`` times, on fold ``k = 0..K-1`` of the
dataset's ``data.folds=K`` / ``data.fold=k`` protocol (:mod:`selfsup.folds`: stratified folds
for classification). Each number is then reported as the mean over the folds, with the
population standard deviation (``ddof = 0``, as the graph-classification papers report
10-fold results) beside it. ``metrics.json`` keeps each fold's numbers under
``evaluations.<evaluator>.cv.per_fold``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["cross_validate", "aggregate_folds"]

_COLUMNS = ("pretrained", "random_init", "raw_features")


def aggregate_folds(per_fold: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Mean ± std over folds of ``run_evaluators`` results (one mapping per fold).

    Metrics missing from some fold (a failed evaluator) are averaged over the folds that have
    them; ``cv.folds_scored`` says how many those were.
    """
    merged: dict[str, dict[str, Any]] = {}
    for name in per_fold[0]:
        entry = {k: v for k, v in per_fold[0][name].items() if k not in (*_COLUMNS, "errors")}
        entry["std"] = {}
        scored: dict[str, int] = {}
        for column in _COLUMNS:
            runs = [fold[name].get(column) for fold in per_fold if isinstance(fold[name].get(column), Mapping)]
            if not runs:
                continue
            keys = list(dict.fromkeys(key for run in runs for key in run))
            means, stds = {}, {}
            for key in keys:
                values = [float(run[key]) for run in runs if key in run]
                mean = sum(values) / len(values)
                means[key] = mean
                stds[key] = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
                scored[f"{column}/{key}"] = len(values)
            entry[column], entry["std"][column] = means, stds
        errors = {
            f"{column} (fold {k})": text
            for k, fold in enumerate(per_fold)
            for column, text in (fold[name].get("errors") or {}).items()
        }
        if errors:
            entry["errors"] = errors
        entry["cv"] = {
            "folds": len(per_fold),
            "std": "population (ddof=0) over folds",
            "folds_scored": scored,
            "per_fold": [{c: fold[name].get(c) for c in _COLUMNS if c in fold[name]} for fold in per_fold],
        }
        merged[name] = entry
    return merged


def cross_validate(
    run_dir: str | Path,
    folds: int,
    evaluators: Sequence[str] | None = None,
    *,
    plugins: Sequence[Any] = (),
    write: bool = True,
    **overrides: Any,
) -> dict[str, dict[str, Any]]:
    """Evaluate a finished run on each of ``folds`` folds and aggregate (see the module docstring).

    ``overrides`` are config keys as for :func:`selfsup.evaluate` (``data={"root": ...}``).
    With ``write``, the aggregate is merged into ``metrics.json``.
    """
    from .config import load_user_config
    from .scoring import evaluate

    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"cv={folds!r} must be an integer >= 2 (the number of folds). Use e.g. cv=10.")
    run_dir = Path(run_dir)
    saved = load_user_config(run_dir / "config.yaml") if (run_dir / "config.yaml").exists() else None
    if saved is not None and "folds" not in (saved.get("data") or {}):
        raise ConfigError(
            f"Dataset '{saved.get('dataset')}' has no data.folds/data.fold protocol, so cv={folds} cannot split it. "
            "Use a dataset that has one (csv, tu, mutag, proteins, molecule-csv, bbbp) or evaluate without cv."
        )
    data = dict(overrides.pop("data", None) or {})
    per_fold = [
        evaluate(run_dir, evaluators, plugins=plugins, write=False, data={**data, "folds": folds, "fold": k}, **overrides)
        for k in range(folds)
    ]
    results = aggregate_folds(per_fold)
    if write:
        from .outputs import write_metrics
        from .saved_run import resolve_saved_run

        resolved = resolve_saved_run(run_dir, {**overrides, "data": data} if data else dict(overrides), plugins)
        write_metrics(run_dir, resolved, results)
    return results
