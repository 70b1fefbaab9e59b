"""Shared fixtures of the point-cloud plugin's tests."""

from __future__ import annotations

import pytest
import torch

pytest_plugins = ["selfsup.testing"]

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def pointcloud_plugin_only(monkeypatch):
    """Every test sees the core's built-ins and this plugin only (not whatever else is installed)."""
    from selfsup.testing import isolate

    import selfsup_pointcloud.plugin

    with isolate(monkeypatch, entry_points=False) as plugins:
        plugins.register(selfsup_pointcloud.plugin, name="pointcloud")
        yield plugins
