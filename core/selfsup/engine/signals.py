"""Stop training cleanly on SIGTERM (preemption) and SIGINT (Ctrl-C).

While :class:`GracefulStop` is active, the first SIGTERM or SIGINT only sets a flag; the
training loop asks :meth:`GracefulStop.requested` after every step, then finishes that
step, writes a checkpoint and raises :class:`~selfsup.errors.TrainingInterrupted`. A second
SIGINT aborts at once (``KeyboardInterrupt``) in a single process. Under ``torchrun`` the
launcher forwards every signal it gets to the workers, so a worker sees Ctrl-C twice:
there repeated signals are ignored and the launcher's own time-out escalates instead.

Under ``torchrun`` the ranks agree on the step to stop after: the flag is all-reduced
(maximum) after every step over a gloo group, on the CPU (no device synchronisation).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["GracefulStop", "STOP_SIGNALS"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop:
    """Context manager: SIGTERM/SIGINT handlers for the duration of a fit."""

    def __init__(self, *, distributed: bool, announce: bool) -> None:
        self.distributed = distributed and dist.is_available() and dist.is_initialized()
        self.announce = announce
        #: The first signal received (its number), or ``None``.
        self.signal_number: int | None = None
        self._previous: dict[int, Any] = {}
        self._group: Any = None
        under_launcher = "TORCHELASTIC_RUN_ID" in os.environ or distributed
        self._abort_on_repeat = not under_launcher

    def __enter__(self) -> GracefulStop:
        if self.distributed:  # a CPU group, so the per-step check never syncs an accelerator
            self._group = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal_number is None:
            self.signal_number = number
            if self.announce:
                again = " (Ctrl-C again to abort at once, saving nothing)" if self._abort_on_repeat else ""
                print(
                    f"\nselfsup: got {signal.Signals(number).name}: finishing this step and writing a checkpoint{again}.",
                    file=sys.stderr,
                    flush=True,
                )
            return
        if number == signal.SIGINT and self._abort_on_repeat:
            self._restore()
            raise KeyboardInterrupt

    def requested(self) -> int | None:
        """The signal to stop for, agreed by every rank (a collective under ``torchrun``)."""
        if not self.distributed:
            return self.signal_number
        flag = torch.tensor([self.signal_number or 0], dtype=torch.int64)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._group)
        return int(flag.item()) or None
