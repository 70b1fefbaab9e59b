"""SSAST: joint discriminative and generative masked spectrogram patch modelling.

Gong, Lai, Chung, Glass, "SSAST: Self-Supervised Audio Spectrogram Transformer",
AAAI 2022 (arXiv 2110.09784); official code YuanGongND/ssast @ a1a3eec.

One step on fbank ``x`` [B, T, F] (``src/models/ast_models.py`` ``mpc``/``mpg``):

1. raw targets ``X = unfold(x)`` [B, N, P] (detached) and patch embeddings ``E`` [B, N, D];
2. a mask M (N_m indices per clip; cluster masking for patch tokens, uniform for frame
   tokens, :mod:`.masks`); masked embeddings replaced by a learnable ``mask_embed``
   (xavier-normal init) *before* the positional embeddings;
3. the encoder (:class:`selfsup_audio.encoders.ast.ASTEncoder`) over CLS tokens + patches;
4. discriminative head MLP_d (Linear D→D, ReLU, Linear D→P) on the masked outputs →
   InfoNCE against X[M] (:func:`selfsup_audio.losses.masked_patch_infonce`);
5. generative head MLP_g (same shape, separate weights) → MSE against X[M'];
6. L = L_d + 10·L_g, where M and M' are *independent* masks and 4 and 5 use two forward
   passes (``independent_masks=True``, as released in ``src/traintest_mask.py``).

Trainer defaults (``src/pretrain/run_mask_patch.sh``, ``traintest_mask.py``): Adam,
weight decay 5e-7, betas (0.95, 0.999), linear warm-up (1000 steps there); the lr is the
tiny recipe's 5e-4 (``run_mask_patch_tiny.sh``; base uses 1e-4). Deviation: SSAST halves
the lr on a plateau of the validation pretext accuracy; the engine's cosine schedule is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch
from selfsup.capabilities import require_capability
from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, StepOutput
from torch import nn

from ..configs import SSASTConfig
from ..losses.ssast_loss import masked_patch_infonce, masked_patch_mse, ssast_joint_loss
from .masks import cluster_mask, uniform_mask

__all__ = ["SSAST", "SSASTConfig", "PatchTokenEncoder", "TASKS"]

TASKS = ("joint", "discriminative", "generative")


def _head(dim: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, out))


@runtime_checkable
class PatchTokenEncoder(Protocol):
    """What SSAST needs of its encoder (the AST and AMBA encoders have it): the fbank cut into
    ``num_patches`` patches of ``patch_dim`` values on a ``grid``, their embeddings, and a trunk that
    encodes embedded tokens (``num_cls_tokens`` of them prepended)."""

    grid: tuple[int, int]
    num_patches: int
    patch_dim: int
    num_cls_tokens: int

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """fbank ``[B, T, F]`` -> patch embeddings ``[B, num_patches, D]``."""
        ...

    def unfold(self, x: torch.Tensor) -> torch.Tensor:
        """fbank ``[B, T, F]`` -> raw patches ``[B, num_patches, patch_dim]`` (the generative targets)."""
        ...

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embedded patch tokens -> outputs (CLS tokens first)."""
        ...


