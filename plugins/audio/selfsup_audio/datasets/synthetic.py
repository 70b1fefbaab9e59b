"""Generated sounds of several classes: the embedded default dataset (needs no files).

Each clip is ``duration`` seconds at 16 kHz: one sound event with a random onset, length,
level and class-specific structure, over white background noise. ``preset`` picks the classes.

``preset="contours"`` (default, :data:`CONTOURS`): four pairs of classes, each class of a pair
the *time reversal* of the other. Every event is a harmonic tone (random pitch range, number of
harmonics and spectral tilt, so the timbre and register say nothing about the class) whose
pitch or loudness follows a class-specific contour:

0. ``rise``: the pitch glides up over 1-2 octaves; 1. ``fall``: the same, reversed;
2. ``steps-up``: three notes climbing; 3. ``steps-down``: reversed;
4. ``decay``: a struck note (sharp attack, exponential decay); 5. ``swell``: reversed;
6. ``scoop``: a short upward glide into a held note; 7. ``drop``: reversed.

A clip and its time reversal have the same multiset of spectrogram frames, so any
order-blind summary of the clip (the per-mel-bin mean and std over frames, the raw-feature
baseline of :class:`~selfsup_audio.datasets.raw.FbankStats`) cannot tell the two classes of a
pair apart: on this data it stays near 0.5 while the classes are separable from the fbank's
temporal structure (the same statistics over each half of the clip separate them). This is
the embedded default because a dataset on which the raw baseline already scores what any
encoder can score shows nothing about pretraining (``benchmarks/README.md`` § Default commands).

``preset="tones"`` (the default before 2026-12-08, kept for reproducing older runs,
:data:`TONES`): 0 ``low-tone`` (150-400 Hz sine), 1 ``high-tone`` (1.5-3.5 kHz), 2 ``up-chirp``
(300-800 Hz to 2-4 kHz), 3 ``down-chirp``, 4 ``noise-burst`` (2-pole resonator at 0.5-4 kHz),
5 ``harmonic`` (six harmonics of 100-250 Hz, 1/k amplitudes), 6 ``am-tone`` (600-1200 Hz at
4-12 Hz modulation), 7 ``clicks`` (8-25 per second). Fbank mean/std already separates every
class but the two chirps (linear probe 0.88-0.89).

Generation uses ``numpy.random.default_rng([seed, split])``, so the data depend on
``data.seed`` only; the features are the same SSAST fbank pipeline as real audio.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from selfsup.errors import ConfigError

from ..configs import SyntheticSoundsConfig
from .features import clip_features
from .source import AudioSource, check_features

__all__ = ["SyntheticSounds", "SyntheticSoundsConfig", "CLASSES", "CONTOURS", "TONES", "PRESETS", "generate_clips"]

TONES = ("low-tone", "high-tone", "up-chirp", "down-chirp", "noise-burst", "harmonic", "am-tone", "clicks")
CONTOURS = ("rise", "fall", "steps-up", "steps-down", "decay", "swell", "scoop", "drop")
PRESETS = {"contours": CONTOURS, "tones": TONES}
#: The default preset's classes.
CLASSES = CONTOURS
RATE = 16000
#: Harmonics are kept below this frequency (Hz), under the 8 kHz Nyquist limit.
_MAX_PARTIAL = 7000.0


def _tone_event(cls: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """A ``tones`` event (the earlier default classes)."""
    t = np.arange(n) / RATE
    if cls == 0 or cls == 1:
        f = rng.uniform(150, 400) if cls == 0 else rng.uniform(1500, 3500)
        return np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    if cls in (2, 3):
        lo, hi = rng.uniform(300, 800), rng.uniform(2000, 4000)
        f0, f1 = (lo, hi) if cls == 2 else (hi, lo)
        duration = n / RATE
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * duration))
        return np.sin(phase)
    if cls == 4:
        centre = rng.uniform(500, 4000)
        r = 0.95
        a1, a2 = -2 * r * np.cos(2 * np.pi * centre / RATE), r * r
        from scipy.signal import lfilter

        out = lfilter([1.0 - r], [1.0, a1, a2], rng.normal(size=n))
        return out / (np.abs(out).max() + 1e-8)
    if cls == 5:
        f0 = rng.uniform(100, 250)
        out = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 7))
        return out / np.abs(out).max()
    if cls == 6:
        f, fm = rng.uniform(600, 1200), rng.uniform(4, 12)
        return np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * fm * t))
    rate = rng.uniform(8, 25)
    out = np.zeros(n)
    period = max(1, int(RATE / rate))
    out[rng.integers(period) :: period] = 1.0
    return out


def _contour(kind: int, u: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(pitch in octaves above the range's bottom, amplitude envelope) over ``u`` in [0, 1) for the
    *forward* class of pair ``kind`` (0 rise, 1 steps-up, 2 decay, 3 scoop); the span is 1-2 octaves."""
    span = rng.uniform(1.0, 2.0)
    flat = np.ones_like(u)
    if kind == 0:
        return span * u, flat
    if kind == 1:
        return span * np.minimum(np.floor(3 * u), 2) / 2, flat
    if kind == 2:
        return np.full_like(u, span * rng.uniform(0, 1)), np.exp(-rng.uniform(3.0, 6.0) * u)
    glide = rng.uniform(0.15, 0.3)
    return span * np.minimum(u / glide, 1.0), flat


