"""Batch Styles Standardization (Scalbert et al., ICLR 2024, arXiv 2303.06088) as a view-batch transform.

For one view batch ``x`` ``[B, C, H, W]`` pick one reference image ``r`` (uniformly at random).
With ``F = FFT2(x)`` per channel, amplitude ``A = |F|`` and phase ``P = arg F``, and a
low-frequency band ``M`` (the frequencies with ``|f_h|, |f_w| ≤ ratio / 2`` cycles per pixel —
a centred square covering ``ratio`` of each axis' spectrum, FDA/FACT-style),

    Â_i = A_i · (1 − M) + M · ((1 − λ)·A_i + λ·A_r),      x̂_i = IFFT2(Â_i · e^{i·P_i})

so every image keeps its own phase (its content) and takes the reference's low-frequency
amplitude (its "style"): all images of the batch then share one style. The band is symmetric
under f → −f and a real image's amplitude is Hermitian-symmetric, so ``x̂`` is real (the
imaginary part of the inverse FFT is round-off, dropped). ``ratio = 0`` or ``λ = 0`` returns
``x`` up to the FFT round trip. Defaults (``ratio`` 0.1, ``λ`` 1) are this implementation's:
the paper's exact band parameterisation is unverified here (its official code is on GitLab,
not reachable from this project), so treat them as settings to tune.
"""

from __future__ import annotations

from typing import Optional

import torch

__all__ = ["batch_styles_standardization", "low_frequency_band"]


def low_frequency_band(height: int, width: int, ratio: float, *, device: torch.device | None = None) -> torch.Tensor:
    """Boolean ``[H, W]`` mask of the frequencies (in ``torch.fft.fftfreq`` order) with
    ``|f_h| ≤ ratio/2`` and ``|f_w| ≤ ratio/2`` (empty for ``ratio = 0``; any ``ratio > 0`` holds the mean)."""
    if ratio <= 0:
        return torch.zeros(height, width, dtype=torch.bool, device=device)
    fh = torch.fft.fftfreq(height, device=device).abs()
    fw = torch.fft.fftfreq(width, device=device).abs()
    half = ratio / 2.0 + 1e-9
    return (fh[:, None] <= half) & (fw[None, :] <= half)


def batch_styles_standardization(
    x: torch.Tensor, *, ratio: float = 0.1, strength: float = 1.0, reference: Optional[int] = None
) -> torch.Tensor:
    if x.ndim != 4:
        raise ValueError(f"batch_styles_standardization: expected [B, C, H, W], got {tuple(x.shape)}")
    if not 0.0 <= ratio <= 1.0 or not 0.0 <= strength <= 1.0:
        raise ValueError(f"batch_styles_standardization: ratio={ratio}, strength={strength}; both must be in [0, 1]")
    if reference is None:
        reference = int(torch.randint(x.shape[0], ()))
    spectrum = torch.fft.fft2(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x)
    amplitude, phase = spectrum.abs(), spectrum.angle()
    band = low_frequency_band(x.shape[-2], x.shape[-1], ratio, device=x.device).to(amplitude.dtype)
    mixed = (1.0 - strength) * amplitude + strength * amplitude[reference : reference + 1]
    new_amplitude = amplitude * (1.0 - band) + mixed * band
    return torch.fft.ifft2(torch.polar(new_amplitude, phase)).real.to(x.dtype)
