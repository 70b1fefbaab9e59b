r"""D-SLA's margin loss: every perturbed candidate stays closer to its original than other graphs do.

With h_{b,0} the original of graph b, h_{b,i} its weakly perturbed candidates
i = 1..P (the strong candidate is excluded) and the margin α,

    L_margin = 1/(B(B−1)P) Σ_b Σ_{b′≠b} Σ_i max(0, α + ‖h_{b,0} − h_{b,i}‖ − ‖h_{b,0} − h_{b′,0}‖).

The other graphs' originals of the batch are the negatives. Reference: Kim,
Baek & Hwang, NeurIPS 2022, Sec. 3 (relative discrepancy learning with other
graphs); official ``DongkiKim95/D-SLA:transferLearning_MoleculeNet_PPI/chem/pretrain_DSLA.py``
(``GNNWrapper.margin_loss``, the mean over ``[B, B−1, P]``), α = 5 for molecules
(README: ``--margin 5.0``; 10 for proteins), weight ``margin_coeff`` 0.5.
A batch of one graph has no negatives: the loss is 0 (with a gradient path).

Golden value: B = 2, P = 1; graph 0: h₀ = (0,0), h₁ = (1,0); graph 1: h₀ = (3,4),
h₁ = (3,6); ‖h_{0,0} − h_{1,0}‖ = 5. α = 6: graph 0 gives max(0, 6 + 1 − 5) = 2,
graph 1 max(0, 6 + 2 − 5) = 3, L = 2.5. α = 3.5: 0 and 0.5, L = 0.25.
"""

from __future__ import annotations

import torch

__all__ = ["margin_loss"]


def margin_loss(representations: torch.Tensor, margin: float) -> torch.Tensor:
    """L_margin of the module docstring; ``representations`` ``[B, 1 + P, D]`` (original first, weak candidates only)."""
    h = representations.float()
    batch = h.shape[0]
    if batch < 2 or h.shape[1] < 2:
        return h.sum() * 0.0
    positive = (h[:, 1:] - h[:, :1]).norm(dim=-1)  # [B, P]
    originals = h[:, 0]
    # exact differences (not cdist's matrix-product form, whose square root has no finite gradient at 0)
    between = (originals.unsqueeze(1) - originals.unsqueeze(0)).norm(dim=-1)  # [B, B]
    other = ~torch.eye(batch, dtype=torch.bool, device=h.device)
    hinge = torch.relu(margin + positive.unsqueeze(1) - between.unsqueeze(2))  # [B, B, P]
    return (hinge * other.unsqueeze(2)).sum() / (batch * (batch - 1) * positive.shape[1])