class SSAST(Objective):
    """The ``ssast`` objective; see the module docstring. Needs a :class:`PatchTokenEncoder`."""

    def __init__(self, config: SSASTConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        require_capability(encoder, PatchTokenEncoder, objective="ssast", fix="Use encoder='ast'.")
        super().__init__(encoder)
        if config.task not in TASKS:
            raise ConfigError(f"objective_config.task={config.task!r} is not one of {TASKS}.")
        if config.nce_variant not in ("code", "paper"):
            raise ConfigError(f"objective_config.nce_variant={config.nce_variant!r} is not 'code' or 'paper'.")
        if not 1 <= config.min_cluster <= config.max_cluster:
            raise ConfigError("objective_config needs 1 <= min_cluster <= max_cluster.")
        n = encoder.num_patches
        self.num_masked = config.num_masked if config.num_masked is not None else int(round(config.mask_ratio * n))
        self.cluster = config.cluster if config.cluster is not None else getattr(encoder, "tokens_kind", "patch") == "patch"
        limit = n - 2 if self.cluster else n
        if not 2 <= self.num_masked <= limit:
            raise ConfigError(
                f"objective_config.num_masked={self.num_masked} must be in [2, {limit}] for {n} patches."
            )
        self.config = config
        dim = encoder.embed_dim
        self.mask_embed = nn.Parameter(torch.empty(1, 1, dim))
        nn.init.xavier_normal_(self.mask_embed)
        use_d = config.task in ("joint", "discriminative")
        use_g = config.task in ("joint", "generative")
        self.disc_head = _head(dim, encoder.patch_dim) if use_d else None
        self.gen_head = _head(dim, encoder.patch_dim) if use_g else None

    def sample_mask(self, batch: int, device: torch.device) -> torch.Tensor:
        if self.cluster:
            return cluster_mask(batch, tuple(self.encoder.grid), self.num_masked, min_cluster=self.config.min_cluster,
                                max_cluster=self.config.max_cluster, device=device)
        return uniform_mask(batch, self.encoder.num_patches, self.num_masked, device=device)

    def _masked_tokens(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Patch embeddings ``[B, N, D]`` with the masked ones replaced by ``mask_embed``."""
        dense = torch.zeros(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
        dense.scatter_(1, mask, True)
        return torch.where(dense[..., None], self.mask_embed.to(tokens.dtype).expand_as(tokens), tokens)

    def _encode_at(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encoder outputs ``[B, N_m, D]`` at the masked positions (the last block computes only
        those when the encoder has ``encode_at``)."""
        encode_at = getattr(self.encoder, "encode_at", None)
        if encode_at is not None:
            return encode_at(tokens, mask)
        out = self.encoder.encode(tokens)[:, self.encoder.num_cls_tokens :]
        return torch.gather(out, 1, mask[..., None].expand(-1, -1, out.shape[-1]))

    def masked_outputs(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Encoder outputs ``[B, N_m, D]`` at the masked positions, masked tokens replaced."""
        return self._encode_at(self._masked_tokens(self.encoder.embed(x), mask), mask)

    def _two_passes(self, x: torch.Tensor, mask_d: torch.Tensor, mask_g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The released code's two forward passes (``mpc`` with ``mask_d``, ``mpg`` with ``mask_g``) in
        one encoder call over ``2B`` clips: the patch embedding, which both passes compute from the
        same input before masking, is computed once; the outputs are those of two separate passes
        (to float32 rounding: the matrix products run over twice the rows)."""
        tokens = self.encoder.embed(x)
        both = torch.cat([self._masked_tokens(tokens, mask_d), self._masked_tokens(tokens, mask_g)])
        out = self._encode_at(both, torch.cat([mask_d, mask_g]))
        return out[: x.shape[0]], out[x.shape[0] :]

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        x = batch["x"]
        targets = self.encoder.unfold(x).detach()
        bsz, device = x.shape[0], x.device
        outputs: StepOutput = {}
        mask_d = self.sample_mask(bsz, device)
        mask_g = self.sample_mask(bsz, device) if self.config.independent_masks else mask_d
        gathered = {}
        if self.disc_head is not None and self.gen_head is not None:
            if self.config.independent_masks:
                gathered["d"], gathered["g"] = self._two_passes(x, mask_d, mask_g)
            else:
                gathered["d"] = gathered["g"] = self.masked_outputs(x, mask_d)
        pick = lambda m: torch.gather(targets, 1, m[..., None].expand(-1, -1, targets.shape[-1]))
        loss_d = loss_g = None
        if self.disc_head is not None:
            out = gathered.get("d")
            out = out if out is not None else self.masked_outputs(x, mask_d)
            loss_d, acc = masked_patch_infonce(self.disc_head(out), pick(mask_d), self.config.nce_variant)
            outputs.update(nce=loss_d.detach(), pretext_accuracy=acc)
        if self.gen_head is not None:
            out = gathered.get("g")
            out = out if out is not None else self.masked_outputs(x, mask_g)
            loss_g = masked_patch_mse(self.gen_head(out), pick(mask_g))
            outputs["mse"] = loss_g.detach()
        if loss_d is not None and loss_g is not None:
            loss = ssast_joint_loss(loss_d, loss_g, self.config.lambda_gen)
        else:
            loss = loss_d if loss_d is not None else loss_g
        outputs["loss"] = loss
        return outputs
