"""Repository-wide test switch: in CI, a test that skips for want of development data fails.

Tests that read the shared development datasets skip when the data is absent, so that plain
``pytest`` on a user's machine passes. Their skip reasons all say ``(set SELFSUP_DATA)``.
With ``SELFSUP_REQUIRE_DEV_DATA=1`` (set by ``.ci/run``) such a skip is turned into a failure
naming the missing data, and the session refuses to start when the data folder itself is
missing, so a misconfigured CI cannot drop those tests silently.

Only the tests read these variables; the product never looks for the development data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The marker every development-data skip reason carries.
DATA_SKIP_MARK = "SELFSUP_DATA"
#: Where the tests look for the development data (the same default as every conftest).
DATA_ROOT = Path(os.environ.get("SELFSUP_DATA", Path(__file__).resolve().parent.parent / "shared" / "data"))


def require_dev_data() -> bool:
    """``SELFSUP_REQUIRE_DEV_DATA=1``: missing development data is a failure, not a skip."""
    return os.environ.get("SELFSUP_REQUIRE_DEV_DATA", "") not in ("", "0")


def pytest_sessionstart(session: pytest.Session) -> None:
    if require_dev_data() and not DATA_ROOT.is_dir():
        raise pytest.UsageError(
            f"SELFSUP_REQUIRE_DEV_DATA=1 but the development data folder {DATA_ROOT} does not exist. "
            "Point SELFSUP_DATA at the folder holding adult/, fsdd/, mutag/... (or unset "
            "SELFSUP_REQUIRE_DEV_DATA to let those tests skip)."
        )


def pytest_report_header(config: pytest.Config) -> str:
    state = "required (skips fail)" if require_dev_data() else "optional (tests skip without it)"
    return f"selfsup development data: {DATA_ROOT} [{state}]"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if not (report.skipped and require_dev_data()):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    if DATA_SKIP_MARK in reason and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} would skip: {reason.removeprefix('Skipped: ')}. "
            f"SELFSUP_REQUIRE_DEV_DATA=1 makes missing development data a failure; put the data "
            f"under {DATA_ROOT} or set SELFSUP_DATA to its folder."
        )
