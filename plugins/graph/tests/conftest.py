"""Shared fixtures of the graph plugin's tests: selfsup's built-ins plus this plugin (from its
installed entry point) in every test; ``one_thread`` (from ``selfsup.testing``) where asked for."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("selfsup.testing")  # before its import, so its asserts are rewritten

from selfsup.testing import only_plugin

pytest_plugins = ["selfsup.testing"]

only_this_plugin = only_plugin("selfsup-graph")