def _contour_event(cls: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """A ``contours`` event: the pair's forward contour, time-reversed for odd classes."""
    u = np.arange(n) / n
    octaves, envelope = _contour(cls // 2, u, rng)
    f = rng.uniform(180, 450) * 2.0**octaves  # Hz at each sample
    phase = 2 * np.pi * np.cumsum(f) / RATE + rng.uniform(0, 2 * np.pi)
    tilt, partials = rng.uniform(0.5, 2.0), int(rng.integers(1, 5))
    out = sum(np.sin(k * phase) / k**tilt for k in range(1, partials + 1) if k * f.max() < _MAX_PARTIAL)
    out = envelope * out / np.abs(out).max()
    return out[::-1].copy() if cls % 2 else out


def generate_clips(
    per_class: int, num_classes: int, duration: float, noise: float, seed: list[int], preset: str = "contours"
) -> tuple[list[torch.Tensor], np.ndarray]:
    """``per_class`` clips of each of the first ``num_classes`` classes of ``preset`` (class-major order)."""
    rng = np.random.default_rng(seed)
    event, (low, high) = (_contour_event, (0.4, 0.9)) if preset == "contours" else (_tone_event, (0.3, 0.8))
    total = int(round(duration * RATE))
    clips, labels = [], []
    for cls in range(num_classes):
        for _ in range(per_class):
            length = int(total * rng.uniform(low, high))
            onset = int(rng.integers(0, total - length + 1))
            clip = noise * rng.normal(size=total)
            fade = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / (0.005 * RATE))
            clip[onset : onset + length] += rng.uniform(0.2, 0.5) * event(cls, length, rng) * fade
            clips.append(torch.from_numpy(clip.astype(np.float32)))
            labels.append(cls)
    return clips, np.array(labels)


class SyntheticSounds(AudioSource):
    def __init__(self, config: SyntheticSoundsConfig | None = None) -> None:
        config = config if config is not None else SyntheticSoundsConfig()
        check_features(config)
        if config.preset not in PRESETS:
            raise ConfigError(f"data.preset={config.preset!r} is not one of {sorted(PRESETS)}; use data.preset=contours.")
        classes = PRESETS[config.preset]
        if not 2 <= config.num_classes <= len(classes):
            raise ConfigError(f"data.num_classes={config.num_classes} must be in [2, {len(classes)}].")
        if config.train_per_class < 1 or config.duration <= 0.05:
            raise ConfigError("data.train_per_class must be at least 1 and data.duration above 0.05 s.")
        key = dataclasses.astuple(config)
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = _generate(config)
        features, frames, labels, splits = _CACHE[key]
        self.config = config
        self.build(
            config, features, frames, labels, splits,
            classes=list(classes[: config.num_classes]),
            info={"name": "synthetic-sounds", "skipped": 0, "preset": config.preset},
        )


_CACHE: dict = {}


def _generate(config: SyntheticSoundsConfig):
    clips, labels, splits, start = [], [], {}, 0
    for split_id, (name, per_class) in enumerate(
        (("train", config.train_per_class), ("val", config.val_per_class), ("test", config.test_per_class))
    ):
        c, y = generate_clips(per_class, config.num_classes, config.duration, config.noise, [config.seed, split_id],
                              config.preset)
        clips += c
        labels.append(y)
        splits[name] = np.arange(start, start + len(c))
        start += len(c)
    features, frames = clip_features(
        clips, [RATE] * len(clips), sample_rate=config.sample_rate, num_mel_bins=config.num_mel_bins,
        target_length=config.target_length,
    )
    return features, frames, torch.from_numpy(np.concatenate(labels)), splits
