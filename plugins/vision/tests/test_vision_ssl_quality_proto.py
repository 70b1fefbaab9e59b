"""SwAV / SEER (prototype objectives): the swapped-prediction wiring, and what pretraining does to
a downstream probe at test size.

The quality tests: in progress (issue 21, qproto).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F


from selfsup_vision.backbone_configs import ResNetConfig
from selfsup_vision.encoders.backbones import build_resnet18
from selfsup_vision.heads.sinkhorn import sinkhorn_knopp
from selfsup_vision.objectives.swav import SwAV
from selfsup_vision.ssl_configs import SwAVConfig

INFO = {"channels": 3, "height": 16, "width": 16}


@pytest.mark.parametrize("local_crops", [0, 2])
def test_swav_step_predicts_each_global_crops_sinkhorn_codes_from_every_other_view(local_crops: int) -> None:
    """The objective's loss, recomputed by hand from its own pieces on the same views (same RNG
    state; eval mode so BatchNorm uses running statistics and each view's embedding does not
    depend on which views share its forward pass): prototypes ``C`` re-normalised, ``z_v`` the
    L2-normalised projection of view ``v``, codes ``q_a = sinkhorn(z_a Cᵀ)`` for the global crops
    ``a ∈ {0, 1}``, and ``L = ½ Σ_a 1/(V−1) Σ_{v≠a} mean_i −Σ_k q_a,ik log softmax(z_v Cᵀ/τ)_ik``
    (``main_swav.py``'s loss block). A code taken from the wrong crop (codes not swapped, or a
    crop predicting itself), codes without Sinkhorn's equipartition, or un-normalised prototypes
    change the value."""
    torch.manual_seed(0)
    cfg = SwAVConfig(hidden_dim=32, feat_dim=8, prototypes=12, local_crops=local_crops, freeze_prototypes_steps=0)
    obj = SwAV(cfg, build_resnet18(ResNetConfig(), INFO), INFO).eval()
    with torch.no_grad():
        obj.prototypes.weight.mul_(3.0)  # the step must re-normalise them first
    x = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.manual_seed(5)
    loss = obj.training_step({"x": x}, step=1, phase="main")["loss"]
    torch.manual_seed(5)
    views = obj.make_views({"x": x})
    assert len(views) == 2 + local_crops
    with torch.no_grad():
        prototypes = obj.prototypes.weight / obj.prototypes.weight.norm(dim=1, keepdim=True)
        assert torch.allclose(prototypes, obj.prototypes.weight, atol=1e-6)
        z = [F.normalize(obj.projector(obj.encoder.forward_images(v)), dim=1) for v in views]
        scores = [zv @ prototypes.T for zv in z]
        expected = torch.zeros(())
        for a in (0, 1):
            q = sinkhorn_knopp(scores[a], epsilon=0.05, iterations=3)
            assert torch.allclose(q.sum(1), torch.ones(6), atol=1e-5)  # codes of each sample sum to 1
            others = [v for v in range(len(views)) if v != a]
            expected += sum(-(q * torch.log_softmax(scores[v] / 0.1, dim=1)).sum(1).mean() for v in others) / len(others)
        expected /= 2
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)

