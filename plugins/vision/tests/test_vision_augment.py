"""DiffAugment with parameters: each op inverted from its returned ω (the round trip)."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_vision.augment.diffaugment import (
    AugmentStrengths,
    brightness,
    contrast,
    cutout,
    diff_augment,
    parse_policies,
    saturation,
    translation,
)


def _images(n=16, c=3, side=8, seed=0):
    return torch.rand(n, c, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_colour_parameters_round_trip():
    torch.manual_seed(0)
    x = _images()
    y, r = brightness(x, 1.0)
    recovered = (y - x).mean(dim=(1, 2, 3)) / 1.0 + 0.5
    torch.testing.assert_close(recovered, r[:, 0])
    # saturation: (y − x̄_c) = (x − x̄_c)·((2r − 1)s + 1) -> r from the ratio
    y, r = saturation(x, 1.0)
    mean = x.mean(dim=1, keepdim=True)
    factor = ((y - mean) * (x - mean)).sum(dim=(1, 2, 3)) / (x - mean).pow(2).sum(dim=(1, 2, 3))
    torch.testing.assert_close((factor - 1.0) / 2.0 + 0.5, r[:, 0])
    y, r = contrast(x, 1.0)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    factor = ((y - mean) * (x - mean)).sum(dim=(1, 2, 3)) / (x - mean).pow(2).sum(dim=(1, 2, 3))
    torch.testing.assert_close(factor - 1.0 + 0.5, r[:, 0])


def test_colour_policy_with_identity_saturation_and_contrast_recovers_brightness():
    torch.manual_seed(1)
    x = _images()
    y, omegas = diff_augment(x, ("color",), AugmentStrengths(brightness=0.7, saturation=0.0, contrast=0.0))
    assert omegas["color"].shape == (16, 3)
    torch.testing.assert_close((y - x).mean(dim=(1, 2, 3)) / 0.7 + 0.5, omegas["color"][:, 0])


def test_translation_round_trip_on_8x8_is_one_pixel():
    torch.manual_seed(2)
    x = torch.zeros(64, 1, 8, 8)
    x[:, 0, 4, 3] = 1.0  # one marked pixel, away from the border
    y, omega = translation(x, 0.125)  # S = round(8·0.125) = 1
    assert ((omega >= 0) & (omega <= 1)).all() and omega.shape == (64, 2)
    shift = ((omega - 0.5) * 2 * 1).round().long()  # the inverse map ω -> t
    assert set(shift.flatten().tolist()) <= {-1, 0, 1} and len(set(shift.flatten().tolist())) == 3
    torch.testing.assert_close(shift.float() / 1 / 2 + 0.5, omega)  # exact round trip
    # out[i, j] = x[i + t_h, j + t_w]: the marker moves to (4 − t_h, 3 − t_w)
    where = y[:, 0].flatten(1).argmax(dim=1)
    assert torch.equal(where // 8, 4 - shift[:, 0]) and torch.equal(where % 8, 3 - shift[:, 1])
    assert torch.equal(y.sum(dim=(1, 2, 3)), torch.ones(64))  # a shift by ≤ 1 keeps the marker


def test_translation_fills_zeros_and_is_differentiable():
    torch.manual_seed(3)
    x = _images(n=32).requires_grad_(True)
    y, omega = translation(x, 0.25)  # S = 2
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    shifted = (omega - 0.5).abs() > 1e-6
    rows_shifted = shifted[:, 0]
    # a shifted image has a zero border row (the fill) on one side
    border = torch.stack([y[:, :, 0].abs().sum(dim=(1, 2)), y[:, :, -1].abs().sum(dim=(1, 2))], 1).min(1).values
    assert (border[rows_shifted] == 0).all()


def test_cutout_round_trip_is_a_4x4_square_on_8x8():
    torch.manual_seed(4)
    x = torch.ones(200, 1, 8, 8)
    y, omega = cutout(x, 0.5)  # k = 4, offsets o ∈ {0..8}, ω = o/8
    assert ((omega >= 0) & (omega <= 1)).all()
    offsets = (omega * 8).round().long()
    torch.testing.assert_close(offsets.float() / 8, omega)
    zeros = y[:, 0] == 0
    for i in range(200):  # rebuild the square from ω and compare (clipped at the border)
        top, left = int(offsets[i, 0]) - 2, int(offsets[i, 1]) - 2
        expected = torch.zeros(8, 8, dtype=torch.bool)
        expected[max(top, 0) : max(top + 4, 0), max(left, 0) : max(left + 4, 0)] = True
        assert torch.equal(zeros[i], expected), i
    inside = (offsets >= 2) & (offsets <= 6)
    full = inside.all(dim=1)
    assert full.any() and (zeros[full].sum(dim=(1, 2)) == 16).all()


def test_policies_order_dims_and_errors():
    torch.manual_seed(5)
    x = _images()
    y, omegas = diff_augment(x, parse_policies("color,translation,cutout"))
    assert list(omegas) == ["color", "translation", "cutout"]
    assert [v.shape[1] for v in omegas.values()] == [3, 2, 2]
    assert all(((v >= 0) & (v <= 1)).all() for v in omegas.values()) and y.shape == x.shape
    plus = AugmentStrengths(translation=0.25, cutout=0.75)
    y_plus, omegas_plus = diff_augment(torch.ones(64, 1, 16, 16), ("cutout",), plus)
    assert (y_plus == 0).sum(dim=(1, 2, 3)).max() == 12 * 12  # AugSelf+ cutout: a 12×12 square on 16×16
    with pytest.raises(ConfigError, match="unknown augmentation"):
        parse_policies("color,rotate")
    with pytest.raises(ConfigError, match="repeats"):
        parse_policies("color,color")
