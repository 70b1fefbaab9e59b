"""DDFA for latent label shift (pure functions): domains, discretise, factorise, adjust.

Follows ``acmi-lab/Latent-Label-Shift-DDFA`` (Roberts, Mani, Garg, Lipton, NeurIPS 2022):
``ddfa/components/class_prior.py`` (domains), ``clustering.py`` (discretise),
``class_prior_estimation.py`` (NMF), ``experiment_utils.py`` (adjust), ``permutation_solver.py``
(Hungarian scoring), as summarised in the project's research notes (§3.2).

**Assumptions** (the paper's identifiability conditions), stated and checked:

* (A1) *latent label shift*: p(x|y) is the same in every domain d; only p(y|d) changes. Not
  checkable without labels; the domain builder :func:`make_latent_label_shift` satisfies it by
  construction (rows are drawn per class, independently of d).
* (A2) *rank*: the D×K matrix p(y|d) has full column rank K, so D ≥ K. Checked:
  :func:`check_identifiable` raises when D < K or when cond(p̂(y|d)) is too large.
* (A3) *anchor bins*: each class has a bin c with p(y|c) = 1 (separability of the NMF factor
  p(c|y)). Only approximately checkable; the NMF recovery test shows the failure without it.

Algebra: with d ⟂ x | y, ``p(d|x) = Q p(y|x)`` where ``Q[d, y] = p(d|y)``, hence
``p(y|x) = Q⁺ p(d|x)``; the domain-adjusted posterior is ``p(y|x, d) ∝ p(y|x) Q[d, y]``.

Deviations: the discretisation uses the core's k-means (k-means++ seeding, seeded restarts)
instead of faiss; NMF is scikit-learn's, as in the official code (Frobenius loss, coordinate
descent), restarted ``restarts`` times keeping the lowest reconstruction error.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ConfigError, MissingDependencyError

__all__ = [
    "dirichlet_priors",
    "make_latent_label_shift",
    "bin_domain_matrix",
    "factorize",
    "adjust",
    "check_identifiable",
    "matched_prior_l1",
]


def dirichlet_priors(
    n_domains: int, n_classes: int, *, alpha: float, max_condition_number: float, seed: int, max_tries: int = 10_000
) -> np.ndarray:
    """p(y|d) ``[D, K]``: rows ~ Dirichlet(α·1), redrawn until cond ≤ ``max_condition_number``;
    entries < 1e-7 set to 0 and rows renormalised (the official ``class_prior.py`` rules)."""
    if n_domains < n_classes:
        raise ConfigError(
            f"lls: n_domains={n_domains} is below the number of classes {n_classes}; p(y|d) cannot have rank K. "
            f"Use n_domains>={n_classes}."
        )
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        priors = rng.dirichlet(np.full(n_classes, float(alpha)), size=n_domains)
        if np.linalg.cond(priors) <= max_condition_number:
            priors[priors < 1e-7] = 0.0
            return priors / priors.sum(axis=1, keepdims=True)
    raise ConfigError(
        f"lls: no p(y|d) with condition number <= {max_condition_number} in {max_tries} draws "
        f"(D={n_domains}, K={n_classes}, alpha={alpha}). Raise max_condition_number or n_domains."
    )


def make_latent_label_shift(
    labels: torch.Tensor | np.ndarray, n_domains: int, *, alpha: float = 0.5, max_condition_number: float = 8.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-partition labelled rows into ``n_domains`` equal-size domains with shifted p(y|d).

    Per-domain class counts are ``floor(p(y|d) · s)`` with the largest scale ``s`` for which every
    class has enough rows (the official ``build_data_label_matrix``); rows are drawn without
    replacement, per class, independently of d (so p(x|y) is shared: assumption A1). Returns
    ``(rows, domains, priors)``: the chosen row indices, their domain ids, and the realised p(y|d).
    """
    y = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    k = int(y.max()) + 1
    priors = dirichlet_priors(n_domains, k, alpha=alpha, max_condition_number=max_condition_number, seed=seed)
    available = np.bincount(y, minlength=k).astype(np.float64)
    demand = priors.sum(axis=0)
    scale = float(np.min(available[demand > 0] / demand[demand > 0]))
    counts = np.floor(priors * scale).astype(np.int64)  # [D, K]
    rng = np.random.default_rng(seed + 1)
    rows, domains = [], []
    for cls in range(k):
        pool = rng.permutation(np.flatnonzero(y == cls))
        start = 0
        for d in range(n_domains):
            take = pool[start : start + counts[d, cls]]
            start += counts[d, cls]
            rows.append(take)
            domains.append(np.full(take.size, d, dtype=np.int64))
    rows_all, dom_all = np.concatenate(rows), np.concatenate(domains)
    realised = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    return rows_all, dom_all, realised


