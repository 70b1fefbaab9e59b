"""``frame-projections``: learning without augmenting (Demirel & Holz, NeurIPS 2025, arXiv 2510.22655).

Official code: ``eth-siplab/Learning-with-FrameProjections`` (framework ``isoalign``), commit 4461e91.

Stage 1 (steps 1..``pretrain_steps``, phase ``pretrain``): every batch is projected, without
augmentation, onto three frames (:mod:`..views`): the time domain, the orthonormal Fourier basis
and the overcomplete ``cmor1-1`` wavelet frame (48 log-spaced scales, 1-128). Three encoders
(the time ResNet = the run's encoder's ``backbone``, :class:`..encoders.frame_nets.CWTEncoder`,
:class:`..encoders.frame_nets.FourierEncoder`) and three projectors give z_t, z_w, z_f; the loss is
:func:`..losses.frame_loss.frame_projection_loss` (three NT-Xent terms + the predictors' L1 / B).

Stage 2 (the remaining steps, phase ``mappers``, a fresh Adam): the model is frozen (eval mode,
no gradients) and the encoder's two mappers learn h_t → h_f and h_t → h_w on
:func:`..losses.frame_loss.mapper_loss` (``trainer_SSL_LE.py:train_mappers``). The run's encoder
(``frame-resnet1d``) then embeds concat[M_f(h_t), h_t, M_w(h_t)] (``IntegratedEncoder``).

Deviations, documented: the official stage 2 keeps the mappers of the epoch with the lowest
training loss; here the last step's are kept (the engine saves the final encoder). The views are
computed per batch rather than precomputed by the loaders (same library, same numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, Phase, StepOutput

from ..configs import FrameProjectionsConfig
from ..encoders.frame_nets import ConvMapping, CWTEncoder, FourierEncoder, Projector
from ..losses.frame_loss import frame_projection_loss, mapper_loss
from ..views import cwt_scales, cwt_view, fourier_view

__all__ = ["FrameProjections"]


def _adapter(width: int, dim: int) -> nn.Module:
    return nn.Identity() if width == dim else nn.Linear(width, dim)


class FrameProjections(Objective):
    """Built as ``FrameProjections(config, encoder, data_info)``; ``encoder`` is a ``frame-resnet1d``."""

    def __init__(self, config: FrameProjectionsConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        super().__init__(encoder)
        for name in ("backbone", "map_ft", "map_cwt"):
            if not hasattr(encoder, name):
                raise ConfigError(
                    f"frame-projections: the encoder {type(encoder).__name__} has no '{name}' (the time "
                    "backbone and the two stage-2 mappers). Use encoder=frame-resnet1d."
                )
        if not config.temperature > 0:
            raise ConfigError(f"frame-projections: temperature must be > 0, got {config.temperature}. "
                              "Use objective_config.temperature=0.15.")
        if config.pretrain_steps < 1 or config.num_scales < 8:
            raise ConfigError(
                f"frame-projections: pretrain_steps={config.pretrain_steps}, num_scales={config.num_scales}; "
                "need pretrain_steps >= 1 and num_scales >= 8. Use the defaults (300, 48)."
            )
        self.config = config
        channels, length = int(data_info["num_channels"]), int(data_info["length"])
        dim = int(encoder.backbone.embed_dim)
        self.scales = cwt_scales(config.num_scales, config.min_scale, config.max_scale)
        self.cwt_encoder = CWTEncoder(channels, config.num_scales, length, config.cwt_filters, config.cwt_kernel)
        self.ft_encoder = FourierEncoder(channels, length, config.fourier_kernel)
        self.cwt_adapter = _adapter(self.cwt_encoder.out_dim, dim)
        self.ft_adapter = _adapter(self.ft_encoder.out_dim, dim)
        self.projector = Projector(dim, config.projection_dim)
        self.projector_spect = Projector(dim, config.projection_dim)
        self.projector_ft = Projector(dim, config.projection_dim)
        self.predictor_ft = ConvMapping(config.projection_dim, config.predictor_hidden, 3)
        self.predictor_cwt = ConvMapping(config.projection_dim, config.predictor_hidden, 3)

    # -- the frames ----------------------------------------------------------

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The CWT magnitude ``[B, C, S, T]`` and the orthonormal spectrum ``[B, C, T//2+1]`` of ``x``."""
        cfg = self.config
        return (cwt_view(x, wavelet=cfg.wavelet, scales=self.scales, sampling_rate=cfg.sampling_rate),
                fourier_view(x))

    def backbone_embeddings(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """h_t, h_w, h_f: the three encoders' outputs (before the projectors)."""
        x = batch["x"].to(torch.float32)
        cwt, spectrum = self.views(x)
        h_t = self.encoder.backbone({"x": x})
        h_w = self.cwt_adapter(self.cwt_encoder(cwt))
        h_f = self.ft_adapter(self.ft_encoder(spectrum))
        return h_t, h_w, h_f

    # -- training ------------------------------------------------------------

    def _stage1_modules(self) -> list[nn.Module]:
        return [self.encoder.backbone, self.cwt_encoder, self.ft_encoder, self.cwt_adapter, self.ft_adapter,
                self.projector, self.projector_spect, self.projector_ft, self.predictor_ft, self.predictor_cwt]

    def phases(self) -> list[Phase]:
        stage1 = [p for m in self._stage1_modules() for p in m.parameters() if p.requires_grad]
        mappers = [*self.encoder.map_ft.parameters(), *self.encoder.map_cwt.parameters()]
        lr = {} if self.config.mapper_lr is None else {"lr": self.config.mapper_lr}
        return [
            Phase("pretrain", stage1, last_step=self.config.pretrain_steps),
            Phase("mappers", mappers, optimizer=lr, first_step=self.config.pretrain_steps + 1),
        ]

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        if phase == "mappers":
            return self._mapper_step(batch)
        h_t, h_w, h_f = self.backbone_embeddings(batch)
        z_t = self.gather(self.projector(h_t))
        z_w = self.gather(self.projector_spect(h_w))
        z_f = self.gather(self.projector_ft(h_f))
        terms = frame_projection_loss(z_t, z_w, z_f, self.predictor_ft, self.predictor_cwt, self.config.temperature)
        return {**terms, "loss": terms["loss"]}

    def _mapper_step(self, batch: Batch) -> StepOutput:
        frozen = self._stage1_modules()
        modes = [m.training for m in frozen]
        for module in frozen:
            module.eval()  # the official model.eval(): BatchNorm statistics frozen, no dropout
        try:
            with torch.no_grad():
                h_t, h_w, h_f = self.backbone_embeddings(batch)
        finally:
            for module, mode in zip(frozen, modes):
                module.train(mode)
        return mapper_loss(self.encoder.map_ft(h_t), h_f, self.encoder.map_cwt(h_t), h_w)
