"""Ridge-regression probe for continuous targets on frozen features.

Protocol (:class:`RegressionProbe`):

1. Extract features of ``"train"``, the validation rows (the ``"val"`` split,
   else a seeded ``val_fraction`` of train) and ``config.split``.
2. Standardise the features with the fitting rows' mean/std and the target
   with its mean/std (per target column).
3. For each ``alpha`` in ``alpha_grid`` solve in closed form (float64)

   ``w = argmin ||y_s - X_s w||^2 + alpha ||w||^2 = (X_s^T X_s + alpha I)^{-1} X_s^T y_s``

   (scikit-learn's ``Ridge(alpha)`` objective: a sum, not a mean; no penalty on
   the intercept, which is zero after centring), and pick the ``alpha`` with
   the lowest validation RMSE in the target's original units (ties: larger
   ``alpha``).
4. When the validation rows were held out of train, refit with the chosen
   ``alpha`` on the whole train split.
   The grid widens by factors of 10 while the choice is on its edge (``widen`` times at
   most; :func:`selfsup.evaluation.grids.widen_grid`).
5. Report ``r2``, ``rmse``, ``mae`` (original units) on ``config.split``, the chosen
   ``alpha`` and ``alpha_at_edge`` (1 when it is still the smallest or largest value tried).
   Rows with a NaN target (a missing label) are left out.

Targets may be ``[N]`` or ``[N, T]`` (scores averaged uniformly over targets).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import ComponentError, ConfigError, DatasetError
from ..interfaces import DataSource
from . import metrics
from ._common import Standardizer
from .configs import RegressionProbeConfig, check_grid
from .features import ProbeFeatures
from .grids import widen_grid
from .probe import FeatureProbe

__all__ = ["RegressionProbeConfig", "RegressionProbe", "RidgeRegressor", "ridge_regression", "fit_ridge"]

_NAME = "regression-probe"


def _as_targets(y: torch.Tensor, what: str) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.ndim not in (1, 2):
        raise DatasetError(
            f"{_NAME} needs targets shaped [N] or [N, T], but the {what} labels have shape {tuple(y.shape)}. "
            "Flatten extra target dimensions."
        )
    y = y.to(torch.float64)
    if not bool(torch.isfinite(y).all()):
        raise DatasetError(f"{_NAME}: the {what} targets contain NaN or infinite values. Drop or impute those rows.")
    return y


def ridge_regression(x: torch.Tensor, y: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression with an unpenalised intercept, exactly scikit-learn's ``Ridge(alpha)``.

    Minimises ``||y - X w - b||^2 + alpha ||w||^2`` by centring ``X`` and ``y``
    and solving ``(X_c^T X_c + alpha I) w = X_c^T y_c`` in float64;
    ``b = mean(y) - mean(X) w``. ``y`` is ``[N]`` or ``[N, T]``; returns
    ``(coef [D] or [D, T], intercept [] or [T])`` as float64 tensors.
    """
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ComponentError(
            f"ridge_regression: features {tuple(x.shape)} and targets {tuple(y.shape)} do not match. "
            "Pass x [N, D] and y [N] or [N, T]."
        )
    x64, y64 = x.to(torch.float64), y.to(torch.float64)
    x_mean, y_mean = x64.mean(dim=0), y64.mean(dim=0)
    xc, yc = x64 - x_mean, y64 - y_mean
    gram = xc.T @ xc
    gram.diagonal().add_(float(alpha))
    coef = torch.linalg.solve(gram, xc.T @ yc)
    return coef, y_mean - x_mean @ coef


@dataclass(frozen=True)
class RidgeRegressor:
    """A fitted probe: ``y = (standardise(x) @ coef) * y_std + y_mean`` (``coef`` in standardised units)."""

    standardizer: Standardizer
    coef: torch.Tensor  # [D, T], float64
    y_mean: torch.Tensor  # [T]
    y_std: torch.Tensor  # [T]
    squeeze: bool  # targets were 1-D
    #: The chosen ``alpha`` is still the smallest or largest value tried after widening the grid.
    at_edge: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = (self.standardizer(x.to(torch.float64)) @ self.coef) * self.y_std + self.y_mean
        return out[:, 0] if self.squeeze else out


