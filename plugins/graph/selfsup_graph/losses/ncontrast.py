r"""Neighbourhood-contrastive loss of SCGC (Graph-MLP's ``Ncontrast``).

With embeddings z_i (rows of ``z``, N of them), the cosine similarity with a
zeroed diagonal

    s_ij = z_i·z_j / (‖z_i‖ ‖z_j‖)  for i ≠ j,      s_ii = 0,

a soft-positive matrix T (T = Â^r for SCGC, Σ_{k≤r} Â^k for SCGC*) and the
inverse temperature τ (it *multiplies* the similarity):

    L_C = −(1/N) Σ_i log( Σ_j T_ij exp(τ s_ij) / Σ_j exp(τ s_ij) + 1e−8 ).

The diagonal term exp(0) = 1 stays in both sums (T_ii > 0 through the
self-loops of Â). Reference: ``gayanku/SCGC:train.py`` (``get_feature_dis``,
``Ncontrast``, taken from ``yanghu819/Graph-MLP``). Computed in float32; the
norm is clamped at 1e−12 so that a zero embedding gives s = 0 instead of NaN.

Golden value: z = [[1, 0], [0, 1], [1, 0]], T = I + [[0,1,0],[1,0,0],[0,0,0]]
(node 0 and 1 neighbours) and τ = 1 give s_02 = s_20 = 1, all other s = 0; row 0:
(1 + 1)/(1 + 1 + e), row 1: (1 + 1)/3, row 2: 1/(e + 2), so
L = −(log(2/(2+e)) + log(2/3) + log(1/(2+e)))/3 = 0.93840...
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["cosine_similarity_matrix", "neighbourhood_contrastive_loss"]


def cosine_similarity_matrix(z: torch.Tensor) -> torch.Tensor:
    """``[N, N]`` cosine similarities with the diagonal set to 0 (``get_feature_dis``)."""
    unit = F.normalize(z.float(), dim=1, eps=1e-12)
    sim = unit @ unit.T
    return sim * (1.0 - torch.eye(sim.shape[0], device=sim.device, dtype=sim.dtype))


def neighbourhood_contrastive_loss(z: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    """L_C of the module docstring for embeddings ``z [N, D]`` and soft positives ``target [N, N]``."""
    weights = torch.exp(tau * cosine_similarity_matrix(z))
    positive = (weights * target.float()).sum(dim=1)
    return -torch.log(positive / weights.sum(dim=1) + 1e-8).mean()
