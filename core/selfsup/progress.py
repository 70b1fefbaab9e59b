"""Progress output for every phase of a run: a bar on a terminal, plain lines elsewhere.

``trainer.progress`` picks the mode: ``auto`` (a bar when stderr is a terminal, otherwise
plain lines), ``bar`` (``on``), ``plain`` or ``off``. Plain lines are written at most every
``trainer.progress_every`` seconds (0: at every update, plus a line when each stage starts)
and when each stage ends, so a log file shows a run moving even without a terminal; a stage
that fails within the first interval leaves only its error.

The run sets the settings for its duration (:func:`use_progress`); code anywhere below it
(a dataset generating data, an evaluator) reports through :func:`track` or :func:`stage`
without plumbing. Outside a run, progress is off.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

__all__ = [
    "MODES",
    "ProgressSettings",
    "ProgressBar",
    "use_progress",
    "current_progress",
    "track",
    "stage",
    "format_rate",
    "format_duration",
]

T = TypeVar("T")

#: What ``trainer.progress`` accepts (``on`` is ``bar``).
MODES = ("auto", "bar", "on", "plain", "off")


@dataclass(frozen=True)
class ProgressSettings:
    """How progress is shown: ``mode`` is ``bar``, ``plain`` or ``off`` (already resolved)."""

    mode: str = "off"
    #: Seconds between plain lines (0: every update).
    interval: float = 30.0
    #: What one sample of the run's data is called in throughputs ("rows", "clips", ...).
    unit: str = "samples"
    #: Where progress goes; ``None``: ``sys.stderr`` at the time of writing.
    stream: TextIO | None = None

    @classmethod
    def from_trainer(cls, trainer: Any, unit: str = "samples", stream: TextIO | None = None) -> ProgressSettings:
        """Resolve ``trainer.progress`` (``auto``: bar on a terminal, plain lines otherwise)."""
        mode = str(trainer.progress)
        out = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if _isatty(out) else "plain"
        mode = {"on": "bar"}.get(mode, mode)
        return cls(mode=mode, interval=float(getattr(trainer, "progress_every", 30.0)), unit=unit, stream=stream)

    @property
    def out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def write(self, line: str) -> None:
        """One line (above a bar that is being drawn, in bar mode); nothing when off."""
        if self.mode == "off":
            return
        if self.mode == "bar":
            from tqdm import tqdm

            tqdm.write(line, file=self.out)
            return
        print(line, file=self.out, flush=True)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file
        return False


def _terminal_width(stream: Any) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


_CURRENT: contextvars.ContextVar[ProgressSettings] = contextvars.ContextVar("selfsup_progress", default=ProgressSettings())


@contextlib.contextmanager
def use_progress(settings: ProgressSettings) -> Iterator[ProgressSettings]:
    """Make ``settings`` the current progress settings inside the block."""
    token = _CURRENT.set(settings)
    try:
        yield settings
    finally:
        _CURRENT.reset(token)


def current_progress() -> ProgressSettings:
    """The settings of the run in progress (mode ``off`` outside a run)."""
    return _CURRENT.get()


def format_duration(seconds: float) -> str:
    """``'0:07'``, ``'12:03'``, ``'1:02:03'``."""
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(per_second: float, unit: str) -> str:
    """``'1,234 rows/s'``, ``'3.2 clips/s'``, ``'0.25 scenes/s'``."""
    if per_second >= 100:
        return f"{per_second:,.0f} {unit}/s"
    if per_second >= 1:
        return f"{per_second:.1f} {unit}/s"
    return f"{per_second:.2f} {unit}/s"


class ProgressBar:
    """One stage's progress: a tqdm bar, periodic plain lines, or nothing."""

    def __init__(
        self,
        desc: str,
        total: int | None,
        unit: str,
        *,
        settings: ProgressSettings | None = None,
        initial: int = 0,
    ) -> None:
        self.settings = settings if settings is not None else current_progress()
        self.desc, self.total, self.unit = desc, total, unit
        self.n = initial
        self.start = self.last_line = time.monotonic()
        self.postfix = ""
        self.bar: Any = None
        if self.settings.mode == "bar":
            from tqdm import tqdm

            width = _terminal_width(self.settings.out)  # a terminal of size 0 (a bare pty) would draw nothing
            self.bar = tqdm(
                total=total, initial=initial, desc=desc, unit=f" {unit}", file=self.settings.out,
                dynamic_ncols=width > 0, ncols=None if width > 0 else 120, nrows=None if width > 0 else 40,
            )
        elif self.settings.mode == "plain" and self.settings.interval == 0:
            self.settings.write(self._line())  # otherwise the first line comes after `interval` seconds

    def update(self, n: int = 1, postfix: Mapping[str, Any] | str | None = None) -> None:
        self.n += n
        if postfix is not None:
            self.postfix = postfix if isinstance(postfix, str) else "  ".join(f"{k}={v}" for k, v in postfix.items())
        if self.bar is not None:
            if postfix is not None:
                self.bar.set_postfix_str(self.postfix, refresh=False)
            self.bar.update(n)
        elif self.settings.mode == "plain":
            now = time.monotonic()
            if now - self.last_line >= self.settings.interval or (self.total is not None and self.n >= self.total):
                self.last_line = now
                self.settings.write(self._line())

    def _line(self) -> str:
        count = f"{self.n}/{self.total} {self.unit}" if self.total else f"{self.n} {self.unit}"
        if self.total:
            count += f" ({100 * self.n / self.total:.0f}%)"
        elapsed = time.monotonic() - self.start
        timing = f"{format_duration(elapsed)} elapsed"
        if self.total and 0 < self.n < self.total:
            timing += f", {format_duration(elapsed / self.n * (self.total - self.n))} left"
        return "  ".join(part for part in (f"{self.desc}: {count}", self.postfix, timing) if part)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def track(iterable: Iterable[T], desc: str, *, total: int | None = None, unit: str = "items") -> Iterator[T]:
    """Iterate with progress under the current settings (e.g. a dataset generating scenes)."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with ProgressBar(desc, total, unit) as bar:
        for item in iterable:
            yield item
            bar.update(1)


@contextlib.contextmanager
def stage(name: str, detail: str = "", settings: ProgressSettings | None = None) -> Iterator[ProgressSettings]:
    """A line when a stage starts and one when it ends well (with its duration).

    In plain mode the start line waits ``interval`` seconds (it is written then if the stage
    still runs), so a stage that fails at once leaves only its one-line error on stderr.
    """
    settings = settings if settings is not None else current_progress()
    line = f"{name}: {detail} ..." if detail else f"{name}: started"
    start = time.monotonic()
    timer = None
    if settings.mode == "plain" and settings.interval > 0:
        timer = threading.Timer(settings.interval, settings.write, [line])
        timer.daemon = True
        timer.start()
    else:
        settings.write(line)
    try:
        yield settings
    finally:
        if timer is not None:
            timer.cancel()
    settings.write(f"{name}: done in {format_duration(time.monotonic() - start)}")
