"""Collapse diagnostics of an embedding matrix; no labels needed.

Metrics (for embeddings ``Z`` ``[N, D]``; ``z_i`` its rows):

* ``embedding_std``: ``(1/D) sum_d std_i(z_i / ||z_i||)_d`` -- the mean over
  dimensions of the across-sample (unbiased) standard deviation of the
  L2-normalised embeddings (SimSiam, Chen & He 2021). Complete collapse gives
  0; isotropic unit vectors give about ``1/sqrt(D)``.
* ``effective_rank``: ``exp(-sum_k p_k log p_k)`` with ``p_k = s_k / sum_j s_j``
  over the singular values ``s_k`` (Roy & Vetterli 2007; ``0 log 0 = 0``).
  Between 1 and ``min(N, D)``; the evaluator computes it on the L2-normalised
  embeddings, so rows with large norms do not dominate.
* ``rankme``: the same entropy with ``p_k = s_k / sum_j s_j + 1e-7`` on the raw
  embeddings (RankMe, Garrido et al. 2023).

Protocol (:class:`EmbeddingStats`): embed ``config.split`` (labels optional),
keep a seeded random subset of at most ``max_samples`` rows, report the three
numbers. Singular values are computed in float64.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ComponentError, DatasetError
from ..interfaces import DataSource, Evaluator
from .configs import EmbeddingStatsConfig
from .features import extract_features

__all__ = ["EmbeddingStatsConfig", "EmbeddingStats", "embedding_std", "effective_rank", "rankme"]

_NAME = "embedding-stats"


def _matrix(z: torch.Tensor, metric: str, min_rows: int = 1) -> torch.Tensor:
    if z.ndim != 2 or z.shape[0] < min_rows or z.shape[1] == 0:
        raise ComponentError(
            f"{metric}: expected embeddings [N, D] with N >= {min_rows} and D >= 1, got shape {tuple(z.shape)}. "
            f"Pass at least {min_rows} embedding row(s)."
        )
    z = z.detach().to(torch.float64)
    if not bool(torch.isfinite(z).all()):
        raise ComponentError(f"{metric}: the embeddings contain NaN or infinite values. Check the encoder's outputs.")
    return z


def embedding_std(z: torch.Tensor) -> float:
    """Mean over dimensions of the across-sample std of the L2-normalised rows (needs N >= 2)."""
    z = F.normalize(_matrix(z, "embedding_std", min_rows=2), dim=1)
    return float(z.std(dim=0, correction=1).mean())


def _spectral_entropy_rank(z: torch.Tensor, eps: float) -> float:
    s = torch.linalg.svdvals(z)
    total = s.sum()
    if float(total) == 0.0 and eps == 0.0:
        return 0.0  # the zero matrix has rank 0
    p = (s / total if float(total) > 0.0 else torch.zeros_like(s)) + eps
    entropy = -torch.special.xlogy(p, p).sum()
    return float(torch.exp(entropy))


def effective_rank(z: torch.Tensor) -> float:
    """Roy & Vetterli's effective rank ``exp(H(s / ||s||_1))`` of ``z``; 0.0 for an all-zero matrix."""
    return _spectral_entropy_rank(_matrix(z, "effective_rank"), 0.0)


def rankme(z: torch.Tensor, eps: float = 1e-7) -> float:
    """RankMe: ``exp(-sum_k p_k log p_k)``, ``p_k = s_k / ||s||_1 + eps`` (Garrido et al. 2023)."""
    return _spectral_entropy_rank(_matrix(z, "rankme"), float(eps))


class EmbeddingStats(Evaluator):
    """Collapse diagnostics of frozen features (registered as ``embedding-stats``); works without labels."""

    config_cls = EmbeddingStatsConfig
    config: EmbeddingStatsConfig

    def evaluate(self, encoder: nn.Module, data: DataSource, *, device: torch.device, seed: int) -> dict[str, float]:
        cfg = self.config
        z, _ = extract_features(
            encoder,
            data,
            cfg.split,
            device=device,
            batch_size=cfg.batch_size,
            require_labels=False,
            evaluator=_NAME,
        )
        if z.shape[0] > cfg.max_samples:
            generator = torch.Generator().manual_seed(int(seed))
            keep, _ = torch.sort(torch.randperm(z.shape[0], generator=generator)[: cfg.max_samples])
            z = z[keep]
        if z.shape[0] < 2:
            raise DatasetError(
                f"{_NAME}: split {cfg.split!r} yielded {z.shape[0]} embedding row(s); the statistics need "
                "at least 2. Score a larger split."
            )
        return {
            "embedding_std": embedding_std(z),
            "effective_rank": effective_rank(F.normalize(z, dim=1)),
            "rankme": rankme(z),
        }
