"""Losses as pure functions over tensors (no modules, no state)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["nt_xent"]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    r"""Normalised temperature-scaled cross-entropy (NT-Xent; SimCLR, Chen et al. 2020).

    ``z1[i]`` and ``z2[i]`` are the projections of two views of example ``i``;
    both are ``[N, D]``. Stack them into ``2N`` rows ``u`` (``u = [z1; z2]``),
    L2-normalise each row, and let

    .. math::

        s_{ij} = \frac{u_i^\top u_j}{\lVert u_i\rVert \, \lVert u_j\rVert \, \tau},
        \qquad p(i) = i + N \bmod 2N \quad\text{(the other view of the same example)}

    .. math::

        \mathcal{L} = \frac{1}{2N} \sum_{i=1}^{2N}
            -\log \frac{\exp(s_{i,p(i)})}{\sum_{k \ne i} \exp(s_{ik})}

    Each row is a ``(2N - 1)``-way classification of its positive among the
    other ``2N - 1`` rows (itself excluded), so every other example in the
    batch, in either view, is a negative. Computed as a cross-entropy over the
    similarity matrix with its diagonal set to ``-inf``, in float32.

    Golden value: ``z1 = z2 = I_2`` (two orthogonal examples) and ``tau = 1``
    give ``s_pos = 1`` and two negatives with ``s = 0`` per row, so
    ``L = log(1 + 2 / e) = 0.551444...``.

    Returns a scalar tensor. Raises ``ValueError`` on mismatched shapes or a
    non-positive temperature.
    """
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"nt_xent: z1 and z2 must both be [N, D], got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if not temperature > 0:
        raise ValueError(f"nt_xent: temperature must be > 0, got {temperature}")
    n = z1.shape[0]
    u = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = u @ u.T / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=u.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = torch.arange(2 * n, device=u.device).roll(n)
    return F.cross_entropy(logits, positives)
