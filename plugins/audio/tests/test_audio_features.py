"""The vectorised SSAST features match torchaudio's Kaldi fbank; normalisation and stats."""

from __future__ import annotations

import math

import pytest
import torch
import torchaudio.functional as AF
from torchaudio.compliance import kaldi

from selfsup_audio.configs import AUDIOSET_MEAN, AUDIOSET_STD
from selfsup_audio.datasets.features import (
    clip_features,
    kaldi_fbank_batch,
    norm_stats,
    normalise,
    num_fbank_frames,
)
from selfsup_audio.datasets.io import read_audio

from selfsup_audio_fixtures import FSDD_DIR, needs_fsdd


def ssast_fbank(waveform: torch.Tensor, rate: int, target_length: int) -> torch.Tensor:
    """SSAST's ``_wav2fbank`` (src/dataloader.py) for one clip, without the normalisation."""
    waveform = waveform[None] - waveform.mean()
    fbank = kaldi.fbank(waveform, htk_compat=True, sample_frequency=rate, use_energy=False,
                        window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10)
    p = target_length - fbank.shape[0]
    return torch.nn.ZeroPad2d((0, 0, 0, p))(fbank) if p > 0 else fbank[:target_length]


@needs_fsdd
def test_fbank_matches_kaldi_on_a_real_fsdd_clip():
    wave, rate = read_audio(FSDD_DIR / "3_jackson_7.wav")
    assert rate == 8000
    wave16 = AF.resample(wave[None], 8000, 16000)[0]
    expected = ssast_fbank(wave16, 16000, 128)
    ours, frames = clip_features([wave], [8000], target_length=128)
    assert frames[0] == num_fbank_frames(wave16.numel())
    torch.testing.assert_close(ours[0], expected, atol=1e-4, rtol=1e-5)


def test_batched_fbank_equals_per_clip_fbank():
    g = torch.Generator().manual_seed(0)
    waves = [torch.randn(n, generator=g) * 0.1 for n in (3000, 16000, 9000, 399)]
    ours, frames = clip_features(waves, [16000] * 4, target_length=64)
    for i, w in enumerate(waves):
        if w.numel() < 400:
            assert frames[i] == 0 and ours[i].abs().max() == 0
            continue
        torch.testing.assert_close(ours[i], ssast_fbank(w, 16000, 64), atol=1e-4, rtol=1e-5)


def test_frames_past_the_clip_are_zero_and_cut_to_target():
    wave = torch.randn(1, 16000)
    fbank, frames = kaldi_fbank_batch(wave, torch.tensor([4000]), target_length=50)
    assert fbank.shape == (1, 50, 128) and frames.item() == 1 + (4000 - 400) // 160
    assert fbank[0, frames.item():].abs().max() == 0 and fbank[0, : frames.item()].abs().min() > 0
    cut, _ = kaldi_fbank_batch(wave, torch.tensor([16000]), target_length=10)
    assert cut.shape == (1, 10, 128)


def test_normalise_divides_by_twice_the_std():
    x = torch.tensor([AUDIOSET_MEAN, AUDIOSET_MEAN + 2 * AUDIOSET_STD])
    torch.testing.assert_close(normalise(x, AUDIOSET_MEAN, AUDIOSET_STD), torch.tensor([0.0, 1.0]))


def test_norm_stats_give_std_one_half_after_normalising():
    x = torch.randn(20, 30, 8) * 3 - 5
    mean, std = norm_stats(x)
    assert math.isclose(mean, float(x.double().mean()), rel_tol=1e-9)
    y = normalise(x, mean, std)
    assert abs(float(y.mean())) < 1e-5 and float(y.std()) == pytest.approx(0.5, rel=1e-4)
