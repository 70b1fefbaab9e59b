"""A warm-up phase that takes the whole step budget is warned about before training."""

from __future__ import annotations

import warnings

import pytest
import torch

from selfsup.engine.budget import phases_after_run, warn_if_warmup_covers_run
from selfsup.errors import SelfsupWarning
from selfsup.interfaces import Phase


def _phases(until: int | None, count: int = 2) -> list[Phase]:
    """A warm-up in steps 1..until, then ``count - 1`` phases from the next step on."""
    weight = torch.nn.Parameter(torch.zeros(1))
    first = Phase("warmup", [weight], last_step=until)
    start = 1 if until is None else until + 1
    return [first, *[Phase(f"p{i}", [weight], first_step=start) for i in range(count - 1)]]


@pytest.mark.parametrize(
    "until, total, count, cut_off",
    [
        (390, 50, 2, True),
        (390, 390, 2, True),  # the last step is still the warm-up's
        (390, 391, 2, False),
        (None, 5, 2, False),  # no warm-up
        (390, 50, 1, False),  # nothing waits for it
    ],
)
def test_phases_after_run(until, total, count, cut_off):
    phases = _phases(until, count)
    assert [p.name for p in phases_after_run(phases, total)] == ([p.name for p in phases[1:]] if cut_off else [])


def test_the_warning_names_the_waiting_phases_the_warm_up_and_the_fix():
    with pytest.warns(SelfsupWarning) as caught:
        warn_if_warmup_covers_run("SCGCStar", _phases(390, 3), 50)
    message = str(caught[0].message)
    assert message.startswith("SCGCStar: phase(s) 'p0', 'p1' start at step 391, but the run has 50 step(s)")
    assert "only the warm-up 'warmup' trains" in message and "trainer.max_steps above 390" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_warmup_covers_run("SCGCStar", _phases(390, 3), 391)


def test_the_cli_prints_it_as_one_line(toy, capsys):
    from selfsup.cli import _show_selfsup_warnings

    saved = warnings.showwarning
    try:
        _show_selfsup_warnings()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warn_if_warmup_covers_run("SCGCStar", _phases(10), 5)
    finally:
        warnings.showwarning = saved
    err = capsys.readouterr().err
    assert err.startswith("selfsup: warning: SCGCStar: phase(s) 'p0' start at step 11") and err.count("\n") == 1
