"""Linear probe: multinomial logistic regression on frozen, standardised features.

Protocol (:class:`LinearProbe`):

1. Extract features of ``"train"``, the validation rows and ``config.split``
   (:func:`selfsup.evaluation.features.probe_features`). Validation rows are the
   source's ``"val"`` split when ``"val" in data.splits``, else a seeded
   ``val_fraction`` of train.
2. Standardise with the mean/std of the fitting rows.
3. For each ``l2`` in ``l2_grid`` minimise the penalised mean cross-entropy

   ``L(W, b) = (1/N) sum_i CE(softmax(W^T x_i + b), y_i) + (l2 / 2) ||W||_F^2``

   (``l2`` is the weight decay on the mean loss; the bias is not penalised;
   scikit-learn's ``C`` corresponds to ``l2 = 1 / (C N)``) with full-batch
   L-BFGS and a strong-Wolfe line search (two classes: the same minimiser in
   one weight vector, :func:`penalised_binary_cross_entropy`); pick the ``l2``
   with the best validation accuracy (ties: the larger ``l2``).
4. When the validation rows were held out of train, refit with the chosen
   ``l2`` on the whole train split (never on train + val).
5. Score ``config.split``: ``accuracy``, ``macro_f1``, and the chosen ``l2``.

The fit is deterministic: zero initialisation, full batch, no randomness (the
seed only picks the held-out validation rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import ComponentError, ConfigError
from ..interfaces import DataSource
from . import metrics
from ._common import Standardizer, as_class_indices, count_classes
from .configs import LinearProbeConfig, check_grid, check_positive
from .features import ProbeFeatures
from .grids import widen_grid
from .logistic import lbfgs_fit, penalised_binary_cross_entropy, penalised_cross_entropy
from .probe import FeatureProbe

__all__ = [
    "LinearProbeConfig",
    "LinearProbe",
    "LinearClassifier",
    "fit_logistic_regression",
    "penalised_cross_entropy",
    "penalised_binary_cross_entropy",
]

_NAME = "linear-probe"


@dataclass(frozen=True)
class LinearClassifier:
    """A fitted probe: ``logits(x) = standardise(x) @ weight + bias``; calling it returns class indices."""

    standardizer: Standardizer
    weight: torch.Tensor  # [D, C]
    bias: torch.Tensor  # [C]
    #: The chosen ``l2`` is still the smallest or largest value tried after widening the grid.
    at_edge: bool = False

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, self.standardizer(x), self.weight)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x).argmax(dim=1)


def fit_logistic_regression(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    l2_grid: Sequence[float] = LinearProbeConfig.l2_grid,
    max_iter: int = 200,
    seed: int = 0,
    num_classes: int | None = None,
    widen: int = 0,
) -> tuple[LinearClassifier, float]:
    """Fit one logistic regression per ``l2`` on ``x_train``; return the best on validation.

    Features are standardised with ``x_train``'s statistics (the returned
    :class:`LinearClassifier` applies them, so it takes raw features). The grid
    is walked from the largest to the smallest penalty, each fit warm-started
    from the previous solution. With a single grid value no validation data is
    needed (``x_val``/``y_val`` may be ``None``). ``seed`` is accepted for
    interface symmetry: the fit itself uses no randomness. Computation happens
    on ``x_train``'s device, in float32.

    With ``widen > 0`` the grid widens by factors of 10 while the choice is on its edge
    (:func:`selfsup.evaluation.grids.widen_grid`); ``predict_fn.at_edge`` says whether it
    still is.

    Returns ``(predict_fn, chosen_l2)``; ``predict_fn(x)`` gives int64 class indices.
    """
    del seed  # deterministic: zero init, full batch
    grid = check_grid(l2_grid, "l2_grid", "fit_logistic_regression", "[1e-4, 1e-3, 1e-2]")
    check_positive(max_iter, "max_iter", "fit_logistic_regression", "200")
    y_fit = as_class_indices(y_train, evaluator="fit_logistic_regression", what="train")
    if x_train.ndim != 2 or x_train.shape[0] != y_fit.shape[0]:
        raise _shape_error(x_train, y_fit, "train")
    device = x_train.device
    x_train = x_train.to(torch.float32)
    standardizer = Standardizer.fit(x_train)
    x_fit_t = standardizer(x_train).t().contiguous()  # [D, N]: the layout penalised_cross_entropy reads
    y_fit = y_fit.to(device)
    select = len(grid) > 1
    if select:
        if x_val is None or y_val is None:
            raise _missing_val_error()
        y_sel = as_class_indices(y_val, evaluator="fit_logistic_regression", what="validation")
        if x_val.ndim != 2 or x_val.shape[0] != y_sel.shape[0]:
            raise _shape_error(x_val, y_sel, "validation")
        x_sel = standardizer(x_val.to(device, torch.float32))
        y_sel = y_sel.to(device)
    classes = count_classes(y_fit, y_sel if select else y_fit, declared=num_classes)
    classes = max(classes, 2)
    state = {"warm": (torch.zeros(x_fit_t.shape[0], classes, device=device), torch.zeros(classes, device=device))}
    fitted: dict[float, tuple[torch.Tensor, torch.Tensor]] = {}

    def score(l2: float) -> float:
        fitted[l2] = state["warm"] = lbfgs_fit(x_fit_t, y_fit, l2, max_iter, state["warm"])
        if not select:
            return 0.0
        with torch.no_grad():
            weight, bias = fitted[l2]
            return float((torch.addmm(bias, x_sel, weight).argmax(1) == y_sel).float().mean())

    best, at_edge, _ = widen_grid(grid, score, widen=widen if select else 0)
    return LinearClassifier(standardizer, *fitted[best], at_edge=at_edge), float(best)


def _shape_error(x: torch.Tensor, y: torch.Tensor, what: str) -> ComponentError:
    return ComponentError(
        f"{what} features have shape {tuple(x.shape)} but there are {y.shape[0]} labels. "
        "Pass features [N, D] with one label per row."
    )


def _missing_val_error() -> ConfigError:
    return ConfigError(
        "Choosing l2 from a grid needs validation data, but x_val/y_val are None. "
        "Pass validation features, or a single-value l2_grid."
    )


class LinearProbe(FeatureProbe):
    """Linear-probe accuracy of frozen features (registered as ``linear-probe``).

    Labels follow the task the data declares (:func:`selfsup.tasks.label_task`): class
    indices ``[N]`` (or single-task ``[N, 1]``) for ``binary``/``multiclass``; for
    ``multilabel`` labels ``[N, T]`` with missing entries, one probe per task and the mean
    masked ROC-AUC (:mod:`selfsup.evaluation.multitask`). Rows whose single-task label is
    missing (NaN) are left out.
    """

    config_cls = LinearProbeConfig
    name = _NAME
    config: LinearProbeConfig
    hyperparameters = ("l2", "l2_at_edge", "tasks_scored")

    def fit_and_score(self, feats: ProbeFeatures, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        from ..tasks import label_task

        cfg = self.config
        info = getattr(data, "info", {}) or {}
        task = label_task(info)
        if task is not None and task.type == "multilabel":
            return self._multitask(feats, device)
        feats = _single_task(feats)
        declared = info.get("num_classes")
        y_eval = as_class_indices(feats.y_eval, evaluator=_NAME, what=cfg.split)
        one = len(cfg.l2_grid) == 1  # nothing to choose: fit on the whole train split
        model, l2 = fit_logistic_regression(
            (feats.x_train if one else feats.x_fit).to(device),
            feats.y_train if one else feats.y_fit,
            None if one else feats.x_val,
            None if one else feats.y_val,
            l2_grid=cfg.l2_grid,
            max_iter=cfg.max_iter,
            seed=seed,
            num_classes=declared,
            widen=cfg.widen,
        )
        at_edge = model.at_edge
        if not one and feats.held_out:
            model, _ = fit_logistic_regression(
                feats.x_train.to(device), feats.y_train, None, None,
                l2_grid=(l2,), max_iter=cfg.max_iter, seed=seed, num_classes=declared,
            )
        with torch.no_grad():
            pred = model(feats.x_eval.to(device)).cpu()
        return {
            "accuracy": metrics.accuracy(y_eval, pred),
            "macro_f1": metrics.macro_f1(y_eval, pred),
            "l2": float(l2),
            "l2_at_edge": float(at_edge),
        }

    def _multitask(self, feats: ProbeFeatures, device: torch.device) -> dict[str, float]:
        from .multitask import fit_multitask_logistic, masked_task_auc, multitask_targets

        cfg = self.config
        targets = {
            name: multitask_targets(getattr(feats, f"y_{name}"), evaluator=_NAME, what=name)
            for name in ("train", "fit", "val", "eval")
        }
        one = len(cfg.l2_grid) == 1
        fit_x, fit_y = (feats.x_train, targets["train"]) if one else (feats.x_fit, targets["fit"])
        standardizer, weight, bias, l2, at_edge = fit_multitask_logistic(
            fit_x.to(device), fit_y.to(device), None if one else feats.x_val.to(device),
            None if one else targets["val"].to(device), l2_grid=cfg.l2_grid, max_iter=cfg.max_iter, widen=cfg.widen,
        )
        if not one and feats.held_out:
            standardizer, weight, bias, _, _ = fit_multitask_logistic(
                feats.x_train.to(device), targets["train"].to(device), None, None, l2_grid=(l2,), max_iter=cfg.max_iter
            )
        with torch.no_grad():
            scores = (standardizer(feats.x_eval.to(device)) @ weight + bias).cpu()
        auc, count = masked_task_auc(targets["eval"], scores)
        return {"roc_auc": auc, "tasks_scored": float(count), "l2": float(l2), "l2_at_edge": float(at_edge)}


def _single_task(feats: ProbeFeatures) -> ProbeFeatures:
    """Single-task ``[N, 1]`` labels as ``[N]``; rows whose label is missing (NaN) dropped."""

    def clean(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.is_floating_point():
            keep = ~torch.isnan(y)
            if not bool(keep.all()):
                x, y = x[keep], y[keep]
        return x, y

    parts = {name: clean(getattr(feats, f"x_{name}"), getattr(feats, f"y_{name}")) for name in ("train", "fit", "val", "eval")}
    return ProbeFeatures(
        *parts["train"], *parts["fit"], *parts["val"], *parts["eval"], held_out=feats.held_out
    )
