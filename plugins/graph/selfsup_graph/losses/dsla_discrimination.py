r"""D-SLA's graph-discrimination loss: pick the original among its perturbed candidates.

For graph b with candidates c = 0 (the masked original), 1..P (weakly perturbed)
and, optionally, the strongly perturbed one, the score head gives S_{b,c}. The
loss is the softmax cross-entropy with the original as the target class,

    L_GD = −(1/B) Σ_b log( exp S_{b,0} / Σ_c exp S_{b,c} ),

and the discrimination accuracy is the fraction of graphs whose arg-max score is
candidate 0. Reference: Kim, Baek & Hwang, NeurIPS 2022, Sec. 3 (learning to discriminate the
original from perturbed graphs); official ``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/pretrain_DSLA.py``
(``GNNWrapper.GD_loss``: ``F.cross_entropy(scores, zeros)``). Weight 1 in the total loss.

Golden value: S = [[2, 0, 0], [0, 1, 0]]:
row 0: −log(e²/(e² + 2)) = log(1 + 2e⁻²) = 0.2395448...,
row 1: −log(1/(1 + e + 1)) = log(2 + e) = 1.5514448...,
L_GD = 0.8954947..., accuracy 1/2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["graph_discrimination_loss", "discrimination_accuracy"]


def graph_discrimination_loss(scores: torch.Tensor) -> torch.Tensor:
    """L_GD of the module docstring for ``scores`` ``[B, C]`` (column 0 the original)."""
    target = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
    return F.cross_entropy(scores.float(), target)


def discrimination_accuracy(scores: torch.Tensor) -> torch.Tensor:
    """Fraction (a 0-d float tensor, no host sync) of rows whose arg-max is column 0."""
    return (scores.argmax(dim=1) == 0).float().mean()
