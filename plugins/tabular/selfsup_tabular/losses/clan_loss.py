"""CLAN loss: benign rows are positives of each other, augmented rows are negatives.

Notation: z_i = φ(x_i) for the B (benign) rows of a batch, ẑ_j = φ(a(x_j)) for
their augmented copies, the cosine-half distance

    d(u, v) = (1 − cos(u, v)) / 2 ∈ [0, 1],

margin m, weight α and threshold ε. Both terms average over *active* pairs
only (pairs whose term exceeds ε):

    s_ij  = d(z_i, z_j),          S = {(i,j) : s_ij > ε}
    n_ij  = [m − d(z_i, ẑ_j)]₊,   N = {(i,j) : n_ij > ε}
    L_sim = Σ_{(i,j)∈S} s_ij / (|S| + ε)
    L_dis = Σ_{(i,j)∈N} n_ij / (|N| + ε)
    L     = α · L_sim + (1 − α) · L_dis

The sums run over all B² ordered pairs (the diagonal of L_sim is ≈ 0 and falls
out of its count). Inactive values (≤ ε) add nothing to the numerators either,
so each term is a mean of values in (ε, 1] (resp. (ε, m]): 0 ≤ L_sim ≤ 1 and
0 ≤ L_dis ≤ m, and a term with no active pair is 0. (The official code adds the
sub-ε values to the numerator but not to the count: a difference of at most
B²·ε that, for a fully collapsed batch, would push L_sim far above 1.) With
``squared=True`` each distance / hinge is squared before summing. The
diagnostic ``active_negative_fraction`` = |N| / B².

Optionally a boolean ``row_mask`` [B] keeps only the pairs whose two rows are
both selected (used to train on the benign rows of a mixed batch without a
data-dependent shape): every count and the fraction's denominator then run over
selected pairs only.

Reference: Wilkie et al. 2025, arXiv 2509.06550; jackwilkie/CLAN @ 680ab61,
``loss/clan_loss.py`` (``clan``, ``CLANLoss``: α = 0.5, ε = 1e-6) and
``train_clan.py`` (``--margin 0.5``; the class default is 1.0),
``util/distance.py`` (``cosdist``). Computed in float32.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = ["CLANLossOutput", "cosine_half_distance", "clan_loss"]


class CLANLossOutput(NamedTuple):
    """The total loss and its parts (scalar tensors)."""

    loss: torch.Tensor
    similar_loss: torch.Tensor
    dissimilar_loss: torch.Tensor
    active_negative_fraction: torch.Tensor


def cosine_half_distance(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """Pairwise d(a_i, b_j) = (1 − cos(a_i, b_j)) / 2, shape ``[len(a), len(b)]`` (b = a if omitted)."""
    a_unit = F.normalize(a.float(), p=2.0, dim=-1)
    b_unit = a_unit if b is None else F.normalize(b.float(), p=2.0, dim=-1)
    return (1.0 - a_unit @ b_unit.T) / 2.0


def clan_loss(
    z: torch.Tensor,
    z_augmented: torch.Tensor,
    *,
    margin: float = 0.5,
    alpha: float = 0.5,
    eps: float = 1e-6,
    squared: bool = False,
    row_mask: torch.Tensor | None = None,
) -> CLANLossOutput:
    """The CLAN loss of embeddings ``z`` [B, D] and their augmented copies ``z_augmented`` [B, D].

    See the module docstring for the math. ``row_mask`` (bool [B]) restricts
    both terms to pairs of selected rows.
    """
    if z.shape != z_augmented.shape or z.dim() != 2:
        raise ValueError(
            f"clan_loss: z {tuple(z.shape)} and z_augmented {tuple(z_augmented.shape)} must both be [B, D]"
        )
    similar = cosine_half_distance(z)
    dissimilar = F.relu(margin - cosine_half_distance(z, z_augmented))
    if squared:
        similar = similar.square()
        dissimilar = dissimilar.square()
    if row_mask is None:
        pair_weight = None
        pair_count = torch.full((), float(z.shape[0] ** 2), device=z.device)
    else:
        row_weight = row_mask.to(torch.float32)
        pair_weight = row_weight[:, None] * row_weight[None, :]
        similar = similar * pair_weight
        dissimilar = dissimilar * pair_weight
        pair_count = pair_weight.sum()

    similar_active = similar > eps
    dissimilar_active = dissimilar > eps
    active_similar = similar_active.sum(dtype=torch.float32)
    active_dissimilar = dissimilar_active.sum(dtype=torch.float32)
    similar_loss = (similar * similar_active).sum() / (active_similar + eps)
    dissimilar_loss = (dissimilar * dissimilar_active).sum() / (active_dissimilar + eps)
    loss = alpha * similar_loss + (1.0 - alpha) * dissimilar_loss
    fraction = active_dissimilar / pair_count.clamp_min(1.0)
    return CLANLossOutput(loss, similar_loss, dissimilar_loss, fraction)
