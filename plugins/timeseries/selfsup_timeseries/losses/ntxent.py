"""NT-Xent between two views, as frame projections' ``IsoAlign.cont_loss`` computes it.

Follows ``eth-siplab/Learning-with-FrameProjections:models/frameworks.py:IsoAlign.cont_loss``
(commit 4461e91). With ``r = [a; b]`` (2B rows, already L2-normalised by the caller) and
``s_ij = r_i · r_j / τ``:

    NTX(a, b) = (1 / 2B) · Σ_i [ −s_{i,p(i)} + log Σ_{j ≠ i} exp(s_ij) ],   p(i) = i ± B

i.e. each anchor's positive is the same row in the other view and its 2B − 2 negatives are
every other row of both views (the official mask removes the diagonal and both off-diagonals
at ±B; the logits are [positive, negatives] and the target index 0; cross-entropy with
``reduction="sum"`` divided by 2B). The official code divides the dot product by τ without
renormalising, so the inputs must be unit vectors (``IsoAlign.calc_loss`` normalises first).

Checked against the official ``cont_loss`` on one fixed input in
``tests/test_timeseries_fidelity.py`` (equal to 1e-6); deviation: the batch size is read from
the input instead of being fixed at construction (the official masks are built once for
``--batch_size`` and the loaders drop the last partial batch).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["nt_xent"]


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.15) -> torch.Tensor:
    """The loss above for unit-norm ``a``, ``b`` of shape ``[B, D]``; a scalar."""
    rows = a.shape[0]
    r = torch.cat([a, b], dim=0)
    logits = (r @ r.t()) / temperature
    eye = torch.eye(2 * rows, dtype=torch.bool, device=r.device)
    logits = logits.masked_fill(eye, float("-inf"))
    targets = torch.cat([torch.arange(rows, 2 * rows), torch.arange(0, rows)]).to(r.device)
    return F.cross_entropy(logits, targets, reduction="sum") / (2 * rows)
