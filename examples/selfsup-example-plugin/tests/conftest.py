"""Test set-up for selfsup-example-plugin.

``selfsup.testing`` is selfsup's pytest plugin for plugin authors: fixtures,
conformance kits, and strict mode (``SELFSUP_STRICT_PLUGINS=1``), so that any
plugin problem fails the tests instead of being a warning.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("selfsup.testing")  # before its import, so its asserts are rewritten

from selfsup.testing import one_thread_fixture, only_plugin

pytest_plugins = ["selfsup.testing"]

#: Every test sees selfsup's built-ins plus this plugin, loaded from its installed entry point
#: (``SELFSUP_LOAD_PLUGINS`` keeps other installed plugins out, so a broken unrelated plugin
#: cannot fail these tests in strict mode), in a fresh plugin set and registry.
only_this_plugin = only_plugin("selfsup-example-plugin")
#: The models here are tiny: one CPU thread is fastest, and immune to contention for cores.
one_thread = one_thread_fixture(autouse=True)
