"""Shared fixtures of the graph plugin's tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["selfsup.testing"]

@pytest.fixture
def one_thread():
    """One intra-op thread: the tiny models here are faster without threading on a shared machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def graph_plugin_only(monkeypatch):
    """Every test sees the core's built-ins and this plugin only (not whatever else is installed)."""
    from selfsup.testing import isolate

    import selfsup_graph.plugin

    with isolate(monkeypatch, entry_points=False) as plugins:
        plugins.register(selfsup_graph.plugin, name="graph")
        yield plugins
