"""T-JEPA: augmentation-free joint-embedding predictive pretraining for tables.

Thimonier, De Melo Costa, Popineau, Rimmel, Doan, "T-JEPA: Augmentation-Free
Self-Supervised Learning for Tabular Data", ICLR 2025 (arXiv 2410.05016);
official code jose-melo/t-jepa @ 98dda99.

One step, for a batch of B rows with d features and R reg tokens:

1. tokens = f.tokens(x) ∈ ℝ^{B×(R+d)×h} (FT-Transformer tokenizer + positions);
2. masks (:mod:`.masks`): one context C (n_ctx features) and M targets T_k
   (n_trg features each, drawn from the non-context features) per row;
3. context encoder: z = f.encode(tokens[C'])  (C' = C plus the reg tokens, see below);
4. target encoder (EMA copy f̄ of f, no gradients) on the FULL row:
   s = f̄.encode(f̄.tokens(x)), targets s[T_k];
5. predictor g (:mod:`.predictor`): ŝ_k = g(z, C', T_k);
6. loss (:func:`selfsup_tabular.losses.jepa_loss.jepa_latent_mse`):
   L = (1/M) Σ_k MSE(ŝ_k, sg(s[T_k]));
   logged beside it (no gradient): ``target_std``, the across-row std of the target encoder's
   tokens averaged over tokens and dimensions (a collapse diagnostic), and ``mean_predictor_loss``
   = mean over the positions a target can take and the dimensions of Var_rows(s), the loss of
   the trivial predictor ŝ = the batch's row mean of each target token. L above it means the
   predictor has not yet learned even each target position's constant: on the bundled Adult
   sample at the default budget L ends near 0.15 against ≈ 0.006 (benchmarks/tabular.md § The
   tabular default command);
7. after the optimiser step: θ̄ ← m·θ̄ + (1 − m)·θ with m rising linearly from
   ``ema_start`` (first step) to ``ema_end`` (last step).

Reg-token indexing (``reg_token_index_mode``). In the released code
(``src/mask.py``, ``src/utils/train_utils.py:apply_masks_from_idx``,
``src/train.py``) mask indices are drawn from [0, d) but gather from the token
sequence that has the R reg tokens *prepended*: index 0 selects a reg token and
the last R features can never be context or target. The paper describes reg
tokens that are always available to the encoder and are never predicted.

* ``"offset"`` (default): feature j sits at token R + j; the context is the R
  reg tokens plus the context features; targets are features only. This is the
  described method, and every feature can be context or target.
* ``"as_released"``: indices in [0, d) address tokens directly, reg tokens are
  not forced into the context (exactly the released behaviour, for comparisons).

Other facts: ``src/train.py`` (target gathered after the full-row forward, MSE,
EMA update ``param_k.mul_(m).add_((1 - m) * param_q)``), ``run.py``
(``target_encoder = copy.deepcopy(context_encoder)``, linear momentum schedule
``ema_start + i·(ema_end − ema_start)/(ipe·epochs·ipe_scale)``),
``src/configs.py`` (defaults), ``scripts/launch_tjepa.sh`` (tuned recipe).

Gradient clamping: the released code clamps the context encoder's gradients elementwise to
[−1, 1] (``exp_gradient_clipping = 1.0``; ``src/encoder.py`` registers ``torch.clamp`` as a hook
on the encoder's parameters), not the predictor's. ``encoder_grad_clip_value`` does the same with
tensor hooks on the context encoder's parameters (the EMA copy has none and gets no gradients).

Target masks: the released collator makes the M target sets of a row identical (see
:mod:`.masks`); ``target_masks="independent"`` (default) draws them independently as the paper
describes, ``"as_released"`` reproduces the released behaviour.

Deviations: the target encoder runs in eval mode (no dropout on targets; the
released one stays in train mode, with dropout ≈ 0.002); the M target sets are independent by
default (above).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch
from selfsup.capabilities import require_capability
from selfsup.engine.ema import ema_update, make_target, momentum_schedule
from selfsup.errors import ConfigError
from selfsup.interfaces import Batch, Objective, StepOutput
from torch import nn

from .._model_utils import require_choice
from ..configs import TJEPAConfig
from ..losses.jepa_loss import jepa_latent_mse
from .masks import JEPAMasks, mask_size_range, sample_jepa_masks, sample_mask_sizes
from .predictor import TransformerPredictor

__all__ = ["TJEPAConfig", "TJEPA", "FeatureTokenEncoder", "token_positions"]

REG_TOKEN_INDEX_MODES = ("offset", "as_released")
TARGET_MASK_MODES = ("independent", "as_released")


class _Clamp:
    """A gradient hook: ``grad.clamp(−v, v)`` (a class, not a lambda, so objectives still pickle)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(-self.value, self.value)
