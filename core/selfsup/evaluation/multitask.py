"""The linear probe on multi-task binary labels with missing entries (MoleculeNet-style).

Protocol (what ``linear-probe`` does when the data declares ``multilabel`` labels
``[N, T]``, 0/1 with ``NaN`` = missing):

1. Features of train, validation rows and the scored split, standardised with the fitting
   rows' statistics (as the single-task probe).
2. For each ``l2`` (the widening grid of :func:`selfsup.evaluation.grids.widen_grid`) and each
   task ``t``: one L2-penalised binary logistic regression on the rows whose label ``t`` is
   present (:func:`selfsup.evaluation.logistic.penalised_binary_cross_entropy`); a task
   with one class among its fitting rows predicts that class's prior. The ``l2`` with the best
   mean validation ROC-AUC over the tasks with both classes wins (ties: the larger).
3. Refit on the whole train split when validation rows were held out of it.
4. Report ``roc_auc``: the mean over the tasks with both classes among the scored rows
   (missing entries ignored), ``tasks_scored``, ``l2`` and ``l2_at_edge``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import DatasetError
from ._common import Standardizer
from .grids import widen_grid
from .logistic import lbfgs_fit

__all__ = ["fit_multitask_logistic", "multitask_targets", "masked_task_auc"]


def multitask_targets(y: torch.Tensor, *, evaluator: str, what: str) -> torch.Tensor:
    """``y`` as float32 ``[N, T]`` 0/1/NaN targets, or a :class:`DatasetError` naming the problem."""
    y = torch.as_tensor(y).to(torch.float32)
    y = y.unsqueeze(1) if y.ndim == 1 else y
    known = y[~torch.isnan(y)]
    if y.ndim != 2 or not bool(torch.all((known == 0) | (known == 1))):
        raise DatasetError(
            f"{evaluator}: the dataset declares multi-task binary labels, but the {what} labels (shape "
            f"{tuple(y.shape)}) hold values other than 0, 1 and NaN. Declare the task as 'regression' in the "
            "data source's info, or convert the labels to 0/1."
        )
    return y


def masked_task_auc(targets: torch.Tensor, scores: torch.Tensor) -> tuple[float, int]:
    """Mean ROC-AUC over the columns with both classes among their labelled rows; ``(mean, count)``."""
    from .fine_tune import binary_task_roc_auc

    return binary_task_roc_auc(targets, scores)


def _fit_task(x_t: torch.Tensor, y: torch.Tensor, l2: float, max_iter: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(u [D], c [1])`` of one task's binary fit; a one-class task gets ``u = 0`` and its log-odds prior."""
    positives = float(y.sum())
    if positives == 0 or positives == y.numel():
        prior = (positives + 0.5) / (y.numel() + 1.0)
        return torch.zeros(x_t.shape[0], device=x_t.device), torch.tensor([math.log(prior / (1 - prior))], device=x_t.device)
    init = (torch.zeros(x_t.shape[0], 2, device=x_t.device), torch.zeros(2, device=x_t.device))
    weight, bias = lbfgs_fit(x_t, y.to(torch.int64), l2, max_iter, init)
    return weight[:, 1] - weight[:, 0], bias[1:] - bias[:1]


def fit_multitask_logistic(
    x_fit: torch.Tensor,
    y_fit: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    l2_grid: Sequence[float],
    max_iter: int = 200,
    widen: int = 0,
) -> tuple[Standardizer, torch.Tensor, torch.Tensor, float, bool]:
    """Per-task logistic regressions on standardised features, one ``l2`` for all tasks.

    Returns ``(standardizer, weight [D, T], bias [T], l2, at_edge)``; the scores of rows ``x``
    are ``standardizer(x) @ weight + bias``.
    """
    standardizer = Standardizer.fit(x_fit.to(torch.float32))
    xs = standardizer(x_fit.to(torch.float32))
    x_sel = standardizer(x_val.to(torch.float32)) if x_val is not None else None
    fitted: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}

    def fit(l2: float) -> tuple[torch.Tensor, torch.Tensor]:
        weights, biases = [], []
        for task in range(y_fit.shape[1]):
            rows = ~torch.isnan(y_fit[:, task])
            if not bool(rows.any()):
                weights.append(torch.zeros(xs.shape[1], device=xs.device))
                biases.append(torch.zeros(1, device=xs.device))
                continue
            u, c = _fit_task(xs[rows].t().contiguous(), y_fit[rows, task], l2, max_iter)
            weights.append(u)
            biases.append(c)
        return torch.stack(weights, dim=1), torch.cat(biases)

    def score(l2: float) -> float:
        fitted[l2] = fit(l2)
        if x_sel is None or y_val is None:
            return 0.0
        weight, bias = fitted[l2]
        auc, count = masked_task_auc(y_val.cpu(), (x_sel @ weight + bias).cpu())
        return auc if count else 0.0

    select = len(tuple(l2_grid)) > 1 and x_sel is not None
    best, at_edge, _ = widen_grid(l2_grid if select else (max(l2_grid),), score, widen=widen if select else 0)
    return standardizer, fitted[best][0], fitted[best][1], float(best), at_edge
