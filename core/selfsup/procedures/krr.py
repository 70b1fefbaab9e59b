"""KRR-ST's inner closed form and outer loss (pure functions).

Follows ``db-Lee/selfsup_dd`` (Lee et al., ICLR 2024, "Self-Supervised Dataset Distillation for
Transfer Learning"), ``algorithms/distill.py`` (the outer step), read at HEAD ``4beb4b1`` through
the project's research notes (§4.1). With pool-model features ``Φ_s = [f(X_s), 1]`` ``[n, p+1]``
and ``Φ_r = [f(X_r), 1]`` ``[b, p+1]`` (a bias column appended), the linear kernel
``K_ss = Φ_s Φ_sᵀ``, ``K_rs = Φ_r Φ_sᵀ`` and the ridge ``λ = ridge · tr(K_ss)`` (detached):

    Ŷ_r = K_rs (K_ss + λ I)⁻¹ Y_s                         (kernel ridge regression, closed form)
    L   = MSE(Ŷ_r, Y_r) = (1 / (b·k)) Σ ||Ŷ_r − Y_r||²    (Y_r = g(X_r): the target encoder's representations)

solved with ``torch.linalg.solve`` (as the official code). The gradient of ``L`` reaches
``X_s`` through ``Φ_s`` and ``Y_s`` directly; ``Φ_r`` carries none (the pool model gets no outer
gradient). Checked against ``sklearn.kernel_ridge.KernelRidge(kernel='linear', alpha=λ)`` (which
solves the same system) in the tests; the official code itself needs its CIFAR pipeline and
a GPU-sized pool and was not run here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["with_bias", "krr_predict", "krr_st_loss"]


def with_bias(features: torch.Tensor) -> torch.Tensor:
    """``[N, p] -> [N, p+1]``: the features with a column of ones appended."""
    return torch.cat([features, torch.ones_like(features[:, :1])], dim=1)


def krr_predict(phi_s: torch.Tensor, phi_r: torch.Tensor, y_s: torch.Tensor, *, ridge: float = 1e-6) -> torch.Tensor:
    """``K_rs (K_ss + λ I)⁻¹ Y_s`` with ``λ = ridge · tr(K_ss)`` (detached); features already biased."""
    k_ss = phi_s @ phi_s.T
    k_rs = phi_r @ phi_s.T
    lam = ridge * torch.trace(k_ss).detach()
    eye = torch.eye(k_ss.shape[0], dtype=k_ss.dtype, device=k_ss.device)
    return k_rs @ torch.linalg.solve(k_ss + lam * eye, y_s)


def krr_st_loss(
    feat_s: torch.Tensor, feat_r: torch.Tensor, y_s: torch.Tensor, y_r: torch.Tensor, *, ridge: float = 1e-6
) -> torch.Tensor:
    """The outer loss ``MSE(KRR prediction on the real rows, their target representations)``."""
    return F.mse_loss(krr_predict(with_bias(feat_s), with_bias(feat_r.detach()), y_s, ridge=ridge), y_r)
