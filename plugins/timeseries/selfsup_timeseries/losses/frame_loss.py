"""The frame-projections pretraining loss (``IsoAlign.calc_loss``) and the stage-2 mapper loss.

Follows ``eth-siplab/Learning-with-FrameProjections:models/frameworks.py:IsoAlign.calc_loss``
and ``trainer_SSL_LE.py:train_mappers`` (commit 4461e91). With the projector outputs
normalised, e_t, e_w, e_f = normalize(z_t), normalize(z_w), normalize(z_f) (time, CWT, FT):

    L = NTX(e_t, e_w) + NTX(e_t, e_f) + NTX(e_w, e_f)
        + mean|P_f(e_t) − e_f| / B + mean|P_w(e_t) − e_w| / B

with NTX from :mod:`.ntxent`, mean over all B·D entries (``F.l1_loss``'s default) and then
divided by the batch size again, exactly as the official code (so the L1 terms are tiny).

Stage 2 (``train_mappers``): everything frozen, two new mappers from the time *backbone*
embedding h_t to the FT and CWT *backbone* embeddings, each trained on its own L1 (mean)
loss; the official code steps two Adam optimisers with the same settings, which is the same
as one Adam on the sum since Adam is per-parameter and the two mappers share no parameter:

    L₂ = mean|M_f(h_t) − h_f| + mean|M_w(h_t) − h_w|

Checked against the official ``IsoAlign.calc_loss`` (its predictors copied from ours) on one
fixed input in ``tests/test_timeseries_fidelity.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .ntxent import nt_xent

__all__ = ["frame_projection_loss", "mapper_loss", "FrameLossTerms"]

FrameLossTerms = dict[str, torch.Tensor]


def frame_projection_loss(
    z_time: torch.Tensor,
    z_cwt: torch.Tensor,
    z_ft: torch.Tensor,
    predict_ft: Callable[[torch.Tensor], torch.Tensor],
    predict_cwt: Callable[[torch.Tensor], torch.Tensor],
    temperature: float = 0.15,
) -> FrameLossTerms:
    """The stage-1 loss and its terms (``loss``, ``ntx_time_cwt``, ``ntx_time_ft``, ``ntx_cwt_ft``,
    ``l1_ft``, ``l1_cwt``) from the three projector outputs ``[B, D]``."""
    rows = z_time.shape[0]
    e_t, e_w, e_f = (F.normalize(z, dim=1) for z in (z_time, z_cwt, z_ft))
    l1_cwt = F.l1_loss(predict_cwt(e_t), e_w) / rows
    l1_ft = F.l1_loss(predict_ft(e_t), e_f) / rows
    ntx_tw = nt_xent(e_t, e_w, temperature)
    ntx_tf = nt_xent(e_t, e_f, temperature)
    ntx_wf = nt_xent(e_w, e_f, temperature)
    loss = ntx_tw + ntx_tf + ntx_wf + (l1_ft + l1_cwt)
    return {"loss": loss, "ntx_time_cwt": ntx_tw, "ntx_time_ft": ntx_tf, "ntx_cwt_ft": ntx_wf,
            "l1_ft": l1_ft, "l1_cwt": l1_cwt}


def mapper_loss(mapped_ft: torch.Tensor, h_ft: torch.Tensor, mapped_cwt: torch.Tensor, h_cwt: torch.Tensor) -> FrameLossTerms:
    """The stage-2 loss L₂ and its two terms (``mapper_l1_ft``, ``mapper_l1_cwt``)."""
    l1_ft = F.l1_loss(mapped_ft, h_ft)
    l1_cwt = F.l1_loss(mapped_cwt, h_cwt)
    return {"loss": l1_ft + l1_cwt, "mapper_l1_ft": l1_ft, "mapper_l1_cwt": l1_cwt}
