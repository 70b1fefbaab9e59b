"""Batch Styles Standardization: the research notes' Fourier properties and its use as a view transform."""

from __future__ import annotations

import pytest
import torch

from selfsup.errors import ConfigError
from selfsup_vision.backbone_configs import ResNetConfig
from selfsup_vision.encoders.backbones import build_resnet18
from selfsup_vision.objectives.simclr import SimCLR
from selfsup_vision.ssl_configs import SimCLRConfig
from selfsup_vision.views.bss import batch_styles_standardization, low_frequency_band


def _x() -> torch.Tensor:
    return torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1


def test_fft_round_trip_is_exact_without_a_band_or_strength() -> None:
    x = _x()
    assert torch.allclose(batch_styles_standardization(x, ratio=0.0, reference=1), x, atol=1e-12)
    assert torch.allclose(batch_styles_standardization(x, ratio=0.5, strength=0.0, reference=1), x, atol=1e-12)


def test_full_strength_gives_the_reference_amplitude_in_the_band_and_keeps_phases() -> None:
    x = _x()
    out = batch_styles_standardization(x, ratio=0.5, strength=1.0, reference=2)
    f_in, f_out = torch.fft.fft2(x), torch.fft.fft2(out)
    band = low_frequency_band(16, 16, 0.5)
    assert torch.allclose(f_out.abs()[..., band], f_in.abs()[2:3][..., band].expand(5, -1, -1), atol=1e-9)
    assert torch.allclose(f_out[..., ~band], f_in[..., ~band], atol=1e-9)  # outside the band: unchanged
    unit_in = f_in / f_in.abs().clamp_min(1e-12)
    unit_out = f_out / f_out.abs().clamp_min(1e-12)
    assert torch.allclose(unit_out, unit_in, atol=1e-9)  # every image keeps its own phase
    assert torch.allclose(out[2], x[2], atol=1e-12)  # the reference is unchanged
    assert not torch.allclose(out[0], x[0], atol=1e-3)


def test_output_is_real_and_band_is_symmetric() -> None:
    band = low_frequency_band(16, 16, 0.5)
    flipped = torch.roll(torch.flip(band, dims=(0, 1)), shifts=(1, 1), dims=(0, 1))  # f -> -f
    assert torch.equal(band, flipped)
    x = _x()
    f = torch.fft.fft2(x)
    spectrum = torch.polar(f.abs() * 0 + f.abs()[1:2], f.angle())
    imag = torch.fft.ifft2(spectrum * band + f * ~band).imag
    assert imag.abs().max() < 1e-12


def test_half_strength_mixes_amplitudes_linearly() -> None:
    x = _x()
    out = batch_styles_standardization(x, ratio=1.0, strength=0.5, reference=0)
    a_in, a_out = torch.fft.fft2(x).abs(), torch.fft.fft2(out).abs()
    assert torch.allclose(a_out, 0.5 * a_in + 0.5 * a_in[0:1], atol=1e-9)


def test_bss_as_a_view_transform_standardises_each_view_batch() -> None:
    info = {"channels": 3, "height": 16, "width": 16}
    torch.manual_seed(0)
    obj = SimCLR(SimCLRConfig(view_transform="bss", bss_ratio=1.0), build_resnet18(ResNetConfig(), info), info)
    views = obj.make_views({"x": torch.rand(4, 3, 16, 16) * 2 - 1})
    for v in views:  # ratio 1, λ 1: all images of a view batch share one amplitude spectrum
        a = torch.fft.fft2(v.double()).abs()
        assert torch.allclose(a, a[:1].expand_as(a), atol=1e-3)
    with pytest.raises(ConfigError, match="view_transform"):
        SimCLR(SimCLRConfig(view_transform="fda"), build_resnet18(ResNetConfig(), info), info)
