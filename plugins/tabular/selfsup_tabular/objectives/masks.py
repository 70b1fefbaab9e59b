"""T-JEPA context/target masks over the d feature columns of a row.

Sizes — one draw per batch (``src/mask.py``, ``MaskCollator.__call__`` and
``_sample_num_mask`` in jose-melo/t-jepa @ 98dda99):

    n_ctx = min_ctx + round((max_ctx − min_ctx) · U),   U ~ U(0, 1)
    n_trg = min_trg + round((max_trg − min_trg) · U′)
    redraw both until n_ctx + n_trg ≤ d

with min/max = round(d · share). Index sets — per sample (``create_masks``):
one context of n_ctx features (the *kept* features), then M target sets of
n_trg features each drawn from the d − n_ctx non-context features (targets
never overlap the context; they may overlap each other).

Vectorised: a random permutation per row is the argsort of i.i.d. uniform keys;
its first n_ctx entries are the context, and each target set is the first n_trg
entries of an independent permutation of the remaining d − n_ctx features. The
two size draws use the global CPU generator (they decide tensor shapes, so
drawing them on an accelerator would need a host-device sync); the per-row keys
use the global generator of the batch's device.

The released collator's M target sets of a row are identical (it appends views of one index
array that it shuffles in place): ``identical_targets=True`` (``objective_config.target_masks=
as_released``) reproduces that; the default draws them independently, as the paper describes.

Deviations from the released collator: the sizes come from the global RNG, not a
generator seeded by the batch counter (the engine checkpoints the global RNG
states), and degenerate ranges are allowed (the collator asserts
``max > min``), so that tiny tables work: the bounds are clamped to
``1 ≤ min ≤ max ≤ d − 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from selfsup.errors import ConfigError

__all__ = ["MaskSizeRange", "JEPAMasks", "mask_size_range", "sample_mask_sizes", "sample_jepa_masks"]

#: Give up redrawing sizes after this many tries and use the minimum sizes.
_MAX_SIZE_DRAWS = 1000


@dataclass(frozen=True)
class MaskSizeRange:
    """Inclusive bounds on the number of features in a mask."""

    minimum: int
    maximum: int


@dataclass(frozen=True)
class JEPAMasks:
    """Feature indices (in ``[0, d)``) of one batch's masks."""

    #: ``[B, n_ctx]`` kept (context) features per row.
    context: torch.Tensor
    #: ``[M, B, n_trg]`` target features per mask and row.
    targets: torch.Tensor


def mask_size_range(num_features: int, min_share: float, max_share: float, *, what: str) -> MaskSizeRange:
    """``[round(d·min_share), round(d·max_share)]``, clamped to ``1 ≤ min ≤ max ≤ d − 1``."""
    if not 0.0 < min_share <= max_share <= 1.0:
        raise ConfigError(
            f"t-jepa: the {what} share range [{min_share}, {max_share}] must satisfy 0 < min <= max <= 1, "
            f"e.g. min_{what}_share=0.2 and max_{what}_share=0.4."
        )
    if num_features < 2:
        raise ConfigError(
            f"t-jepa needs at least 2 feature columns (one context, one target); the data has {num_features}."
        )
    upper = num_features - 1
    minimum = min(max(round(num_features * min_share), 1), upper)
    maximum = min(max(round(num_features * max_share), minimum), upper)
    return MaskSizeRange(minimum, maximum)


def sample_mask_sizes(num_features: int, context: MaskSizeRange, target: MaskSizeRange) -> tuple[int, int]:
    """One ``(n_ctx, n_trg)`` draw with ``n_ctx + n_trg ≤ d`` (the collator's rejection loop)."""
    if context.minimum + target.minimum > num_features:
        raise ConfigError(
            f"t-jepa: the smallest context ({context.minimum}) and target ({target.minimum}) do not fit "
            f"in {num_features} features together. Lower min_context_share or min_target_share."
        )
    for _ in range(_MAX_SIZE_DRAWS):
        uniforms = torch.rand(2).tolist()  # global CPU generator: no device sync
        n_context = context.minimum + round((context.maximum - context.minimum) * uniforms[0])
        n_target = target.minimum + round((target.maximum - target.minimum) * uniforms[1])
        if n_context + n_target <= num_features:
            return n_context, n_target
    return context.minimum, target.minimum


def sample_jepa_masks(
    batch_size: int,
    num_features: int,
    n_context: int,
    n_target: int,
    num_targets: int,
    *,
    device: torch.device | str,
    identical_targets: bool = False,
) -> JEPAMasks:
    """Per-row context and target index sets, vectorised (see the module docstring).

    ``identical_targets``: the released collator's behaviour — the M target sets of a row are one
    draw repeated (``src/mask.py`` appends views of one index array that it shuffles in place).
    """
    if not (1 <= n_context and 1 <= n_target and n_context + n_target <= num_features):
        raise ValueError(
            f"sample_jepa_masks: need 1 <= n_context, 1 <= n_target and n_context + n_target <= d; got "
            f"n_context={n_context}, n_target={n_target}, d={num_features}"
        )
    permutation = torch.rand(batch_size, num_features, device=device).argsort(dim=1)
    context = permutation[:, :n_context]
    remaining = permutation[:, n_context:]  # [B, d - n_ctx], the non-context features
    draws = 1 if identical_targets else num_targets
    order = torch.rand(draws, batch_size, num_features - n_context, device=device).argsort(dim=2)
    order = order.expand(num_targets, -1, -1)
    targets = remaining.unsqueeze(0).expand(num_targets, -1, -1).gather(2, order[:, :, :n_target])
    return JEPAMasks(context=context, targets=targets)
