"""Generated sounds of several classes: the embedded default dataset (needs no files).

Each clip is ``duration`` seconds at 16 kHz: a sound event with a random onset,
length (30-80 % of the clip), level and class-specific parameters, over white
background noise. Classes (:data:`CLASSES`):

0. ``low-tone``: a sine at 150-400 Hz;
1. ``high-tone``: a sine at 1.5-3.5 kHz;
2. ``up-chirp``: a linear sweep rising from 300-800 Hz to 2-4 kHz;
3. ``down-chirp``: the same sweep falling;
4. ``noise-burst``: band-limited noise (a 2-pole resonator at 0.5-4 kHz);
5. ``harmonic``: six harmonics of f0 = 100-250 Hz with 1/k amplitudes;
6. ``am-tone``: a 600-1200 Hz sine, amplitude-modulated at 4-12 Hz;
7. ``clicks``: an impulse train at 8-25 clicks per second.

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

__all__ = ["SyntheticSounds", "SyntheticSoundsConfig", "CLASSES", "generate_clips"]

CLASSES = ("low-tone", "high-tone", "up-chirp", "down-chirp", "noise-burst", "harmonic", "am-tone", "clicks")
RATE = 16000


def _event(cls: int, n: int, rng: np.random.Generator) -> np.ndarray:
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


def generate_clips(
    per_class: int, num_classes: int, duration: float, noise: float, seed: list[int]
) -> tuple[list[torch.Tensor], np.ndarray]:
    """``per_class`` clips of each of the first ``num_classes`` classes (class-major order)."""
    rng = np.random.default_rng(seed)
    total = int(round(duration * RATE))
    clips, labels = [], []
    for cls in range(num_classes):
        for _ in range(per_class):
            length = int(total * rng.uniform(0.3, 0.8))
            onset = int(rng.integers(0, total - length + 1))
            clip = noise * rng.normal(size=total)
            fade = np.minimum(1.0, np.minimum(np.arange(length), np.arange(length)[::-1]) / (0.005 * RATE))
            clip[onset : onset + length] += rng.uniform(0.2, 0.5) * _event(cls, length, rng) * fade
            clips.append(torch.from_numpy(clip.astype(np.float32)))
            labels.append(cls)
    return clips, np.array(labels)


class SyntheticSounds(AudioSource):
    def __init__(self, config: SyntheticSoundsConfig | None = None) -> None:
        config = config if config is not None else SyntheticSoundsConfig()
        check_features(config)
        if not 2 <= config.num_classes <= len(CLASSES):
            raise ConfigError(f"data.num_classes={config.num_classes} must be in [2, {len(CLASSES)}].")
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
            classes=list(CLASSES[: config.num_classes]),
            info={"name": "synthetic-sounds", "skipped": 0},
        )


_CACHE: dict = {}


def _generate(config: SyntheticSoundsConfig):
    clips, labels, splits, start = [], [], {}, 0
    for split_id, (name, per_class) in enumerate(
        (("train", config.train_per_class), ("val", config.val_per_class), ("test", config.test_per_class))
    ):
        c, y = generate_clips(per_class, config.num_classes, config.duration, config.noise, [config.seed, split_id])
        clips += c
        labels.append(y)
        splits[name] = np.arange(start, start + len(c))
        start += len(c)
    features, frames = clip_features(
        clips, [RATE] * len(clips), sample_rate=config.sample_rate, num_mel_bins=config.num_mel_bins,
        target_length=config.target_length,
    )
    return features, frames, torch.from_numpy(np.concatenate(labels)), splits
