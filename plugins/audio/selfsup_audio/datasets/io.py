"""Reading audio files into float waveforms in [-1, 1] (as ``torchaudio.load`` returns them).

WAV is read with the standard library (``wave``; PCM 8/16/24/32-bit) and falls back to
``scipy.io.wavfile`` (float WAV). FLAC (and OGG, AIFF...) is read with ``soundfile``
(libsndfile): torchaudio 2.9+ decodes through ``torchcodec`` (FFmpeg), which this
environment does not have. Multi-channel audio keeps the first channel (as SSAST's
``waveform`` feeds channel 0 to ``kaldi.fbank``).

Every decoding problem (not audio, a truncated file, no samples, NaNs) is an
:class:`AudioReadError` naming what is wrong; the datasets skip such files and count them.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import torch

__all__ = ["read_audio", "AudioReadError"]


_UNKNOWN_SIZE = 0xFFFFFFF0


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
    if not path.is_file():  # libsndfile reports a missing file only as "System error"
        raise AudioReadError("file not found")
    try:
        if path.suffix.lower() == ".wav":
            try:
                with wave.open(str(path), "rb") as handle:
                    rate, width, channels = handle.getframerate(), handle.getsampwidth(), handle.getnchannels()
                    declared = handle.getnframes()
                    raw = handle.readframes(declared)
                held = len(raw) // max(1, width * channels)
                # Streamed WAVs declare 0xFFFFFFFF bytes (length unknown): only a real size is checked.
                if held < declared and declared * width * channels < _UNKNOWN_SIZE:
                    raise AudioReadError(f"truncated: the header declares {declared} frames, the file holds {held}")
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
    except EOFError as exc:
        raise AudioReadError("truncated: the file ends inside its header") from exc
    except Exception as exc:  # corrupt headers, undecodable data, permission errors
        raise AudioReadError(f"not readable audio ({type(exc).__name__}: {exc})") from exc
    if data.size == 0 or rate <= 0:
        raise AudioReadError("no samples")
    if not np.isfinite(data).all():
        raise AudioReadError("non-finite samples")
    return torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)), int(rate)
