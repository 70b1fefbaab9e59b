"""T-JEPA masks: sizes, disjointness, and reg-token handling in both index modes."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_tabular.objectives.masks import (
    MaskSizeRange,
    mask_size_range,
    sample_jepa_masks,
    sample_mask_sizes,
)
from selfsup_tabular.objectives.t_jepa import token_positions


def _draw(num_features: int, context: MaskSizeRange, target: MaskSizeRange, rows: int = 64, masks: int = 4):
    n_context, n_target = sample_mask_sizes(num_features, context, target)
    return sample_jepa_masks(rows, num_features, n_context, n_target, masks, device="cpu")


def test_mask_size_range_rounds_shares() -> None:
    # Adult: d = 14, shares [0.2, 0.4] → [round(2.8), round(5.6)] = [3, 6].
    assert mask_size_range(14, 0.2, 0.4, what="context") == MaskSizeRange(3, 6)


def test_mask_size_range_clamps_tiny_tables() -> None:
    assert mask_size_range(3, 0.1, 0.2, what="context") == MaskSizeRange(1, 1)
    assert mask_size_range(4, 0.5, 1.0, what="target") == MaskSizeRange(2, 3)


@pytest.mark.parametrize("shares", [(0.0, 0.4), (0.5, 0.4), (0.2, 1.5)])
def test_mask_size_range_rejects_bad_shares(shares: tuple[float, float]) -> None:
    with pytest.raises(ConfigError, match="share range"):
        mask_size_range(10, *shares, what="context")


def test_mask_size_range_needs_two_features() -> None:
    with pytest.raises(ConfigError, match="at least 2 feature"):
        mask_size_range(1, 0.2, 0.4, what="context")


def test_sample_mask_sizes_rejects_ranges_that_cannot_fit() -> None:
    with pytest.raises(ConfigError, match="do not fit"):
        sample_mask_sizes(4, MaskSizeRange(3, 3), MaskSizeRange(2, 3))


@pytest.mark.parametrize("num_features", [2, 5, 14, 30])
def test_masks_are_disjoint_and_within_ranges(num_features: int) -> None:
    torch.manual_seed(0)
    context_range = mask_size_range(num_features, 0.136, 0.368, what="context")
    target_range = mask_size_range(num_features, 0.156, 0.622, what="target")
    sizes = set()
    for _ in range(50):
        masks = _draw(num_features, context_range, target_range)
        rows, n_context = masks.context.shape
        num_masks, rows_t, n_target = masks.targets.shape
        assert rows == rows_t == 64 and num_masks == 4
        assert context_range.minimum <= n_context <= context_range.maximum
        assert target_range.minimum <= n_target <= target_range.maximum
        assert n_context + n_target <= num_features
        sizes.add((n_context, n_target))
        # Indices are valid features and distinct within each set.
        assert masks.context.min() >= 0 and masks.context.max() < num_features
        assert masks.targets.min() >= 0 and masks.targets.max() < num_features
        assert torch.all(masks.context.sort(dim=1).values.diff(dim=1) > 0)
        assert torch.all(masks.targets.sort(dim=2).values.diff(dim=2) > 0)
        # Context disjoint from every target: targets only come from non-context features.
        in_context = torch.zeros(rows, num_features, dtype=torch.bool).scatter_(1, masks.context, True)
        for target in masks.targets:
            assert not in_context.gather(1, target).any()
    if context_range.maximum > context_range.minimum or target_range.maximum > target_range.minimum:
        assert len(sizes) > 1  # one size draw per batch, varying across batches


def test_masks_differ_across_rows() -> None:
    torch.manual_seed(1)
    masks = sample_jepa_masks(32, 20, 5, 4, 4, device="cpu")
    assert len({tuple(row.sort().values.tolist()) for row in masks.context}) > 1


def test_mask_sampling_follows_global_rng() -> None:
    context_range, target_range = MaskSizeRange(2, 5), MaskSizeRange(2, 5)
    torch.manual_seed(7)
    first = _draw(12, context_range, target_range)
    torch.manual_seed(7)
    second = _draw(12, context_range, target_range)
    assert torch.equal(first.context, second.context) and torch.equal(first.targets, second.targets)


def test_offset_mode_keeps_reg_tokens_in_context_and_out_of_targets() -> None:
    torch.manual_seed(0)
    num_features, n_reg = 6, 2
    seen_targets: set[int] = set()
    for _ in range(200):
        masks = _draw(num_features, MaskSizeRange(1, 3), MaskSizeRange(1, 3), rows=16)
        context, targets = token_positions(masks, n_reg, "offset")
        assert torch.equal(context[:, :n_reg], torch.arange(n_reg).expand(16, n_reg))
        assert context[:, n_reg:].min() >= n_reg and context.max() < n_reg + num_features
        assert targets.min() >= n_reg and targets.max() < n_reg + num_features
        seen_targets.update(targets.unique().tolist())
    # Every feature token (including the last n_reg features) can be a target.
    assert seen_targets == set(range(n_reg, n_reg + num_features))


def test_as_released_mode_reproduces_the_index_quirk() -> None:
    torch.manual_seed(0)
    num_features, n_reg = 6, 2
    seen_context: set[int] = set()
    seen_targets: set[int] = set()
    for _ in range(200):
        masks = _draw(num_features, MaskSizeRange(1, 3), MaskSizeRange(1, 3), rows=16)
        context, targets = token_positions(masks, n_reg, "as_released")
        assert torch.equal(context, masks.context) and torch.equal(targets, masks.targets)
        seen_context.update(context.unique().tolist())
        seen_targets.update(targets.unique().tolist())
    # Index 0 is a reg token; the last n_reg feature tokens (6, 7) are never used.
    assert 0 in seen_targets and 0 in seen_context
    assert seen_context | seen_targets == set(range(num_features))


def test_offset_mode_without_reg_tokens_is_identity() -> None:
    masks = sample_jepa_masks(4, 5, 2, 2, 3, device="cpu")
    context, targets = token_positions(masks, 0, "offset")
    assert torch.equal(context, masks.context) and torch.equal(targets, masks.targets)
