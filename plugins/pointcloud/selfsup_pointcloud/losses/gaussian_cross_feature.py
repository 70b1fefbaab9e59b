r"""GaussianCross's semantic distillation loss (Yao et al., ACM MM 2025, arXiv 2508.02172, sec. 3.3;
project page ``RayYoh/GaussianCross:docs/index.html``):

.. math:: L_{sem} = \frac{1}{|\Omega|} \sum_{p \in \Omega}
   \Bigl(1 - \frac{P_\psi(\mathcal F)(p) \cdot \mathcal F^*(p)}
                  {\max(\lVert P_\psi(\mathcal F)(p)\rVert\,\lVert\mathcal F^*(p)\rVert,\ \epsilon)}\Bigr)

where P_ψ(ℱ) is the rendered low-dimensional feature map lifted by the projection head
and ℱ* the frozen 2-D teacher's feature map of the same real image (RADIOv2.5 in the
paper; any local image encoder here), over the pixels Ω (all, or those of ``mask``).
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_cross_feature_loss"]


def gaussian_cross_feature_loss(
    predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-8
) -> torch.Tensor:
    """Mean ``1 - cos`` between ``predicted`` and ``target`` ``[..., C]`` (the teacher's side is detached)."""
    cosine = torch.nn.functional.cosine_similarity(predicted, target.detach(), dim=-1, eps=eps)
    if mask is None:
        return (1.0 - cosine).mean()
    weight = mask.to(cosine.dtype)
    return ((1.0 - cosine) * weight).sum() / weight.sum().clamp_min(1.0)
