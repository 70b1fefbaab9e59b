"""The audio feature cache is loaded with weights_only=True: a crafted cache file never runs."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import torch
from selfsup.errors import DatasetError
from selfsup.testing.hostile import HostilePayload as _Payload


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def _wav(path: Path, freq: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(4000) / 8000
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1), handle.setsampwidth(2), handle.setframerate(8000)
        handle.writeframes((0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes())


def test_audio_feature_cache_refuses_a_crafted_pickle(tmp_path, marker):
    from selfsup_audio.configs import FeatureConfig
    from selfsup_audio.datasets import source

    paths = [tmp_path / "a.wav", tmp_path / "b.wav"]
    _wav(paths[0], 300.0), _wav(paths[1], 600.0)
    config = FeatureConfig(cache_dir=str(tmp_path / "cache"), num_mel_bins=16, target_length=32)
    source.load_files(paths, config)
    (cache,) = (tmp_path / "cache").glob("audio-features-*.pt")
    torch.save({"features": _Payload(marker)}, cache)
    source._CACHE.clear()
    with pytest.raises(DatasetError, match=r"Audio feature cache '.*' is not a valid cache file .*Delete it"):
        source.load_files(paths, config)
    assert not marker.exists()