EMA_SCHEDULES = ("linear", "cosine")


def token_positions(
    masks: JEPAMasks, n_reg_tokens: int, mode: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Map feature-index masks to token positions: ``(context [B, N_c], targets [M, B, T])``.

    ``offset``: context = reg tokens 0..R−1 followed by R + context features;
    targets = R + target features. ``as_released``: the feature indices as they are.
    """
    if mode == "as_released" or n_reg_tokens == 0:
        return masks.context, masks.targets
    rows = masks.context.shape[0]
    reg = torch.arange(n_reg_tokens, device=masks.context.device).expand(rows, n_reg_tokens)
    return torch.cat([reg, masks.context + n_reg_tokens], dim=1), masks.targets + n_reg_tokens


@runtime_checkable
class FeatureTokenEncoder(Protocol):
    """What T-JEPA needs of its encoder: one token per feature (after ``n_reg_tokens`` reg tokens)
    and a transformer that encodes any subset of those tokens (:class:`FTTransformer` has it)."""

    n_reg_tokens: int
    num_features: int
    d_token: int

    def tokens(self, batch: Batch) -> torch.Tensor:
        """``[B, n_reg + d, h]`` tokens of a batch (positions added)."""
        ...

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, L', h] -> [B, L', h]`` on any subset of the tokens."""
        ...


def _check_token_encoder(encoder: nn.Module) -> None:
    require_capability(
        encoder, FeatureTokenEncoder, objective="t-jepa",
        fix="T-JEPA masks individual feature tokens. Use encoder='ft-transformer'.",
    )


class TJEPA(Objective):
    """T-JEPA objective (registered as ``t-jepa``); see the module docstring.

    Attributes: ``encoder`` (context encoder, trained), ``target_encoder`` (EMA
    copy, no gradients; the paper's downstream representation), ``predictor``.
    """

    def __init__(self, config: TJEPAConfig, encoder: nn.Module, data_info: Mapping[str, Any]) -> None:
        _check_token_encoder(encoder)
        super().__init__(encoder)
        require_choice("t-jepa", "reg_token_index_mode", config.reg_token_index_mode, REG_TOKEN_INDEX_MODES)
        require_choice("t-jepa", "ema_schedule", config.ema_schedule, EMA_SCHEDULES)
        require_choice("t-jepa", "evaluate", config.evaluate, ("context", "target"))
        require_choice("t-jepa", "target_masks", config.target_masks, TARGET_MASK_MODES)
        clip = config.encoder_grad_clip_value
        if clip is not None and not clip > 0:
            raise ConfigError(f"t-jepa: encoder_grad_clip_value must be > 0 or null, got {clip}; e.g. 1.0.")
        if config.num_target_masks < 1:
            raise ConfigError(f"t-jepa: num_target_masks must be >= 1, got {config.num_target_masks}; e.g. 4.")
        if not 0.0 <= config.ema_start <= config.ema_end <= 1.0:
            raise ConfigError(
                f"t-jepa: need 0 <= ema_start <= ema_end <= 1, got {config.ema_start} and {config.ema_end}; "
                "e.g. ema_start=0.996, ema_end=1.0."
            )
        self.config = config
        self.num_features: int = encoder.num_features
        self.n_reg_tokens: int = encoder.n_reg_tokens
        self.context_range = mask_size_range(
            self.num_features, config.min_context_share, config.max_context_share, what="context"
        )
        self.target_range = mask_size_range(
            self.num_features, config.min_target_share, config.max_target_share, what="target"
        )
        # Fail at construction, not at the first step, when the ranges cannot fit.
        if self.context_range.minimum + self.target_range.minimum > self.num_features:
            raise ConfigError(
                f"t-jepa: the smallest context ({self.context_range.minimum}) and target "
                f"({self.target_range.minimum}) do not fit in {self.num_features} features. "
                "Lower min_context_share or min_target_share."
            )
        self.predictor = TransformerPredictor(
            encoder.d_token,
            self.n_reg_tokens + self.num_features,
            d_predictor=config.predictor_dim,
            n_layers=config.predictor_layers,
            n_heads=config.predictor_heads,
            d_ffn=config.predictor_ffn,
            dropout=config.predictor_dropout,
        )
        self.target_encoder = make_target(encoder)
        self.target_encoder.eval()
        if clip is not None:  # after make_target: the EMA copy gets no hooks
            for parameter in encoder.parameters():
                parameter.register_hook(_Clamp(float(clip)))
        #: The token positions a target can take (``offset``: the features after the reg tokens;
        #: ``as_released``: the first ``d`` tokens).
        self._target_token_positions = (
            slice(0, self.num_features) if config.reg_token_index_mode == "as_released" else slice(self.n_reg_tokens, None)
        )
        #: The momentum of the last EMA update (for inspection; recomputed from the step).
        self.last_momentum: float | None = None

    def train(self, mode: bool = True) -> TJEPA:
        super().train(mode)
        self.target_encoder.eval()  # targets without dropout
        return self

    def evaluation_encoder(self) -> nn.Module:
        """``objective_config.evaluate``: the context encoder, or the EMA target the paper evaluates."""
        return self.target_encoder if self.config.evaluate == "target" else self.encoder

    def sample_masks(self, batch_size: int, device: torch.device) -> JEPAMasks:
        """One batch of masks (sizes from the global CPU RNG, indices on ``device``)."""
        n_context, n_target = sample_mask_sizes(self.num_features, self.context_range, self.target_range)
        return sample_jepa_masks(
            batch_size, self.num_features, n_context, n_target, self.config.num_target_masks, device=device,
            identical_targets=self.config.target_masks == "as_released",
        )

    def training_step(self, batch: Batch, *, step: int, phase: str) -> StepOutput:
        tokens = self.encoder.tokens(batch)  # [B, R + d, h]
        rows = tokens.shape[0]
        masks = self.sample_masks(rows, tokens.device)
        context_positions, target_positions = token_positions(
            masks, self.n_reg_tokens, self.config.reg_token_index_mode
        )
        row_index = torch.arange(rows, device=tokens.device)
        context = self.encoder.encode(tokens[row_index[:, None], context_positions])

        with torch.no_grad():
            full = self.target_encoder.encode(self.target_encoder.tokens(batch))  # [B, L, h]
            num_masks, _, num_targets = target_positions.shape
            targets = full[row_index[None, :, None], target_positions]  # [M, B, T, h]
            targets = targets.reshape(num_masks * rows, num_targets, -1)

        predictions = self.predictor(context, context_positions, target_positions)
        loss = jepa_latent_mse(predictions, targets)
        with torch.no_grad():  # collapse diagnostic: across-row std of every target token, averaged
            # (two-pass population std: 2x faster than Tensor.std(dim=0) across rows on a CPU)
            flat = full.float().reshape(rows, -1)
            variance = (flat - flat.mean(dim=0)).square().mean(dim=0)  # [L·h], across rows
            target_std = variance.sqrt().mean()
            # the loss of the trivial predictor that outputs each token's mean over the rows, on the
            # positions a target can take: a JEPA loss above it has not learned even that constant
            mean_predictor_loss = variance.view(full.shape[1], -1)[self._target_token_positions].mean()
        return {
            "loss": loss,
            "target_std": target_std,
            "mean_predictor_loss": mean_predictor_loss,
            "context_size": loss.new_full((), float(masks.context.shape[1])).detach(),
            "target_size": loss.new_full((), float(num_targets)).detach(),
        }

    def momentum(self, step: int, max_steps: int) -> float:
        """EMA momentum after optimiser step ``step`` (1-based): ``ema_start`` at 1, ``ema_end`` at ``max_steps``."""
        return momentum_schedule(
            step - 1, max_steps - 1, self.config.ema_start, self.config.ema_end, kind=self.config.ema_schedule
        )

    @torch.no_grad()
    def on_step_end(self, *, step: int, max_steps: int) -> None:
        momentum = self.momentum(step, max_steps)
        ema_update(self.target_encoder, self.encoder, momentum)
        self.last_momentum = momentum
