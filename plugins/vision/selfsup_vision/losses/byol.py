"""BYOL's regression loss (``deepmind-research:byol/byol_experiment.py``, ``utils/helpers.py::regression_loss``).

For online predictions ``p`` and target projections ``z`` (``[N, D]``, the target detached):

    r(p, z) = ‖p/‖p‖ − z/‖z‖‖² = 2 − 2·cos(p, z)

and the symmetrised loss ``mean_i ( r(p1_i, z2_i) + r(p2_i, z1_i) )`` (view 1's prediction
against view 2's target and vice versa), summed as the official ``loss = loss_view1 + loss_view2``.
The official code is JAX, not run here; the tests check the formula by hand.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["regression_loss", "byol_loss"]


def regression_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Per-row ``2 − 2·cos(p, z)``; ``z`` is detached."""
    return 2.0 - 2.0 * F.cosine_similarity(p.float(), z.detach().float(), dim=-1, eps=1e-12)


def byol_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    return (regression_loss(p1, z2) + regression_loss(p2, z1)).mean()
