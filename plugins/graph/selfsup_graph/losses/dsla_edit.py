r"""D-SLA's edit-distance loss: embedding distances proportional to the known edit distances.

For graph b with representations h_{b,0} (the original) and h_{b,i} of its
perturbed candidates i = 1..C−1 (weak ones and the strong one), edit distances
e_{b,i} known by construction, the distance-to-edit ratios

    r_{b,i} = ‖h_{b,i} − h_{b,0}‖₂ / e_{b,i}

should be equal within a graph (one scale per anchor), so the loss is the mean
squared difference over the pairs i < j:

    L_edit = (1/|V|) Σ_{(b,i,j) ∈ V} (r_{b,i} − r_{b,j})²,

with V the pairs whose two candidates have e > 0. Reference: Kim, Baek & Hwang,
NeurIPS 2022, Sec. 3 (discrepancy learning with the graph edit
distance);
official ``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/pretrain_DSLA.py``
(``GNNWrapper.edit_loss``: ``F.mse_loss`` over the index pairs ``edit_idx1``,
``edit_idx2``), weight ``edit_coeff`` 0.7. Deviation, documented: a candidate
with e = 0 (a graph too small to edit: a single atom, no free pair) is left out
instead of dividing by zero; with every e > 0 this is the official mean over
B·(C−1)(C−2)/2 pairs. No valid pair: 0 (with a gradient path).

Golden value: graph A: h₀ = (0,0), h₁ = (1,0), h₂ = (0,2), h₃ = (3,4), e = (·,1,1,5):
r = (1, 2, 1), pairs (1,2) → 1, (1,3) → 0, (2,3) → 1. Graph B: h₀ = (0,0),
h₁ = (0,4), h₂ = (9,9), h₃ = (1,0), e = (·,2,0,1): only (1,3) is valid, r = (2, 1) → 1.
L_edit = (1 + 0 + 1 + 1)/4 = 0.75.
"""

from __future__ import annotations

import torch

__all__ = ["edit_distance_loss", "candidate_distances"]


def candidate_distances(representations: torch.Tensor) -> torch.Tensor:
    """``[B, C−1]`` Euclidean distances ‖h_{b,i} − h_{b,0}‖ of ``representations`` ``[B, C, D]``."""
    return (representations[:, 1:] - representations[:, :1]).float().norm(dim=-1)


def edit_distance_loss(representations: torch.Tensor, edit_distance: torch.Tensor) -> torch.Tensor:
    """L_edit of the module docstring; ``representations`` ``[B, C, D]``, ``edit_distance`` ``[B, C]`` (column 0 ignored)."""
    distances = candidate_distances(representations)
    edits = edit_distance[:, 1:].to(distances.dtype)
    valid = edits > 0
    ratio = distances / torch.where(valid, edits, torch.ones_like(edits))
    first, second = torch.triu_indices(ratio.shape[1], ratio.shape[1], offset=1, device=ratio.device)
    squared = (ratio[:, first] - ratio[:, second]).pow(2)
    pair_valid = (valid[:, first] & valid[:, second]).to(squared.dtype)
    return (squared * pair_valid).sum() / pair_valid.sum().clamp_min(1.0)
