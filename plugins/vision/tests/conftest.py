"""Test set-up for selfsup-vision: selfsup's built-ins plus this plugin, one intra-op thread."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest.register_assert_rewrite("selfsup.testing")  # before its import, so its asserts are rewritten

from selfsup.testing import one_thread_fixture, only_plugin

pytest_plugins = ["selfsup.testing"]

# Test helpers (selfsup_vision_fixtures: real-format IDX / CIFAR / image trees) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SELFSUP_DATA", REPO.parent / "shared" / "data"))
MNIST_DIR = DATA / "mnist"
CIFAR_JPG_DIR = DATA / "cifar10-jpg"
needs_mnist = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason="MNIST not found (set SELFSUP_DATA)")
needs_cifar_jpg = pytest.mark.skipif(not (CIFAR_JPG_DIR / "test").is_dir(), reason="CIFAR-10 JPEG not found (set SELFSUP_DATA)")


only_this_plugin = only_plugin("selfsup-vision")
one_thread = one_thread_fixture(autouse=True)
