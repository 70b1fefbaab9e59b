"""The CI data switch (conftest.py at the repository root): without the development data a
data test skips under plain pytest and fails under ``SELFSUP_REQUIRE_DEV_DATA=1``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: One cheap test whose only requirement is the MUTAG files.
TARGET = "plugins/graph/tests/test_graph_tu.py::TestMutagContract::test_picklable"


def _pytest(tmp_path: Path, data: Path, require: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SELFSUP_REQUIRE_DEV_DATA"}
    env["SELFSUP_DATA"] = str(data)
    if require is not None:
        env["SELFSUP_REQUIRE_DEV_DATA"] = require
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly", TARGET],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )


def test_missing_data_skips_by_default_and_fails_when_required(tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    plain = _pytest(tmp_path, empty, None)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 skipped" in plain.stdout and "MUTAG files not found" in plain.stdout

    required = _pytest(tmp_path, empty, "1")
    assert required.returncode == 1, required.stdout + required.stderr
    assert "would skip: MUTAG files not found" in required.stdout
    assert "SELFSUP_REQUIRE_DEV_DATA=1" in required.stdout and "skipped" not in required.stdout

    absent = _pytest(tmp_path, tmp_path / "nowhere", "1")
    assert absent.returncode != 0
    assert "development data folder" in absent.stderr and "nowhere" in absent.stderr
