"""`selfsup ... | head`: a reader that stops early ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [["info", "linear-probe"], ["plugins"]])
def test_a_closed_pipe_ends_the_command_quietly(args, unbuffered):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:  # each print writes at once: the error comes inside the command
        env["PYTHONUNBUFFERED"] = "1"  # buffered: it would come at the interpreter's final flush
    process = subprocess.Popen(
        [sys.executable, "-m", "selfsup", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
