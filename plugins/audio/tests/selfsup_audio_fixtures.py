"""Small real-format audio trees for the loader tests: generated tones written as WAV and FLAC."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

__all__ = ["DATA", "FSDD_DIR", "needs_fsdd", "tone", "write_wav", "write_flac", "write_truncated_wav", "write_fake_wav", "esc50_tree", "speech_commands_tree"]

#: The development data folder (``SELFSUP_DATA``, else ``<repo>/../shared/data``). Only the tests
#: look for it, and they pass it to the datasets as ``data.root``: the plugin itself never reads
#: an environment variable or a folder beside the repository.
DATA = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
FSDD_DIR = DATA / "fsdd" / "recordings"
needs_fsdd = pytest.mark.skipif(not FSDD_DIR.is_dir(), reason="FSDD not found (set SELFSUP_DATA)")


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    """A 0.3-amplitude sine as int16 samples."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.astype("<i2").tobytes())
    return path


def write_flac(path: Path, samples: np.ndarray, rate: int) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples.astype(np.int16), rate, format="FLAC", subtype="PCM_16")
    return path


def write_truncated_wav(path: Path, rate: int = 16000) -> Path:
    """A WAV whose header declares 0.5 s but whose data stops after 0.2 s (a cut-off copy)."""
    write_wav(path, tone(300.0, 0.5, rate), rate)
    data = path.read_bytes()
    path.write_bytes(data[: 44 + int(0.2 * rate) * 2])
    return path


def write_fake_wav(path: Path) -> Path:
    """A text file with a .wav name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is not audio, just text with a .wav extension\n")
    return path


def esc50_tree(root: Path, *, folds: int = 5, classes: int = 3, seconds: float = 0.5) -> Path:
    """``root/meta/esc50.csv`` + ``root/audio/*.wav`` at 44.1 kHz: one clip per class and fold."""
    names = ["dog", "rain", "siren", "clock_tick"][:classes]
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, folds + 1):
        for target, name in enumerate(names):
            filename = f"{fold}-{1000 + 10 * target + fold}-A-{target}.wav"
            write_wav(root / "audio" / filename, tone(200.0 * (target + 1) + 10 * fold, seconds, 44100), 44100)
            lines.append(f"{filename},{fold},{target * 10},{name},{'True' if target == 0 else 'False'},{1000 + fold},A")
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    return root


def speech_commands_tree(root: Path, *, words: tuple[str, ...] = ("no", "yes"), per_word: int = 3) -> Path:
    """Word folders of 1 s 16 kHz clips, the two split lists, and a ``_background_noise_`` folder."""
    val, test = [], []
    for w, word in enumerate(words):
        for i in range(per_word):
            name = f"{word}/{i:08x}_nohash_0.wav"
            write_wav(root / name, tone(250.0 * (w + 1) + 20 * i, 1.0, 16000), 16000)
            if i == 0:
                val.append(name)
            elif i == 1:
                test.append(name)
    write_wav(root / "_background_noise_" / "white_noise.wav", tone(50.0, 2.0, 16000), 16000)
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    return root
