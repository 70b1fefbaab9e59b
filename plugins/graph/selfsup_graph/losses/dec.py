r"""DEC clustering loss: Student-t soft assignment Q, target distribution P, KL(P‖Q).

Soft assignment of embedding z_i to centre μ_j with ν degrees of freedom:

    q_ij = (1 + ‖z_i − μ_j‖²/ν)^{−(ν+1)/2} / Σ_{j'} (1 + ‖z_i − μ_{j'}‖²/ν)^{−(ν+1)/2}

Target distribution (squared, frequency-normalised, then row-normalised):

    p_ij = (q_ij² / f_j) / Σ_{j'} (q_{ij'}² / f_{j'}),     f_j = Σ_i q_ij

Loss (PyTorch ``F.kl_div(q.log(), p, reduction="batchmean")``):

    L_KL = (1/N) Σ_i Σ_j p_ij (log p_ij − log q_ij).

P is a constant target (computed from Q without gradients). References: Xie,
Girshick & Farhadi, ICML 2016 (DEC); ``gayanku/SCGC:models.py`` (``SCGC.forward``,
v = 1) and ``gayanku/SCGC:train.py`` (``target_distribution``, ``kl_div``).

Golden values: z = [[0], [1]], μ = [[0], [1]], ν = 1 gives q = [[2/3, 1/3], [1/3, 2/3]]
(kernels 1 and 1/2), f = [1, 1], p = [[0.8, 0.2], [0.2, 0.8]], and
L_KL = 0.8 log(0.8/(2/3)) + 0.2 log(0.2/(1/3)) = 0.0437...
"""

from __future__ import annotations

import torch

__all__ = ["student_t_assignment", "target_distribution", "dec_kl_loss"]


def student_t_assignment(z: torch.Tensor, centers: torch.Tensor, dof: float = 1.0) -> torch.Tensor:
    """Q ``[N, K]`` of the module docstring for ``z [N, D]`` and ``centers [K, D]``."""
    sq = (z.float()[:, None, :] - centers.float()[None, :, :]).pow(2).sum(dim=2)
    kernel = (1.0 + sq / dof).pow(-(dof + 1.0) / 2.0)
    return kernel / kernel.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """P ``[N, K]`` of the module docstring (no gradient flows through it)."""
    q = q.detach()
    weight = q.pow(2) / q.sum(dim=0, keepdim=True)
    return weight / weight.sum(dim=1, keepdim=True)


def dec_kl_loss(q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """KL(P‖Q) averaged over rows (``batchmean``); ``q`` is clamped at 1e−12 inside the log."""
    p = p.detach().float()
    q = q.float()
    return torch.sum(torch.special.xlogy(p, p) - p * torch.log(q.clamp_min(1e-12))) / q.shape[0]
