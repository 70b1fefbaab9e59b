"""The raw-feature baseline of audio data (:class:`selfsup.tasks.RawFeatureSource`).

:class:`FbankStats` is a parameter-free "encoder" the core scores with the run's evaluators
beside the pretrained and random-init encoders: each clip's normalised log-mel filterbank
summarised per mel bin by its mean and (population) standard deviation over the clip's real
frames (``num_frames``; the zero padding up to ``target_length`` is left out), ``[rows, 2F]``.
On FSDD (official split) logistic regression on these features scores about 0.96, the
reference a pretrained encoder's features are read against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["FbankStats"]


class FbankStats(nn.Module):
    """``[mean over frames, std over frames]`` of each mel bin; ``embed_dim`` = 2 × mel bins."""

    def __init__(self, num_mel_bins: int) -> None:
        super().__init__()
        self.embed_dim = 2 * int(num_mel_bins)

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        x = batch["x"].float()  # [rows, frames, mel bins]
        frames = x.shape[1]
        lengths = batch.get("num_frames")
        if lengths is None:
            lengths = torch.full((x.shape[0],), frames, device=x.device)
        lengths = lengths.to(x.device).long().clamp(1, frames)
        mask = (torch.arange(frames, device=x.device)[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]
        count = lengths.to(x.dtype)[:, None]
        mean = (x * mask).sum(1) / count
        var = (((x - mean[:, None, :]) * mask) ** 2).sum(1) / count
        return torch.cat([mean, var.sqrt()], dim=1)
