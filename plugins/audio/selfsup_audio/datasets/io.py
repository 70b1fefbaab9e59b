"""Reading audio files into float waveforms in [-1, 1] (as ``torchaudio.load`` returns them).

WAV is read with the standard library (``wave``; PCM 8/16/24/32-bit) and falls back to
``scipy.io.wavfile`` (float WAV). Other formats (FLAC, OGG) need the optional
``soundfile`` package. Multi-channel audio keeps the first channel (as SSAST's
``waveform`` feeds channel 0 to ``kaldi.fbank``).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import torch

__all__ = ["read_audio", "AudioReadError"]


class AudioReadError(Exception):
    """A file that cannot be decoded."""


def _pcm_to_float(raw: bytes, width: int, channels: int) -> np.ndarray:
    if width == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        data = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise AudioReadError(f"unsupported sample width {width}")
    return data.reshape(-1, channels)[:, 0]


def read_audio(path: str | Path) -> tuple[torch.Tensor, int]:
    """Return ``(waveform [samples] float32, sample_rate)``; raise :class:`AudioReadError`."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".wav":
            try:
                with wave.open(str(path), "rb") as handle:
                    rate, width, channels = handle.getframerate(), handle.getsampwidth(), handle.getnchannels()
                    raw = handle.readframes(handle.getnframes())
                data = _pcm_to_float(raw, width, channels)
            except wave.Error:
                from scipy.io import wavfile

                rate, array = wavfile.read(str(path))
                array = array if array.ndim == 1 else array[:, 0]
                if array.dtype.kind == "f":
                    data = array.astype(np.float32)
                else:
                    data = array.astype(np.float32) / float(np.iinfo(array.dtype).max + 1)
        else:
            try:
                import soundfile
            except ImportError as exc:
                raise AudioReadError(
                    f"reading {path.suffix} files needs the 'soundfile' package (pip install soundfile)"
                ) from exc
            array, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
            data = array[:, 0]
    except AudioReadError:
        raise
    except Exception as exc:  # corrupt headers, truncated files, permission errors
        raise AudioReadError(f"{type(exc).__name__}: {exc}") from exc
    if data.size == 0 or rate <= 0:
        raise AudioReadError("no samples")
    if not np.isfinite(data).all():
        raise AudioReadError("non-finite samples")
    return torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)), int(rate)
