"""Test set-up for selfsup-timeseries: selfsup's built-ins plus this plugin, one intra-op thread.

The UCR/UEA files come from the development data folder (``SELFSUP_DATA``, else
``<repo>/../shared/data``) through ``UCR`` / ``needs_ucr``; the product never looks for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

pytest_plugins = ["selfsup.testing"]

#: The development data folder; only the tests read it (the root conftest turns its skips into
#: failures under SELFSUP_REQUIRE_DEV_DATA=1).
DATA = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
UCR = DATA / "ucr-uea"


@pytest.fixture
def ucr_root() -> Path:
    """The UCR/UEA folder of the development data; skips without it."""
    if not (UCR / "GunPoint").is_dir():
        pytest.skip(f"UCR/UEA development data not found under {UCR} (set SELFSUP_DATA)")
    return UCR


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch):
    from selfsup.testing import isolate

    monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", "selfsup-timeseries")
    with isolate(monkeypatch, entry_points=True) as plugins:
        yield plugins


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