def bin_domain_matrix(bins: np.ndarray, domains: np.ndarray, n_bins: int, n_domains: int) -> np.ndarray:
    """``M[d, c] = p(c|d)``: each domain's distribution over the bins ``[D, m]`` (rows sum to 1)."""
    counts = np.zeros((n_domains, n_bins))
    np.add.at(counts, (domains, bins), 1.0)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)


def factorize(m: np.ndarray, n_classes: int, *, seed: int = 0, restarts: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """NMF of ``M = p(c|d)`` ``[D, m]`` ≈ ``W H``: returns ``(p(y|d) [D, K], p(c|y) [K, m])``.

    ``W`` rows are renormalised to sum to 1 and ``H`` rows rescaled so each sums to 1 (the
    official ``class_prior_estimation.py``); ``init='random'``, ``restarts`` seeds, lowest error kept.
    """
    try:
        from sklearn.decomposition import NMF
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the lls extra
        raise MissingDependencyError(
            "lls needs scikit-learn (its NMF). Install it with: pip install 'selfsup[after]'"
        ) from exc
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for r in range(restarts):
        model = NMF(n_components=n_classes, init="random", random_state=seed * 1000 + r, max_iter=3000, tol=1e-7)
        w = model.fit_transform(m)
        if best is None or model.reconstruction_err_ < best[0]:
            best = (float(model.reconstruction_err_), w, model.components_)
    assert best is not None
    _, w, h = best
    h_sum = h.sum(axis=1, keepdims=True)
    h_sum[h_sum == 0] = 1.0
    w = w * h_sum.T  # keep W H fixed while H's rows become distributions
    h = h / h_sum
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    return w, h


def check_identifiable(prior: np.ndarray, *, refuse_condition_number: float) -> float:
    """Check assumption A2 on p(y|d) ``[D, K]``; return its condition number or raise ConfigError."""
    d, k = prior.shape
    if d < k:
        raise ConfigError(f"lls: {d} domains cannot identify {k} classes (p(y|d) needs rank K). Use n_domains>={k}.")
    cond = float(np.linalg.cond(prior))
    if not np.isfinite(cond) or cond > refuse_condition_number:
        raise ConfigError(
            f"lls: the estimated p(y|d) has condition number {cond:.3g} > {refuse_condition_number:g}: the classes are "
            "not identifiable from these domains. Use more domains (n_domains) or a smaller alpha."
        )
    return cond


def adjust(p_d_given_x: np.ndarray, prior: np.ndarray, domains: np.ndarray | None = None) -> np.ndarray:
    """p̂(y|x) = pinv(Q) p(d|x) with ``Q = p(y|d)ᵀ`` normalised over d (``Q[d, y] = p(d|y)`` under
    uniform p(d)); with ``domains``, the adjusted ``p(y|x, d) ∝ p̂(y|x) Q[d, y]`` (rows renormalised).
    Returns ``[N, K]`` (not clipped to the simplex without ``domains``, as the official code)."""
    q = prior / np.maximum(prior.sum(axis=0, keepdims=True), 1e-12)  # [D, K], columns sum to 1
    p_y = p_d_given_x @ np.linalg.pinv(q).T  # [N, K]
    if domains is None:
        return p_y
    scores = np.clip(p_y, 0.0, None) * q[domains]
    total = scores.sum(axis=1, keepdims=True)
    return np.where(total > 0, scores / np.where(total > 0, total, 1.0), 1.0 / q.shape[1])


def matched_prior_l1(true_prior: np.ndarray, est_prior: np.ndarray, perm: np.ndarray) -> float:
    """Mean over domains of Σ_y |p̂(perm(y)|d) − p(y|d)| (``perm[y]`` = the estimated class matched to y)."""
    return float(np.abs(est_prior[:, perm] - true_prior).sum(axis=1).mean())
