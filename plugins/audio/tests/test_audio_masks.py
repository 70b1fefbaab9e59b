"""SSAST masking: counts, no duplicates, index 0 never masked, C×C clusters, uniform frame masks."""

from __future__ import annotations

import pytest
import torch

from selfsup_audio.objectives.masks import cluster_mask, uniform_mask


def _reference(grid, num_masked, cluster_size, starts):
    """SSAST's gen_maskid_patch with given C and start sequence (src/models/ast_models.py)."""
    n = grid[0] * grid[1]
    ids = []
    it = iter(starts)
    while len(set(ids)) <= num_masked:
        s = next(it)
        ids += [s + grid[1] * i + j for i in range(cluster_size) for j in range(cluster_size) if 0 < s + grid[1] * i + j < n]
    return sorted(set(ids))[:num_masked]  # list(set(.)) of small ints iterates in ascending order


@pytest.mark.parametrize("grid,num_masked", [((8, 8), 50), ((8, 64), 400), ((8, 16), 100), ((4, 4), 10)])
def test_cluster_masks_have_the_requested_count_without_duplicates(grid, num_masked):
    torch.manual_seed(0)
    mask = cluster_mask(16, grid, num_masked)
    assert mask.shape == (16, num_masked)
    n = grid[0] * grid[1]
    for row in mask.tolist():
        assert len(set(row)) == num_masked and 0 not in row and max(row) < n
        assert row == sorted(row)


def test_cluster_mask_matches_the_reference_algorithm():
    # reproduce the RNG stream: C first, then the starts
    torch.manual_seed(3)
    grid, num_masked = (8, 16), 60
    mask = cluster_mask(1, grid, num_masked)
    torch.manual_seed(3)
    size = int(torch.randint(3, 6, (1,)))
    draws = max(16, 4 * num_masked // 9 + 16)
    starts = torch.randint(0, 128, (1, draws))[0].tolist()
    assert mask[0].tolist() == _reference(grid, num_masked, size, starts)


def _reference_stopping_when_reached(grid, num_masked, cluster_size, starts):
    """The wrong loop (``while len(set(ids)) < N_m``): stops as soon as the union *reaches* N_m."""
    n, ids = grid[0] * grid[1], []
    it = iter(starts)
    while len(set(ids)) < num_masked:
        s = next(it)
        ids += [s + grid[1] * i + j for i in range(cluster_size) for j in range(cluster_size) if 0 < s + grid[1] * i + j < n]
    return sorted(set(ids))[:num_masked]


@pytest.mark.parametrize("grid,num_masked", [((8, 8), 50), ((4, 8), 19), ((8, 16), 60)])
def test_cluster_masks_of_a_batch_match_the_reference_where_the_union_reaches_exactly_n_m(grid, num_masked):
    """Every clip of a batch against the loop reference, on a stream where some clips' unions reach
    exactly N_m: the released loop (``while len(set(ids)) <= N_m``) then draws one more cluster and
    keeps the N_m smallest indices of the larger union (kills ``cluster-mask-unsorted-first-draw``,
    which stops at that draw; the assert on ``differs`` shows the stream tells the two apart)."""
    batch, n = 256, grid[0] * grid[1]
    torch.manual_seed(5)
    mask = cluster_mask(batch, grid, num_masked)
    torch.manual_seed(5)  # the same stream: C per clip first, then the starts
    sizes = torch.randint(3, 6, (batch,)).tolist()
    draws = max(16, 4 * num_masked // 9 + 16)
    starts = torch.randint(0, n, (batch, draws)).tolist()
    expected = [_reference(grid, num_masked, sizes[b], starts[b]) for b in range(batch)]
    differs = [b for b in range(batch) if expected[b] != _reference_stopping_when_reached(grid, num_masked, sizes[b], starts[b])]
    assert differs, "the stream must contain a clip where stopping at exactly N_m changes the mask"
    assert mask.tolist() == expected


def test_small_cluster_masks_form_blocks():
    torch.manual_seed(0)
    mask = cluster_mask(1, (8, 8), 8, min_cluster=3, max_cluster=3)[0]  # one 3x3 block (minus overflow)
    dense = torch.zeros(64, dtype=torch.bool)
    dense[mask] = True
    rows = dense.view(8, 8).nonzero()
    assert (rows[:, 0].max() - rows[:, 0].min()) <= 5  # at most two 3-row blocks


def test_uniform_mask():
    torch.manual_seed(0)
    mask = uniform_mask(32, 64, 40)
    assert mask.shape == (32, 40)
    assert all(len(set(r)) == 40 for r in mask.tolist())
    counts = torch.bincount(mask.flatten(), minlength=64).float()
    assert counts.min() > 0  # every position gets masked sometimes (index 0 included)
