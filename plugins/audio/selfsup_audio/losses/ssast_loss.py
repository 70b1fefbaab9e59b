r"""SSAST's pretext losses (Gong et al., AAAI 2022, arXiv 2110.09784; YuanGongND/ssast @ a1a3eec
``src/models/ast_models.py`` ``mpc``/``mpg``, ``src/traintest_mask.py``).

Per clip b, with masked set M (|M| = N_m), targets x_i (the raw normalised patch, detached)
and predictions c_i = MLP_d(O_i), r_i = MLP_g(O_i):

* discriminative (InfoNCE over the clip's masked patches, no temperature), ``variant="code"``
  as released, S_ij = x_iᵀ c_j, log-softmax over the predictions j:

  .. math:: L_d = -\frac{1}{B N_m} \sum_b \sum_i \log \frac{\exp(x_i^\top c_i)}{\sum_j \exp(x_i^\top c_j)}

  ``variant="paper"`` (eq. 1), softmax over the targets:
  :math:`-\frac{1}{B N_m}\sum_b\sum_i \log \frac{\exp(c_i^\top x_i)}{\sum_j \exp(c_i^\top x_j)}`
  (the difference is acknowledged in YuanGongND/ssast#13);
* generative: :math:`L_g = \operatorname{mean}_{b, i, d} (r_{i,d} - x_{i,d})^2`;
* joint: :math:`L = L_d + \lambda L_g` with λ = 10.

At initialisation (c ≈ 0) every softmax is uniform and L_d = log N_m.
"""

from __future__ import annotations

import torch

__all__ = ["masked_patch_infonce", "masked_patch_mse", "ssast_joint_loss"]


def masked_patch_infonce(
    predictions: torch.Tensor, targets: torch.Tensor, variant: str = "code"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_d, accuracy)`` for ``predictions`` c and ``targets`` x, both ``[B, N_m, P]``.

    Accuracy as SSAST logs it: for each column j of softmax(S), is argmax_i equal to j.
    """
    scores = torch.bmm(targets.float(), predictions.float().transpose(1, 2))  # S[b, i, j] = x_i . c_j
    if variant == "code":
        log_probs = scores.log_softmax(dim=-1)
    elif variant == "paper":
        log_probs = scores.log_softmax(dim=1)  # over targets i for prediction j = i
    else:
        raise ValueError(f"variant must be 'code' or 'paper', got {variant!r}")
    loss = -log_probs.diagonal(dim1=1, dim2=2).mean()
    with torch.no_grad():
        arange = torch.arange(scores.shape[1], device=scores.device)
        accuracy = (scores.softmax(dim=-1).argmax(dim=1) == arange).float().mean()
    return loss, accuracy


def masked_patch_mse(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """L_g: mean squared error over every masked patch value."""
    return (predictions.float() - targets.float()).pow(2).mean()


def ssast_joint_loss(discriminative: torch.Tensor, generative: torch.Tensor, lambda_gen: float = 10.0) -> torch.Tensor:
    """L = L_d + λ·L_g (``src/traintest_mask.py``: ``loss = acc_loss + 10 * mse_loss``)."""
    return discriminative + lambda_gen * generative
