"""The ``data.folds`` / ``data.fold`` protocol: k-fold cross-validation splits of a dataset.

A dataset config that supports cross-validation has two fields:

* ``folds: Optional[int] = None`` -- ``None``: the dataset's usual split; ``K >= 2``: k-fold;
* ``fold: int = 0`` -- which fold (``0..K-1``) is the ``test`` split; the other folds are ``train``.

Folds are drawn by :func:`kfold_split` with the dataset's split seed: stratified by class
for classification labels (each class's shuffled members dealt round-robin to the folds),
plain seeded random folds otherwise. The same folds come back for every ``fold`` index, so
``selfsup evaluate run_dir=... cv=K`` (:func:`selfsup.cv.cross_validate`) scores the run's
encoder on each fold in turn and reports mean ± std.
"""

from __future__ import annotations

from typing import Any

import torch

from .errors import ConfigError

__all__ = ["kfold_split", "check_fold", "fold_info"]


def check_fold(folds: Any, fold: Any, *, dataset: str, rows: int) -> None:
    """Raise :class:`ConfigError` unless ``2 <= folds <= rows`` and ``0 <= fold < folds``."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"{dataset}: data.folds={folds!r} must be an integer >= 2 (or null for no folds). Use e.g. data.folds=10.")
    if folds > rows:
        raise ConfigError(f"{dataset}: data.folds={folds} is more than its {rows} rows. Use at most data.folds={rows}.")
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < folds:
        raise ConfigError(f"{dataset}: data.fold={fold!r} is not a fold of data.folds={folds}. Use 0 <= data.fold < {folds}.")


def kfold_split(
    rows: int, folds: int, fold: int, *, seed: int, strata: torch.Tensor | None = None
) -> tuple[list[int], list[int]]:
    """``(train indices, test indices)`` (sorted) of fold ``fold`` of a seeded ``folds``-fold split.

    With ``strata`` (one integer class per row), each class's rows are shuffled and dealt
    round-robin to the folds, continuing where the previous class stopped, so every fold
    holds each class in proportion (sizes differ by at most one).
    """
    generator = torch.Generator().manual_seed(int(seed))
    assignment = torch.empty(rows, dtype=torch.long)
    if strata is None:
        order = torch.randperm(rows, generator=generator)
        assignment[order] = torch.arange(rows) % folds
    else:
        strata = torch.as_tensor(strata).long().reshape(-1)
        position = 0
        for value in torch.unique(strata).tolist():
            members = torch.nonzero(strata == value).flatten()
            members = members[torch.randperm(members.numel(), generator=generator)]
            assignment[members] = (torch.arange(members.numel()) + position) % folds
            position += members.numel()
    test = torch.nonzero(assignment == fold).flatten().tolist()
    train = torch.nonzero(assignment != fold).flatten().tolist()
    return train, test


def fold_info(folds: int, fold: int, seed: int, *, stratified: bool) -> dict[str, Any]:
    """What a dataset records in ``info["cv"]`` about the fold it serves."""
    return {"folds": int(folds), "fold": int(fold), "seed": int(seed), "stratified": bool(stratified)}
