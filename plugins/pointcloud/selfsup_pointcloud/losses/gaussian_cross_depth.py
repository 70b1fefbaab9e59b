r"""GaussianCross's depth loss (Yao et al., ACM MM 2025, arXiv 2508.02172, sec. 3.3;
project page ``RayYoh/GaussianCross:docs/index.html``), on valid pixels only:

.. math:: L_{dep} = \frac{1}{|V|} \sum_{p \in V} |\mathcal D(p) - \mathcal D^*(p)|,
   \qquad V = \{p : \mathcal D^*(p) > 0\}

𝒟 is the splatted (alpha-accumulated, gsplat's ``"D"`` mode) depth and 𝒟* the sensor
depth in metres, 0 where the sensor has no reading (ScanNet's convention; the
``ScanNetRGBDDataset`` of ``RayYoh/GaussianCross:pointcept/custom/dataset.py`` reads
depth with ``depth_scale = 1/1000``). With no valid pixel the loss is 0.
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_cross_depth_loss"]


def gaussian_cross_depth_loss(
    rendered: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean absolute depth error over ``valid`` pixels (default: ``target > 0``); shapes ``[...]``."""
    if valid is None:
        valid = target > 0
    weight = valid.to(rendered.dtype)
    return ((rendered - target).abs() * weight).sum() / weight.sum().clamp_min(1.0)