def fit_ridge(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    alpha_grid: Sequence[float] = RegressionProbeConfig.alpha_grid,
    widen: int = 0,
) -> tuple[RidgeRegressor, float]:
    """Fit standardised ridge regressions for every ``alpha``; return the best on validation.

    Features and targets are standardised with ``x_train``/``y_train``'s
    statistics (the returned :class:`RidgeRegressor` maps raw features to targets
    in original units). The Gram matrix is formed once; each ``alpha`` costs one
    ``torch.linalg.solve``. With one grid value ``x_val``/``y_val`` may be ``None``.

    With ``widen > 0`` the grid widens by factors of 10 while the choice is on its edge
    (:func:`selfsup.evaluation.grids.widen_grid`); ``predict_fn.at_edge`` says whether it
    still is.

    Returns ``(predict_fn, chosen_alpha)``.
    """
    grid = check_grid(alpha_grid, "alpha_grid", "fit_ridge", "[0.1, 1, 10]")
    y = _as_targets(y_train, "train")
    if x_train.ndim != 2 or x_train.shape[0] != y.shape[0]:
        raise ComponentError(
            f"fit_ridge: features {tuple(x_train.shape)} and targets {tuple(y.shape)} do not match. "
            "Pass one target row per feature row."
        )
    squeeze = y.ndim == 1
    y2 = y[:, None] if squeeze else y
    y2 = y2.to(x_train.device)
    x64 = x_train.to(torch.float64)
    standardizer = Standardizer.fit(x64)
    xs = standardizer(x64)
    y_mean = y2.mean(dim=0)
    y_std = y2.std(dim=0, correction=0)
    y_std = torch.where(y_std > 0, y_std, torch.ones_like(y_std))
    ys = (y2 - y_mean) / y_std
    gram = xs.T @ xs
    rhs = xs.T @ ys
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    if len(grid) > 1 and (x_val is None or y_val is None):
        raise ConfigError(
            "fit_ridge: choosing alpha from a grid needs validation data, but x_val/y_val are None. "
            "Pass validation features, or a single-value alpha_grid."
        )
    models: dict[float, RidgeRegressor] = {}

    def score(alpha: float) -> float:
        coef = torch.linalg.solve(gram + alpha * eye, rhs)
        models[alpha] = RidgeRegressor(standardizer, coef, y_mean, y_std, squeeze)
        if len(grid) == 1:
            return 0.0
        assert x_val is not None and y_val is not None
        return -metrics.rmse(_as_targets(y_val, "validation"), models[alpha](x_val.to(x_train.device)).cpu())

    best, at_edge, _ = widen_grid(grid, score, widen=widen if len(grid) > 1 else 0)
    return dataclasses.replace(models[best], at_edge=at_edge), float(best)


def _labelled_rows(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows whose targets are all present (a NaN target is a missing label)."""
    y = torch.as_tensor(y)
    if y.is_floating_point():
        keep = ~torch.isnan(y if y.ndim == 1 else y).reshape(y.shape[0], -1).any(dim=1)
        if not bool(keep.all()):
            return x[keep], y[keep]
    return x, y


class RegressionProbe(FeatureProbe):
    """Ridge-regression R^2 / RMSE / MAE of frozen features (registered as ``regression-probe``).

    Rows with a missing (NaN) target are left out of fitting and scoring.
    """

    config_cls = RegressionProbeConfig
    name = _NAME
    config: RegressionProbeConfig
    hyperparameters = ("alpha", "alpha_at_edge")
    lower_is_better = ("rmse", "mae")

    def fit_and_score(self, feats: ProbeFeatures, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        x_train, y_train = _labelled_rows(feats.x_train, feats.y_train)
        x_fit, y_fit = _labelled_rows(feats.x_fit, feats.y_fit)
        x_val, y_val = _labelled_rows(feats.x_val, feats.y_val)
        x_eval, y_eval = _labelled_rows(feats.x_eval, feats.y_eval)
        if len(cfg.alpha_grid) == 1:
            model, alpha = fit_ridge(x_train.to(device), y_train, None, None, alpha_grid=cfg.alpha_grid)
        else:
            model, alpha = fit_ridge(x_fit.to(device), y_fit, x_val, y_val, alpha_grid=cfg.alpha_grid, widen=cfg.widen)
            at_edge = model.at_edge
            if feats.held_out:
                model, _ = fit_ridge(x_train.to(device), y_train, None, None, alpha_grid=(alpha,))
            model = dataclasses.replace(model, at_edge=at_edge)
        y_eval = _as_targets(y_eval, cfg.split)
        with torch.no_grad():
            pred = model(x_eval.to(device)).cpu()
        return {
            "r2": metrics.r2_score(y_eval, pred),
            "rmse": metrics.rmse(y_eval, pred),
            "mae": metrics.mae(y_eval, pred),
            "alpha": float(alpha),
            "alpha_at_edge": float(model.at_edge),
        }
