"""MAE's reconstruction loss: mean squared error on the masked patches only.

Follows ``facebookresearch/mae:models_mae.py`` (``MaskedAutoencoderViT.forward_loss``, commit
``efb2a80``). With ``P`` the ``[N, L, p²·C]`` patchified image, ``P̂`` the decoder's prediction
and ``m ∈ {0, 1}^{N×L}`` the mask (1 = removed):

* target ``T = P`` or, with ``norm_pix`` (the paper's default), per patch
  ``T_l = (P_l − mean(P_l)) / sqrt(var(P_l) + 1e-6)`` where ``var`` is the *unbiased* variance
  over the patch's ``p²·C`` values (``torch.var``'s default, as the official code);
* ``e_{n,l} = (1/D) Σ_d (P̂_{n,l,d} − T_{n,l,d})²`` (mean over the ``D = p²·C`` values);
* ``loss = Σ_{n,l} m_{n,l} e_{n,l} / Σ_{n,l} m_{n,l}``: visible patches do not count.

Deviation: an all-zero mask gives ``0`` (with a gradient path) instead of the official NaN.
"""

from __future__ import annotations

import torch

__all__ = ["mae_loss", "normalised_patch_targets"]


def normalised_patch_targets(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``(P − mean) / sqrt(var + eps)`` over the last dimension (unbiased variance)."""
    mean = patches.mean(dim=-1, keepdim=True)
    var = patches.var(dim=-1, keepdim=True)
    return (patches - mean) / (var + eps) ** 0.5


def mae_loss(pred: torch.Tensor, patches: torch.Tensor, mask: torch.Tensor, *, norm_pix: bool = True) -> torch.Tensor:
    """Mean over masked patches of the per-patch mean squared error (see the module docstring).

    ``pred`` and ``patches``: ``[N, L, D]``; ``mask``: ``[N, L]``, 1 where the patch was removed.
    """
    target = normalised_patch_targets(patches) if norm_pix else patches
    per_patch = (pred - target).pow(2).mean(dim=-1)
    mask = mask.to(per_patch.dtype)
    return (per_patch * mask).sum() / mask.sum().clamp_min(1.0)
