"""Test set-up for selfsup-example-plugin.

``selfsup.testing`` is selfsup's pytest plugin for plugin authors: fixtures,
conformance kits, and strict mode (``SELFSUP_STRICT_PLUGINS=1``), so that any
plugin problem fails the tests instead of being a warning.
"""

from __future__ import annotations

import pytest
import torch

pytest_plugins = ["selfsup.testing"]


@pytest.fixture(autouse=True)
def only_this_plugin(monkeypatch):
    """Every test sees selfsup's built-ins plus this plugin, loaded from its installed entry point.

    ``SELFSUP_LOAD_PLUGINS`` keeps other installed plugins out, so a broken
    unrelated plugin cannot fail these tests in strict mode; ``isolate``
    gives each test a fresh plugin set and registry.
    """
    from selfsup.testing import isolate  # imported here so that pytest can assert-rewrite it first

    monkeypatch.setenv("SELFSUP_LOAD_PLUGINS", "selfsup-example-plugin")
    with isolate(monkeypatch, entry_points=True) as plugins:
        yield plugins


@pytest.fixture(autouse=True)
def one_thread():
    """The models here are tiny: one CPU thread is fastest, and immune to contention for cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
