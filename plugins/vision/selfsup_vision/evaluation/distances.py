r"""Fréchet distance and kernel (MMD²) distance between two feature sets.

**Fréchet distance** between the Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂) fitted to two feature
sets (Dowson & Landau, 1982; FID: Heusel et al., 2017):

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2})

computed in float64 with ``scipy.linalg.sqrtm``; when the square root is not finite, εI
(ε = 1e-6) is added to both covariances (as ``liang-hou/augself-gan:augself-biggan/inception_tf.py``
and pytorch-fid do), and a non-negligible imaginary part is an error. For diagonal
covariances this is ‖μ₁ − μ₂‖² + Σ_k (√σ₁ₖ − √σ₂ₖ)², the closed form the tests use.

**KID** (Bińkowski et al., 2018): the unbiased estimate of MMD² with the cubic polynomial
kernel k(a, b) = (aᵀb/d + 1)³, averaged over ``subsets`` random subsets of ``subset_size``
rows drawn from each set (as ``augself-stylegan2/metrics/kernel_inception_distance.py``):

    MMD²_u = 1/(m(m−1)) Σ_{i≠j} [k(x_i, x_j) + k(y_i, y_j)] − 2/m² Σ_{i,j} k(x_i, y_j)

Unbiased, so it can be slightly negative when the two sets come from one distribution.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from selfsup.errors import ComponentError

__all__ = ["feature_statistics", "frechet_distance", "frechet_distance_of_features", "kernel_distance"]


def feature_statistics(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[d]`` and unbiased covariance ``[d, d]`` of ``[n, d]`` features, in float64."""
    array = np.asarray(features.detach().cpu() if isinstance(features, torch.Tensor) else features, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ComponentError(f"Feature statistics need a [n >= 2, d] matrix, got shape {array.shape}. Use more samples.")
    return array.mean(axis=0), np.cov(array, rowvar=False).reshape(array.shape[1], array.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, *, eps: float = 1e-6) -> float:
    """d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^{1/2}) (see the module docstring)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ComponentError(
            f"Fréchet distance of mismatched statistics: means {mu1.shape} / {mu2.shape}, covariances "
            f"{sigma1.shape} / {sigma2.shape}. Compute both from features of one extractor."
        )
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products (dead feature units) are handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            raise ComponentError(
                f"sqrtm(Σ₁Σ₂) has an imaginary part of {np.abs(covmean.imag).max():.3g}: the covariances are "
                "ill-conditioned. Use more samples than feature dimensions."
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance_of_features(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """The Fréchet distance between the Gaussians fitted to two ``[n, d]`` feature sets."""
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def kernel_distance(
    a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray, *, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> float:
    """KID: the mean unbiased MMD² (cubic polynomial kernel) over random equal-size subsets (float64)."""
    x = torch.as_tensor(np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b), dtype=torch.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ComponentError(f"KID needs two [n, d] feature sets of one width, got {tuple(x.shape)} and {tuple(y.shape)}.")
    m = min(subset_size, x.shape[0], y.shape[0])
    if m < 2:
        raise ComponentError(f"KID needs at least 2 rows per set, got {x.shape[0]} and {y.shape[0]}. Use more samples.")
    d = x.shape[1]
    rng = torch.Generator().manual_seed(int(seed))
    total = torch.zeros((), dtype=torch.float64)
    for _ in range(subsets):  # one [m, m] kernel matrix per subset: memory stays O(m²)
        xs = x[torch.randperm(x.shape[0], generator=rng)[:m]]
        ys = y[torch.randperm(y.shape[0], generator=rng)[:m]]
        kxx = (xs @ xs.T / d + 1.0) ** 3
        kyy = (ys @ ys.T / d + 1.0) ** 3
        kxy = (xs @ ys.T / d + 1.0) ** 3
        within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        total += within - 2.0 * kxy.sum() / (m * m)
    mmd = total / subsets
    return float(mmd)
