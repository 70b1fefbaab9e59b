"""MYOW's losses (Azabou et al. 2021, arXiv 2102.10106), as ``nerdslab/myow`` computes them.

Official files: ``self_supervised/trainer/myow_trainer.py`` (``MYOWTrainer.train_epoch``: the
weights), ``self_supervised/loss/cosine_loss.py`` (``CosineLoss``), ``self_supervised/model/
double_byol.py`` (the cascaded heads). With ``r(q, t) = 2 − 2·cos(q, t)`` (BYOL's
:func:`~selfsup_vision.losses.byol.regression_loss`, ``t`` detached) and a batch of ``B`` rows:

* **mined-view loss** — ``q_m = predictor_m(projector_m(projector(y_anchor)))`` (online),
  ``v_m = projector_m'(projector'(y'_mined))`` (target, the mined pool image):

      L_mined = (1/B) Σ_i r(q_m_i, v_m_i)                                   (``CosineLoss``)

* **total** with the mined-loss weight ``w ≥ 0`` (ramped in after a warm-up, see
  :func:`mined_loss_weight`) and the symmetric BYOL term (each half weighted ½, as
  ``symmetric_loss=True`` does):

      L = 1/(1+w) · ½·[ mean r(p1, z2) + mean r(p2, z1) ] + w/(1+w) · L_mined

  The official trainer back-propagates these three pieces separately (three ``backward``
  calls into one optimiser step); their sum has the same gradient. With ``w = 0`` the mined
  term is skipped entirely (the official trainer does not even mine).

* **weight schedule** (``MYOWTrainer.update_mined_loss_weight``, 0-based step ``t``): 0 before
  the warm-up's end ``W``, ``w_max`` from the ramp's end ``R`` on, linear in between:
  ``w(t) = w_max·(t − W)/(R − W)``. Here ``W`` and ``R`` are fractions of the run's steps
  (``mined_warmup``, ``mined_rampup_end``; official CIFAR: epochs 100 and 110 of 800).

Checked against the official code (``plugins/vision/tests/test_vision_myow.py`` module
docstring): on one fixed input with fixed weights the official ``MYOWTrainer`` and this
objective give the same loss pieces and the same gradients.
"""

from __future__ import annotations

from typing import Optional

import torch

from .byol import byol_loss, regression_loss

__all__ = ["mined_view_loss", "myow_loss", "mined_loss_weight"]


def mined_view_loss(q_m: torch.Tensor, v_m: torch.Tensor) -> torch.Tensor:
    """``mean_i (2 − 2·cos(q_m_i, v_m_i))``; ``v_m`` (the target's mined projection) is detached."""
    return regression_loss(q_m, v_m).mean()


def myow_loss(
    p1: torch.Tensor,
    p2: torch.Tensor,
    z1: torch.Tensor,
    z2: torch.Tensor,
    weight: float,
    q_m: Optional[torch.Tensor] = None,
    v_m: Optional[torch.Tensor] = None,
) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """``(L, L_byol, L_mined)``: the total above, BYOL's symmetric mean ``½·[...]`` and the mined
    term (``None`` when ``weight == 0``, where ``q_m``/``v_m`` may be omitted)."""
    if weight < 0:
        raise ValueError(f"myow_loss: weight={weight} must be >= 0")
    byol = 0.5 * byol_loss(p1, p2, z1, z2)
    if weight == 0:
        return byol, byol, None
    if q_m is None or v_m is None:
        raise ValueError("myow_loss: weight > 0 needs the mined predictions q_m and targets v_m")
    mined = mined_view_loss(q_m, v_m)
    return byol / (1.0 + weight) + weight / (1.0 + weight) * mined, byol, mined


def mined_loss_weight(step: int, total_steps: int, warmup: float, rampup_end: float, max_weight: float) -> float:
    """The mined-loss weight at 0-based ``step`` of ``total_steps``: 0 while ``step < warmup·T``,
    ``max_weight`` once ``step ≥ rampup_end·T``, linear in between (``T = total_steps``;
    ``warmup``/``rampup_end`` fractions with ``0 ≤ warmup ≤ rampup_end``)."""
    start, end = warmup * total_steps, rampup_end * total_steps
    if step < start:
        return 0.0
    if step >= end:
        return float(max_weight)
    return float(max_weight) * (step - start) / (end - start)
