"""The multi-crop view pipeline: presets, per-sample randomness, honest parameters, exact identities."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_vision.views.multicrop import PARAM_NAMES, MultiCrop
from selfsup_vision.views.policies import CropSet, ViewPolicy, preset

_NONE = ViewPolicy(flip_p=0.0, jitter_p=0.0, gray_p=0.0, blur_p=0.0, solarize_p=0.0)
_FULL = dict(scale=(1.0, 1.0), ratio=(1.0, 1.0))


def _images(n: int = 4, side: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, side, side, generator=g) * 2 - 1


def test_dino_preset_gives_two_global_and_eight_local_crops() -> None:
    mc = MultiCrop(preset("dino"))
    assert mc.num_views == 10
    assert mc.sizes(224) == [224, 224] + [96] * 8
    views, _ = mc(_images(2, 32))
    assert [tuple(v.shape[-2:]) for v in views] == [(32, 32)] * 2 + [(14, 14)] * 8


def test_preset_overrides_and_unknown_preset() -> None:
    sets = preset("dino", local_crops=2, local_scale=(0.1, 0.3), global_scale=(0.5, 1.0), blur=False)
    assert [c.count for c in sets] == [1, 1, 2]
    assert sets[2].scale == (0.1, 0.3) and sets[0].scale == (0.5, 1.0)
    assert all(c.policy.blur_p == 0 for c in sets)
    assert MultiCrop(preset("simclr", local_crops=2)).num_views == 4
    with pytest.raises(ConfigError, match="not a view preset"):
        preset("simclr-v9")


def test_identity_policy_with_full_crop_returns_the_input() -> None:
    x = _images()
    views, params = MultiCrop([CropSet(1, 1.0, policy=_NONE, **_FULL)])(x, return_params=True)
    assert torch.allclose(views[0], x, atol=1e-6)
    crop = params[0][:, :4]
    assert crop.tolist() == [[0.0, 0.0, 1.0, 1.0]] * 4


def test_flip_parameter_is_what_was_applied() -> None:
    x = _images(8)
    policy = ViewPolicy(flip_p=0.5, jitter_p=0.0, gray_p=0.0)
    torch.manual_seed(5)
    views, params = MultiCrop([CropSet(1, 1.0, policy=policy, **_FULL)])(x, return_params=True)
    flip = params[0][:, PARAM_NAMES.index("flip")].bool()
    assert 0 < int(flip.sum()) < 8  # per-sample randomness: some flipped, some not
    expected = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    assert torch.allclose(views[0], expected, atol=1e-6)


def test_grayscale_and_solarize_are_exact() -> None:
    x = _images()
    policy = ViewPolicy(flip_p=0.0, jitter_p=0.0, gray_p=1.0, solarize_p=1.0)
    views, params = MultiCrop([CropSet(1, 1.0, policy=policy, **_FULL)])(x, return_params=True)
    unit = (x + 1) / 2
    gray = (0.2989 * unit[:, 0] + 0.587 * unit[:, 1] + 0.114 * unit[:, 2]).unsqueeze(1).expand(-1, 3, -1, -1)
    solarized = torch.where(gray >= 0.5, 1 - gray, gray)
    assert torch.allclose((views[0] + 1) / 2, solarized, atol=1e-3)
    assert params[0][:, PARAM_NAMES.index("gray")].tolist() == [1.0] * 4


def test_each_sample_gets_its_own_crop_within_the_scale() -> None:
    x = _images(1).expand(16, -1, -1, -1)
    torch.manual_seed(0)
    views, params = MultiCrop([CropSet(2, 1.0, (0.2, 0.6), _NONE)])(x, return_params=True)
    boxes = params[0][:, :4]
    assert len({tuple(b.tolist()) for b in boxes}) > 8
    area = boxes[:, 2] * boxes[:, 3]
    assert (area >= 0.2 - 0.08).all() and (area <= 0.6 + 0.08).all()  # integer rounding of h, w at 16 px
    assert not torch.equal(views[0], views[1])


def test_views_follow_the_seed() -> None:
    x = _images()
    mc = MultiCrop(preset("byol"))
    torch.manual_seed(3)
    a, _ = mc(x)
    torch.manual_seed(3)
    b, _ = mc(x)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_colour_jitter_factors_are_recorded_and_within_ranges() -> None:
    policy = ViewPolicy(flip_p=0.0, jitter_p=1.0, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, gray_p=0.0)
    torch.manual_seed(1)
    _, params = MultiCrop([CropSet(1, 1.0, policy=policy, **_FULL)])(_images(16), return_params=True)
    p = params[0]
    b, c, s, h = (p[:, PARAM_NAMES.index(k)] for k in ("brightness", "contrast", "saturation", "hue"))
    assert ((b >= 0.6) & (b <= 1.4)).all() and ((c >= 0.6) & (c <= 1.4)).all()
    assert ((s >= 0.8) & (s <= 1.2)).all() and ((h >= -0.1) & (h <= 0.1)).all()
    assert b.std() > 0.05  # drawn per sample


def test_bad_crop_sets_are_named_errors() -> None:
    with pytest.raises(ConfigError, match="scale"):
        MultiCrop([CropSet(1, 1.0, (0.5, 0.2), _NONE)])
    with pytest.raises(ConfigError, match="count >= 1"):
        MultiCrop([])
