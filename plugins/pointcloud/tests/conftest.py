"""Shared fixtures of the point-cloud plugin's tests: selfsup's built-ins plus this plugin (from
its installed entry point), one intra-op thread, in every test."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("selfsup.testing")  # before its import, so its asserts are rewritten

from selfsup.testing import one_thread_fixture, only_plugin

pytest_plugins = ["selfsup.testing"]

only_this_plugin = only_plugin("selfsup-pointcloud")
one_thread = one_thread_fixture(autouse=True)
