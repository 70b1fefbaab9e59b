"""`selfsup ... | head`: a reader that stops early ends the command quietly."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [["list"], ["info", "linear-probe"], ["plugins"]])
def test_a_closed_pipe_ends_the_command_quietly(args):
    process = subprocess.Popen(
        [sys.executable, "-m", "selfsup", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
