"""k-means clustering of frozen features, scored against the labels.

Protocol (:class:`Clustering`):

1. Extract the features of ``config.split`` (``"test"`` by default; graph
   plugins use ``"all"``) and optionally L2-normalise (``normalize="l2"``, the
   default) or standardise them.
2. Run :func:`kmeans` with ``K = config.num_clusters`` or, when unset,
   ``data.info["num_classes"]``.
3. Report ``acc`` (:func:`~selfsup.evaluation.metrics.cluster_accuracy`),
   ``nmi``, ``ari`` and ``macro_f1`` of the clusters after the Hungarian
   cluster-to-class mapping (F1 averaged over the classes present in the split).

:func:`kmeans` minimises the inertia ``sum_i min_j ||x_i - c_j||^2`` with
Lloyd's algorithm from greedy k-means++ seeds (Arthur & Vassilvitskii 2007;
``2 + floor(ln K)`` candidates per step, as scikit-learn), keeping the best of
``n_init`` restarts. It stops when the assignments no longer change or the
squared centre shift ``sum_j ||c_j' - c_j||^2`` drops to
``tol * mean_d Var(x_d)`` (scikit-learn's relative tolerance). An empty
cluster is re-seeded at the point farthest from its centre. All randomness
comes from one ``torch.Generator`` seeded with ``seed``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ComponentError, ConfigError, DatasetError
from ..interfaces import DataSource, Evaluator
from . import metrics
from ._common import Standardizer, as_class_indices
from .configs import ClusteringConfig, check_positive
from .features import dataset_name, extract_features

__all__ = ["ClusteringConfig", "Clustering", "kmeans"]

_NAME = "clustering"
_BLOCK_ELEMENTS = 1 << 24


def _sq_distances(x: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """``||x_i - c_j||^2`` as ``[N, K]`` (expanded form, clamped at 0)."""
    c_sq = (centers * centers).sum(dim=1)
    return (x_sq[:, None] - 2.0 * (x @ centers.T) + c_sq[None, :]).clamp_(min=0.0)


def _assign(x: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre of every row and its squared distance, in row blocks."""
    block = max(1, _BLOCK_ELEMENTS // centers.shape[0])
    labels, dists = [], []
    for start in range(0, x.shape[0], block):
        d = _sq_distances(x[start : start + block], x_sq[start : start + block], centers)
        value, index = d.min(dim=1)
        labels.append(index)
        dists.append(value)
    return torch.cat(labels), torch.cat(dists)


def _exact_inertia(x: torch.Tensor, centers: torch.Tensor, labels: torch.Tensor) -> float:
    """``sum_i ||x_i - c_{l_i}||^2`` by direct differences, accumulated in float64."""
    block = max(1, _BLOCK_ELEMENTS // max(1, x.shape[1]))
    total = 0.0
    for start in range(0, x.shape[0], block):
        diff = x[start : start + block] - centers[labels[start : start + block]]
        total += float((diff * diff).sum(dtype=torch.float64))
    return total


def _kmeans_plus_plus(x: torch.Tensor, x_sq: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    trials = 2 + int(math.log(k))
    centers = torch.empty(k, x.shape[1], dtype=x.dtype, device=x.device)
    first = int(torch.randint(n, (1,), generator=generator, device=x.device))
    centers[0] = x[first]
    closest = _sq_distances(x, x_sq, centers[:1])[:, 0]
    potential = closest.sum(dtype=torch.float64)
    for c in range(1, k):
        cumulative = torch.cumsum(closest.to(torch.float64), dim=0)
        draws = torch.rand(trials, generator=generator, device=x.device, dtype=torch.float64) * potential
        candidates = torch.searchsorted(cumulative, draws).clamp_(max=n - 1)
        cand_dist = _sq_distances(x, x_sq, x[candidates]).T  # [trials, N]
        new_closest = torch.minimum(closest[None, :], cand_dist)
        potentials = new_closest.sum(dim=1, dtype=torch.float64)
        best = int(torch.argmin(potentials))
        closest, potential = new_closest[best], potentials[best]
        centers[c] = x[candidates[best]]
    return centers


def _lloyd(
    x: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor, max_iter: int, tol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    k = centers.shape[0]
    previous: torch.Tensor | None = None
    for _ in range(max_iter):
        labels, dists = _assign(x, x_sq, centers)
        if previous is not None and torch.equal(labels, previous):
            break  # strict convergence: the centres are already the means of these labels
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        new_centers = sums / counts.clamp(min=1)[:, None].to(x.dtype)
        empty = torch.nonzero(counts == 0).flatten()
        if empty.numel():
            far = torch.topk(dists, min(empty.numel(), x.shape[0])).indices
            new_centers[empty[: far.numel()]] = x[far]
        shift = float(((new_centers - centers) ** 2).sum())
        centers, previous = new_centers, labels
        if shift <= tol:
            break
    labels, _ = _assign(x, x_sq, centers)
    return labels, centers


def kmeans(
    x: torch.Tensor,
    k: int,
    *,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """k-means with k-means++ seeding and ``n_init`` seeded restarts (see the module docstring).

    ``x`` is ``[N, D]`` (computed in float32 on its device). Returns
    ``(labels [N] int64, centroids [K, D] float32, inertia)`` of the restart with
    the lowest inertia; ``inertia`` is a Python float.
    """
    if x.ndim != 2 or x.shape[0] == 0:
        raise ComponentError(f"kmeans: expected features [N, D] with N >= 1, got shape {tuple(x.shape)}.")
    if not 1 <= k <= x.shape[0]:
        raise ConfigError(f"kmeans: k={k} must be in [1, {x.shape[0]}] (the number of rows). Lower k.")
    check_positive(n_init, "n_init", "kmeans", "10")
    check_positive(max_iter, "max_iter", "kmeans", "300")
    x = x.to(torch.float32)
    if not bool(torch.isfinite(x).all()):
        raise ComponentError("kmeans: the features contain NaN or infinite values. Check the encoder's outputs.")
    x_sq = (x * x).sum(dim=1)
    tol_abs = float(tol) * float(x.var(dim=0, correction=0).mean())
    generator = torch.Generator(device=x.device).manual_seed(int(seed))
    best: tuple[float, torch.Tensor, torch.Tensor] | None = None
    for _ in range(n_init):
        centers = _kmeans_plus_plus(x, x_sq, k, generator)
        labels, centers = _lloyd(x, x_sq, centers, max_iter, tol_abs)
        inertia = _exact_inertia(x, centers, labels)
        if best is None or inertia < best[0]:
            best = (inertia, labels, centers)
    assert best is not None
    return best[1], best[2], best[0]


class Clustering(Evaluator):
    """k-means clustering quality of frozen features (registered as ``clustering``)."""

    config_cls = ClusteringConfig
    config: ClusteringConfig

    def _num_clusters(self, data: DataSource) -> int:
        if self.config.num_clusters is not None:
            return int(self.config.num_clusters)
        declared = getattr(data, "info", {}).get("num_classes")
        if isinstance(declared, bool) or not isinstance(declared, int) or declared < 1:
            raise DatasetError(
                f"{_NAME} needs the number of clusters, but dataset {dataset_name(data)} declares no "
                f"info['num_classes'] (got {declared!r}). Set the evaluator's num_clusters."
            )
        return declared

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        k = self._num_clusters(data)
        x, y = extract_features(encoder, data, cfg.split, device=device, batch_size=cfg.batch_size, evaluator=_NAME)
        y = as_class_indices(y, evaluator=_NAME, what=cfg.split)
        if k > x.shape[0]:
            raise DatasetError(
                f"{_NAME}: {k} clusters requested but split {cfg.split!r} of dataset {dataset_name(data)} has "
                f"only {x.shape[0]} rows. Set num_clusters <= {x.shape[0]} or score a larger split."
            )
        x = x.to(device)
        if cfg.normalize == "l2":
            x = F.normalize(x, dim=1)
        elif cfg.normalize == "standardize":
            x = Standardizer.fit(x)(x)
        labels, _, _ = kmeans(x, k, n_init=cfg.n_init, max_iter=cfg.max_iter, tol=cfg.tol, seed=seed)
        y_np, c_np = y.numpy(), labels.cpu().numpy()
        aligned = metrics.align_clusters(y_np, c_np, unmatched=-1)
        return {
            "acc": metrics.cluster_accuracy(y_np, c_np),
            "nmi": metrics.normalized_mutual_info(y_np, c_np),
            "ari": metrics.adjusted_rand_index(y_np, c_np),
            "macro_f1": metrics.macro_f1(y_np, aligned, labels=np.unique(y_np)),
        }
