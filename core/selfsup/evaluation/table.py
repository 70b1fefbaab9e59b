"""The results table printed after ``selfsup pretrain`` / ``selfsup evaluate`` (torch-free).

Rows are ``evaluator/metric``; columns are the pretrained encoder, its random-init twin, the
raw input features (when the data source provides them) and ``delta`` = pretrained - random
init. Each score is marked ``higher`` or ``lower`` (is better). Keys an evaluator reports that
are chosen hyper-parameters or counts (``linear-probe/l2``, ``fine-tune/best_epoch``) are listed
in a second block without a delta. Failed evaluators and the evaluators' notes (what a large
delta of a distance means) follow. Cross-validated numbers print as ``mean ± std``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "format_results",
    "HYPERPARAMETER_NAMES",
    "LOWER_IS_BETTER_NAMES",
    "is_hyperparameter",
    "lower_is_better",
]

#: Reported keys that are hyper-parameters or counts whatever the evaluator (for results
#: that carry no ``hyperparameters`` list, e.g. written by an older version).
HYPERPARAMETER_NAMES = frozenset(
    {"l2", "alpha", "best_epoch", "tasks_scored", "l2_at_edge", "alpha_at_edge", "folds"}
)
#: Reported scores where lower is better, whatever the evaluator.
LOWER_IS_BETTER_NAMES = frozenset({"rmse", "mae", "mse", "loss", "fid", "kid", "fd", "fd_local", "fd_local_kid"})

_COLUMNS = (("pretrained", "pretrained"), ("random_init", "random init"), ("raw_features", "raw features"))


def is_hyperparameter(entry: Mapping[str, Any], key: str) -> bool:
    return key in set(entry.get("hyperparameters") or ()) or key in HYPERPARAMETER_NAMES


def lower_is_better(entry: Mapping[str, Any], key: str) -> bool:
    declared = set(entry.get("lower_is_better") or ())
    return key in declared or key in LOWER_IS_BETTER_NAMES or key.endswith(("_rmse", "_mae", "_fid", "_kid"))


def _cell(entry: Mapping[str, Any], column: str, key: str) -> str:
    values = entry.get(column)
    if not isinstance(values, Mapping) or key not in values:
        return "-"
    value = float(values[key])
    std = (entry.get("std") or {}).get(column, {}).get(key)
    if std is not None:
        return f"{value:.4f} ± {float(std):.4f}"
    return f"{value:.4f}"


def _delta(entry: Mapping[str, Any], key: str) -> str:
    ours, theirs = (entry.get(c) or {} for c in ("pretrained", "random_init"))
    if key not in ours or key not in theirs:
        return "-"
    delta = float(ours[key]) - float(theirs[key])
    return "nan" if math.isnan(delta) else f"{delta:+.4f}"


def _render(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_results(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The table of one ``metrics.json`` ``evaluations`` mapping (see the module docstring)."""
    columns = [(key, title) for key, title in _COLUMNS if any(isinstance(e.get(key), Mapping) and e.get(key) for e in results.values())]
    if not columns:
        columns = list(_COLUMNS[:2])
    show_delta = any(key == "random_init" for key, _ in columns) and any(key == "pretrained" for key, _ in columns)
    header = ["metric", "better", *(title for _, title in columns)] + (["delta"] if show_delta else [])
    scores, hypers = [header], [["chosen hyper-parameters and diagnostics (not scores)", *(title for _, title in columns)]]
    failures: list[str] = []
    notes: list[str] = []
    for name, entry in results.items():
        keys: list[str] = []
        for column, _ in _COLUMNS:
            for key in entry.get(column) or {}:
                if key not in keys:
                    keys.append(key)
        for key in keys:
            cells = [_cell(entry, column, key) for column, _ in columns]
            if is_hyperparameter(entry, key):
                hypers.append([f"{name}/{key}", *cells])
            else:
                better = "lower" if lower_is_better(entry, key) else "higher"
                scores.append([f"{name}/{key}", better, *cells] + ([_delta(entry, key)] if show_delta else []))
        for column, text in (entry.get("errors") or {}).items():
            failures.append(f"  {name} ({column.replace('_', ' ')}): {text}")
        for key, text in (entry.get("notes") or {}).items():
            notes.append(f"  {name}/{key}: {text}")
    lines = _render(scores) if len(scores) > 1 else ["(no scores)"]
    if len(hypers) > 1:
        lines += ["", *_render(hypers)]
    if failures:
        lines += ["", "failed evaluators (their scores are missing; metrics.json has the errors):", *failures]
    if notes:
        lines += ["", "notes:", *notes]
    folds = {entry.get("cv", {}).get("folds") for entry in results.values() if entry.get("cv")}
    if folds:
        lines += ["", f"cross-validation: mean ± std over {', '.join(str(f) for f in sorted(folds))} folds"]
    return "\n".join(lines)
