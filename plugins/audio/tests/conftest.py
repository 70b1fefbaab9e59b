"""Test set-up for selfsup-audio: selfsup's built-ins plus this plugin, one intra-op thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.register_assert_rewrite("selfsup.testing")  # before its import, so its asserts are rewritten

from selfsup.testing import one_thread_fixture, only_plugin

pytest_plugins = ["selfsup.testing"]

# Test helpers (selfsup_audio_fixtures: real-format WAV/FLAC trees) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from selfsup_audio_fixtures import DATA, FSDD_DIR, needs_fsdd  # noqa: E402,F401 (the one definition)


only_this_plugin = only_plugin("selfsup-audio")
one_thread = one_thread_fixture(autouse=True)
