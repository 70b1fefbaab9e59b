"""The three views of frame projections, with no augmentation (Demirel & Holz, NeurIPS 2025).

* time domain: the series itself, ``[B, C, T]``;
* orthonormal basis: ``torch.fft.rfft(x, norm="ortho")`` over time, complex ``[B, C, T//2 + 1]``
  (``eth-siplab/Learning-with-FrameProjections:utils.py:FourierTransform.compute_FT``).
  With ``norm="ortho"`` the full DFT is unitary, so for an even length N Parseval reads
  ``‖x‖² = |X₀|² + 2·Σ_{k=1}^{N/2−1}|X_k|² + |X_{N/2}|²`` on the one-sided spectrum;
* overcomplete frame: ``|pywt.cwt(x, scales, 'cmor1-1')|`` with 48 log-spaced scales from 1 to 128
  (``utils.py:WaveletTransform``, ``np.geomspace(1, 128, num=48)``), ``[B, C, S, T]``.

The official code precomputes both transforms offline in its data loaders; here they are computed
per batch from the same input with the same library (PyWavelets), so the numbers are the same.
Deviation: ``method="fft"`` (pywt's FFT convolution) instead of the default direct convolution —
the same coefficients to 1e-12 relative, several times faster on long series.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["fourier_view", "cwt_scales", "cwt_view", "one_sided_energy"]


def fourier_view(x: torch.Tensor) -> torch.Tensor:
    """The orthonormal one-sided spectrum of ``x`` (``[..., T]`` → complex ``[..., T//2 + 1]``)."""
    return torch.fft.rfft(x.to(torch.float32), dim=-1, norm="ortho")


def one_sided_energy(spectrum: torch.Tensor, length: int) -> torch.Tensor:
    """‖x‖² recovered from the one-sided orthonormal spectrum (Parseval), per series."""
    power = spectrum.abs() ** 2
    weights = torch.full(power.shape[-1:], 2.0, dtype=power.dtype, device=power.device)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    return (power * weights).sum(dim=-1)


def cwt_scales(num_scales: int = 48, min_scale: float = 1.0, max_scale: float = 128.0) -> np.ndarray:
    """The official scales: ``np.geomspace(min_scale, max_scale, num=num_scales)``."""
    return np.geomspace(min_scale, max_scale, num=num_scales)


def cwt_view(
    x: torch.Tensor,
    *,
    wavelet: str = "cmor1-1",
    scales: np.ndarray | None = None,
    sampling_rate: float = 25.0,
) -> torch.Tensor:
    """``|CWT|`` of every channel: ``[B, C, T]`` → float32 ``[B, C, S, T]`` (S scales)."""
    import pywt

    if scales is None:
        scales = cwt_scales()
    signal = x.detach().to("cpu", torch.float64).numpy()
    coefficients, _ = pywt.cwt(signal, scales, wavelet, sampling_period=1.0 / sampling_rate, method="fft", axis=-1)
    # pywt puts the scales first: [S, B, C, T] -> [B, C, S, T]
    magnitude = np.abs(coefficients).transpose(1, 2, 0, 3)
    return torch.from_numpy(np.ascontiguousarray(magnitude, dtype=np.float32)).to(x.device)
