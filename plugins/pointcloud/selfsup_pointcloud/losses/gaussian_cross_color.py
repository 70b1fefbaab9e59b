r"""GaussianCross's photometric loss (Yao et al., ACM MM 2025, arXiv 2508.02172, sec. 3.3
"Tri-attribute adaptive distillation splatting"; project page ``RayYoh/GaussianCross:docs/index.html``):

.. math:: L_{img} = \frac{1}{|\Omega| \cdot 3} \sum_{p \in \Omega} \sum_{k=1}^{3} |\mathcal C_k(p) - \mathcal C^*_k(p)|

over the pixels Ω of every rendered view (all pixels, or those of ``mask``), with 𝒞 the
splatted colour and 𝒞* the real RGB frame, both in 0..1.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_cross_color_loss"]


def gaussian_cross_color_loss(
    rendered: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean absolute colour error; ``rendered``/``target`` ``[..., 3]``, optional boolean ``mask`` ``[...]``."""
    error = (rendered - target).abs()
    if mask is None:
        return error.mean()
    weight = mask.to(error.dtype)[..., None]
    return (error * weight).sum() / (weight.sum() * error.shape[-1]).clamp_min(1.0)
