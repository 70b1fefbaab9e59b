"""Which view each branch of SimCLR and BYOL sees: the loss of one training step equals the loss
assembled by hand from the objective's own modules on two fixed, distinct views, and differs from
the loss of the plausible mis-wirings (``scripts/mutations.py``: ``vis-simclr-one-view``, both
projections from the first view; ``vis-byol-target-from-other-view``, each prediction regressing
the target of its *own* view). BatchNorm runs in training mode with batch statistics, so
re-running a module on the same view gives the same output."""

from __future__ import annotations

import pytest
import torch

from selfsup_vision.backbone_configs import ResNetConfig
from selfsup_vision.encoders.backbones import build_resnet18
from selfsup_vision.losses.byol import byol_loss
from selfsup_vision.losses.nt_xent import nt_xent
from selfsup_vision.objectives.byol import BYOL
from selfsup_vision.objectives.simclr import SimCLR
from selfsup_vision.ssl_configs import BYOLConfig, SimCLRConfig

INFO = {"channels": 3, "height": 16, "width": 16}


def _views(objective: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    v1, v2 = torch.rand(6, 3, 16, 16, generator=g) * 2 - 1, torch.rand(6, 3, 16, 16, generator=g) * 2 - 1
    objective.make_views = lambda batch: (v1, v2)  # type: ignore[method-assign]
    return v1, v2


def test_simclr_contrasts_the_first_views_projection_with_the_seconds() -> None:
    torch.manual_seed(0)
    obj = SimCLR(SimCLRConfig(proj_hidden_dim=32, proj_dim=8), build_resnet18(ResNetConfig(), INFO), INFO)
    v1, v2 = _views(obj)
    loss = obj.training_step({"x": v1}, step=1, phase="main")["loss"].item()
    with torch.no_grad():
        z1 = obj.projector(obj.encoder.forward_images(v1))
        z2 = obj.projector(obj.encoder.forward_images(v2))
    assert loss == pytest.approx(nt_xent(z1, z2, temperature=0.5).item(), rel=1e-5)
    assert abs(loss - nt_xent(z1, z1, temperature=0.5).item()) > 0.1


def test_byol_predictions_regress_the_other_views_target() -> None:
    torch.manual_seed(0)
    obj = BYOL(BYOLConfig(hidden_dim=32, proj_dim=8), build_resnet18(ResNetConfig(), INFO), INFO)
    v1, v2 = _views(obj)
    loss = obj.training_step({"x": v1}, step=1, phase="main")["loss"].item()
    with torch.no_grad():
        p1, p2 = obj.predictor(obj.online(v1)), obj.predictor(obj.online(v2))
        t1, t2 = obj.target(v1), obj.target(v2)
    assert loss == pytest.approx(byol_loss(p1, p2, t1, t2).item(), rel=1e-5)
    assert abs(loss - byol_loss(p1, p2, t2, t1).item()) > 1e-3
