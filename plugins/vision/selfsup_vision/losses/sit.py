"""SiT's (GMML version) losses (``Sara-Ahmed/SiT@7f22e9c:main.py``, ``train_one_epoch`` and ``SimCLR``).

**Reconstruction.** With the clean image ``x``, the student's reconstruction ``x̂`` and the
corruption mask ``m ∈ {0, 1}`` (same shape, 1 = corrupted pixel):

    L_rec = Σ m·|x̂ − x| / Σ m

i.e. the mean absolute error over the corrupted pixels only (the official
``F.l1_loss(s_recons, clean, reduction='none')[masks == 1].mean()``). Deviation: an
all-zero mask gives ``0`` (with a gradient path) instead of the official NaN.

**Contrastive** (MoCo-v3-style). With ``q̂ = q/‖q‖`` (student, ``[N, D]``) and ``k̂ = k/‖k‖``
(teacher, detached; ``k_all`` every rank's keys, this rank's rows starting at ``offset``):

    c(q, k) = 2τ · mean_i −log( exp(q̂_i·k̂_{offset+i}/τ) / Σ_j exp(q̂_i·k̂_j/τ) )

and ``L_con = c(s₁, t₂) + c(s₂, t₁)`` (student view 1 against teacher view 2 and vice versa),
τ = 0.2 (``--simclr_temp``). The total is ``L = L_con + λ·L_rec`` (``--lmbda``, default 1).
Golden values against the official code: ``tests/test_vision_sit.py``.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ["masked_l1", "moco_contrastive", "sit_contrastive", "sit_loss"]


def masked_l1(recon: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``Σ m·|x̂ − x| / Σ m`` (see the module docstring); ``mask`` broadcasts to ``recon``."""
    err = (recon.float() - clean.float()).abs()
    m = mask.to(err.dtype).expand_as(err)
    return (err * m).sum() / m.sum().clamp_min(1.0)


def moco_contrastive(
    q: torch.Tensor,
    k: torch.Tensor,
    *,
    temperature: float = 0.2,
    k_all: Optional[torch.Tensor] = None,
    offset: int = 0,
) -> torch.Tensor:
    """``c(q, k) = 2τ·CE(q̂ k̂_allᵀ/τ, offset + i)``; the keys get no gradient."""
    qn = F.normalize(q.float(), dim=1)
    keys = (k if k_all is None else k_all).detach().float()
    kn = F.normalize(keys, dim=1)
    logits = qn @ kn.T / temperature
    target = torch.arange(qn.shape[0], device=qn.device) + offset
    return F.cross_entropy(logits, target) * (2.0 * temperature)


def sit_contrastive(
    s1: torch.Tensor,
    s2: torch.Tensor,
    t1: torch.Tensor,
    t2: torch.Tensor,
    *,
    temperature: float = 0.2,
    t1_all: Optional[torch.Tensor] = None,
    t2_all: Optional[torch.Tensor] = None,
    offset: int = 0,
) -> torch.Tensor:
    """``c(s₁, t₂) + c(s₂, t₁)``."""
    return (moco_contrastive(s1, t2, temperature=temperature, k_all=t2_all, offset=offset)
            + moco_contrastive(s2, t1, temperature=temperature, k_all=t1_all, offset=offset))


def sit_loss(l_con: torch.Tensor, l_rec: torch.Tensor, lmbda: float = 1.0) -> torch.Tensor:
    """``L = L_con + λ·L_rec``."""
    return l_con + lmbda * l_rec
