"""MYOW's view mining: for each anchor, one of its ``k`` nearest neighbours in a candidate pool.

Follows ``nerdslab/myow:self_supervised/model/myow_factory.py`` (``_compute_distance``,
``_knn``, ``mine_views``): with ``â = a/‖a‖`` and ``ĉ = c/‖c‖``,

    d(i, j) = 2 − 2·⟨â_i, ĉ_j⟩                       (squared distance of unit vectors)
    N_k(i)  = the k pool rows of smallest d(i, ·)    (``torch.topk(largest=False)``)
    m(i)    ~ uniform over N_k(i)                    (``torch.randint(k)``, the global RNG)

and returns the pool indices ``m``. In MYOW the anchors are the *online* encoder's
representations of a lightly augmented view and the pool the *target* encoder's
representations of the candidates (``myow_trainer.py``: ``online_y`` vs ``target_y_pool``).

One addition to the official function: ``exclude`` (``[B]`` pool indices, or ``None``) removes
pool row ``exclude[i]`` from anchor ``i``'s candidates (its distance is set to +∞ before
``topk``). MYOW's pool is drawn from the same data as the anchors, so an anchor's own image can
be in it; the paper mines views *across samples*, and the objective passes each anchor's own
position in the pool here so that the mined view is never the anchor itself.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from selfsup.errors import ConfigError

__all__ = ["pairwise_distance", "mine_views"]


def pairwise_distance(anchors: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """``[B, P]`` distances ``2 − 2·cos(anchors_i, pool_j)`` (official ``_compute_distance``)."""
    a = F.normalize(anchors.float(), dim=-1, p=2)
    c = F.normalize(pool.float(), dim=-1, p=2)
    return 2.0 - 2.0 * a @ c.T


@torch.no_grad()
def mine_views(
    anchors: torch.Tensor,
    pool: torch.Tensor,
    k: int = 1,
    *,
    exclude: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Pool index (``int64 [B]``) of a random one of each anchor's ``k`` nearest pool rows.

    ``exclude[i]``: a pool row anchor ``i`` may not choose (its own image). Raises
    :class:`~selfsup.errors.ConfigError` when the pool holds fewer than ``k`` allowed rows.
    """
    if anchors.ndim != 2 or pool.ndim != 2 or anchors.shape[1] != pool.shape[1]:
        raise ValueError(f"mine_views: anchors {tuple(anchors.shape)} and pool {tuple(pool.shape)} must be [B, D] and [P, D]")
    allowed = pool.shape[0] - (1 if exclude is not None else 0)
    if k < 1 or k > allowed:
        raise ConfigError(
            f"objective_config.mined_k={k} needs at least k candidates per anchor; the pool offers {allowed}. "
            "Use objective_config.mined_k=1 or a larger trainer.batch_size."
        )
    dist = pairwise_distance(anchors, pool)
    if exclude is not None:
        dist[torch.arange(dist.shape[0], device=dist.device), exclude.to(dist.device)] = float("inf")
    _, indices = torch.topk(dist, k=k, largest=False)
    choice = torch.randint(k, size=(indices.shape[0],), device=indices.device)
    return indices[torch.arange(indices.shape[0], device=indices.device), choice]
