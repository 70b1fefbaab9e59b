"""Golden values of MSM's multi-level masked cosine loss, and that it reads only the masked rows."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ComponentError
from selfsup_pointcloud.losses.msm import masked_cosine_loss, msm_loss


def test_golden_values_by_hand() -> None:
    # level 0: rows 0, 1 masked: distances 1 - 1 = 0 and 1 - 0 = 1 -> 0.5 (row 2 ignored)
    # level 1: cos((3, 4), (4, 3)) = 24 / 25 -> 0.04
    # level 2: nothing masked -> excluded from the mean
    predictions = [
        torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        torch.tensor([[3.0, 4.0]]),
        torch.tensor([[1.0, 2.0, 3.0]]),
    ]
    targets = [torch.tensor([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0]]), torch.tensor([[4.0, 3.0]]), torch.tensor([[-1.0, 0.0, 0.0]])]
    masks = [torch.tensor([True, True, False]), torch.tensor([True]), torch.tensor([False])]
    loss, per_level = msm_loss(predictions, targets, masks)
    torch.testing.assert_close(per_level, torch.tensor([0.5, 0.04, 0.0]))
    torch.testing.assert_close(loss, torch.tensor(0.27))


def test_no_masked_voxel_gives_zero() -> None:
    loss, _ = msm_loss([torch.ones(3, 2)], [torch.ones(3, 2)], [torch.zeros(3, dtype=torch.bool)])
    assert loss == 0.0


def test_loss_reads_exactly_the_masked_rows_and_stops_target_gradients() -> None:
    g = torch.Generator().manual_seed(0)
    prediction = torch.randn(50, 8, generator=g, requires_grad=True)
    target = torch.randn(50, 8, generator=g, requires_grad=True)
    mask = torch.rand(50, generator=g) < 0.4
    value, count = masked_cosine_loss(prediction, target, mask)
    value.backward()
    assert count == mask.sum()
    rows_with_grad = prediction.grad.abs().sum(1) > 0
    assert torch.equal(rows_with_grad, mask)
    assert target.grad is None
    # changing unmasked rows changes nothing; changing a masked row does
    changed = prediction.detach().clone()
    changed[~mask] = torch.randn(int((~mask).sum()), 8, generator=g)
    assert torch.equal(masked_cosine_loss(changed, target, mask)[0], value.detach())
    changed[mask.nonzero()[0]] += 5.0
    assert not torch.equal(masked_cosine_loss(changed, target, mask)[0], value.detach())


def test_shape_mismatch_is_a_named_error() -> None:
    with pytest.raises(ComponentError, match="one target"):
        msm_loss([torch.ones(3, 2)], [torch.ones(2, 2)], [torch.ones(3, dtype=torch.bool)])
    with pytest.raises(ComponentError, match="one of each"):
        msm_loss([], [], [])
