"""Test set-up for selfsup-audio: selfsup's built-ins plus this plugin, one intra-op thread."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

pytest_plugins = ["selfsup.testing"]

# Test helpers (selfsup_audio_fixtures: real-format WAV/FLAC trees) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
FSDD_DIR = DATA / "fsdd" / "recordings"
needs_fsdd = pytest.mark.skipif(not FSDD_DIR.is_dir(), reason="FSDD not found (set SELFSUP_DATA)")


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
