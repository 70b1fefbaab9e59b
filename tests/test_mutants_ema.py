"""EMA momentum schedules (core/selfsup/engine/ema.py): values pinned at both ends and the middle.

Written for the ``ema-cosine-schedule-reversed`` mutant of scripts/mutations.py (the cosine
schedule running from ``end`` to ``start``), which every earlier test let through: only the
linear schedule was checked.
"""

from __future__ import annotations

import math

import pytest

from selfsup.engine.ema import momentum_schedule


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedules_run_from_start_to_end(kind: str) -> None:
    assert momentum_schedule(0, 100, 0.99, 1.0, kind=kind) == pytest.approx(0.99)
    assert momentum_schedule(100, 100, 0.99, 1.0, kind=kind) == pytest.approx(1.0)
    assert momentum_schedule(50, 100, 0.99, 1.0, kind=kind) == pytest.approx(0.995)
    values = [momentum_schedule(s, 100, 0.99, 1.0, kind=kind) for s in range(101)]
    assert all(b >= a for a, b in zip(values, values[1:]))


def test_cosine_schedule_is_byols_formula() -> None:
    # BYOL: tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2; at k/K = 1/4: 1 - 0.004 * 0.8536
    assert momentum_schedule(25, 100, 0.996, 1.0, kind="cosine") == pytest.approx(
        1 - 0.004 * (math.cos(math.pi / 4) + 1) / 2
    )
    # slow at the start, unlike the linear schedule
    assert momentum_schedule(10, 100, 0.996, 1.0, kind="cosine") < momentum_schedule(10, 100, 0.996, 1.0)
