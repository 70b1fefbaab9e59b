"""Test set-up for selfsup-audio: selfsup's built-ins plus this plugin, one intra-op thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

pytest_plugins = ["selfsup.testing"]

# Test helpers (selfsup_audio_fixtures: real-format WAV/FLAC trees) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from selfsup_audio_fixtures import DATA, FSDD_DIR, needs_fsdd  # noqa: E402,F401 (the one definition)


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch):
    from selfsup.testing import isolate

    monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", "selfsup-audio")
    with isolate(monkeypatch, entry_points=True) as plugins:
        yield plugins


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
