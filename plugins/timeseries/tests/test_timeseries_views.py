"""The three frames: Parseval for the orthonormal view, the CWT's shape, scales and wavelet."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from selfsup_timeseries.views import cwt_scales, cwt_view, fourier_view, one_sided_energy


@pytest.mark.parametrize("length", [128, 127, 24])
def test_parseval_holds_for_the_orthonormal_view(length):
    x = torch.randn(4, 3, length, generator=torch.Generator().manual_seed(0))
    spectrum = fourier_view(x)
    assert spectrum.shape == (4, 3, length // 2 + 1) and spectrum.is_complex()
    energy = (x.double() ** 2).sum(-1)
    assert torch.allclose(one_sided_energy(spectrum.to(torch.complex128), length), energy, rtol=1e-5)
    # a non-orthonormal transform (torch's default "backward" norm) breaks it by a factor N
    unnormalised = torch.fft.rfft(x, dim=-1)
    assert one_sided_energy(unnormalised, length)[0, 0] == pytest.approx(length * energy[0, 0].item(), rel=1e-4)


def test_parseval_by_hand_on_a_constant_and_an_alternating_series():
    # x = 1 (N = 4): X_0 = sum/sqrt(N) = 2, every other bin 0; ||x||^2 = 4 = |X_0|^2
    ones = fourier_view(torch.ones(1, 1, 4))
    assert ones[0, 0, 0].real.item() == pytest.approx(2.0) and ones[0, 0, 1:].abs().max().item() < 1e-6
    # x = (1, -1, 1, -1): all energy at Nyquist, X_2 = 4 / 2 = 2, counted once
    alternating = fourier_view(torch.tensor([[[1.0, -1.0, 1.0, -1.0]]]))
    assert alternating[0, 0, 2].real.item() == pytest.approx(2.0)
    assert one_sided_energy(alternating, 4).item() == pytest.approx(4.0)


def test_cwt_has_the_official_scales_and_shape():
    scales = cwt_scales()
    assert len(scales) == 48 and scales[0] == pytest.approx(1.0) and scales[-1] == pytest.approx(128.0)
    assert scales[1] / scales[0] == pytest.approx(128 ** (1 / 47))  # log-spaced
    x = torch.randn(2, 3, 100)
    view = cwt_view(x)
    assert view.shape == (2, 3, 48, 100) and view.dtype == torch.float32 and (view >= 0).all()


def test_cwt_is_the_pywavelets_cmor1_1_magnitude_and_peaks_at_the_right_scale():
    import pywt

    t = np.arange(200) / 25.0
    x = np.sin(2 * math.pi * 2.0 * t)  # 2 Hz at 25 Hz
    view = cwt_view(torch.tensor(x, dtype=torch.float32)[None, None])[0, 0]
    reference, freqs = pywt.cwt(x, cwt_scales(), "cmor1-1", sampling_period=1 / 25)
    assert np.allclose(view.numpy(), np.abs(reference), atol=1e-5)
    # the scale whose centre frequency is 2 Hz carries the most energy in the middle of the series
    peak = int(view[:, 80:120].mean(dim=1).argmax())
    assert abs(freqs[peak] - 2.0) < 0.3
