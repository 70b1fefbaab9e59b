"""SLA+SD's self-distillation loss (``hankook/SLA:trainers.py``, ``create_sla_sd_trainer``).

With ``u`` the single head's logits on the untransformed images, ``s`` the aggregated joint
scores (detached) and temperature ``T``:

``L_SD = CE(u, y) + T² · KL(softmax(s/T) ‖ softmax(u/T))``, the KL averaged over the batch
(``F.kl_div(log_softmax(u/T), softmax(s/T), reduction="batchmean")``). The joint loss is added
by the caller.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["sla_distillation_loss"]


def sla_distillation_loss(single_logits: torch.Tensor, aggregated: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``CE(u, y) + T²·KL(softmax(s/T) ‖ softmax(u/T))`` with ``s`` detached."""
    ce = F.cross_entropy(single_logits, labels.long())
    kl = F.kl_div(F.log_softmax(single_logits / temperature, dim=1), F.softmax(aggregated.detach() / temperature, dim=1), reduction="batchmean")
    return ce + kl * temperature**2
