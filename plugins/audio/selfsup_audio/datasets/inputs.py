"""New audio files -> a batch, with the run's feature settings and normalisation statistics.

The ``input_transform`` of every audio dataset: ``audio_inputs(config, state)`` rebuilds
:class:`AudioInputs` from :meth:`.source.AudioSource.preprocessing_state`: each clip is
decoded (WAV; FLAC/OGG through ``soundfile``), resampled to the run's ``sample_rate``,
turned into ``num_mel_bins`` Kaldi fbanks padded or cut to ``target_length`` frames, and
normalised with the run's mean and std (``(x - mean) / (2 std)``), as in pretraining.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from selfsup.errors import CheckpointError, DatasetError

from .features import clip_features, normalise
from .io import AudioReadError, read_audio

__all__ = ["AudioInputs", "audio_inputs", "AUDIO_SUFFIXES"]

#: Files a folder is searched for.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


class AudioInputs:
    """``read(path)``: an audio file, or a folder searched recursively -> ``(relative path, file)``;
    ``batch(files)`` -> ``{"x": float32 [B, target_length, num_mel_bins], "num_frames": int64 [B]}``."""

    def __init__(
        self, *, sample_rate: int, num_mel_bins: int, target_length: int, norm_mean: float, norm_std: float
    ) -> None:
        self.sample_rate, self.num_mel_bins, self.target_length = int(sample_rate), int(num_mel_bins), int(target_length)
        self.norm_mean, self.norm_std = float(norm_mean), float(norm_std)

    def read(self, source: Any) -> list[tuple[str, Any]]:
        root = Path(source)
        if root.is_file():
            return [(root.name, root)]
        if not root.is_dir():
            raise DatasetError(f"data.root={str(root)!r} does not exist. Point it at an audio file or a folder of clips.")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise DatasetError(f"No audio files ({', '.join(AUDIO_SUFFIXES)}) under {str(root)!r}. Point data.root at a folder of clips.")
        return [(p.relative_to(root).as_posix(), p) for p in files]

    def batch(self, items: Sequence[Any]) -> tuple[dict[str, Any], list[int]]:
        waves, rates = [], []
        for path in items:
            try:
                wave, rate = read_audio(path)
            except AudioReadError as exc:
                raise DatasetError(f"Cannot read audio file {str(path)!r}: {exc}. Remove it or re-encode it as WAV.") from exc
            waves.append(wave)
            rates.append(rate)
        fbank, frames = clip_features(
            waves, rates, sample_rate=self.sample_rate, num_mel_bins=self.num_mel_bins, target_length=self.target_length
        )
        return {"x": normalise(fbank, self.norm_mean, self.norm_std), "num_frames": frames}, [1] * len(items)


def audio_inputs(config: Any, state: Mapping[str, Any]) -> AudioInputs:
    """``DatasetSpec.input_transform`` of the audio datasets."""
    keys = ("sample_rate", "num_mel_bins", "target_length", "norm_mean", "norm_std")
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(
            f"The run's preprocessing.json lacks {missing}: it predates saved audio preprocessing. "
            "Pretrain it again to embed new clips."
        )
    return AudioInputs(**{k: state[k] for k in keys})
