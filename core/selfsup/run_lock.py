"""One process at a time in a run folder: an ``fcntl.flock`` on ``run_dir/.lock``.

The lock file holds the PID of the process that holds the lock (for the error message);
the lock itself is the kernel's, released when that process exits or dies, so a lock file
left by a killed process never blocks the next run.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from .errors import RunLockedError

__all__ = ["RunLock", "LOCK_FILE"]

LOCK_FILE = ".lock"


class RunLock:
    """Exclusive lock on a run folder, held from :meth:`acquire` until :meth:`release`.

    ``with RunLock(run_dir): ...`` raises :class:`~selfsup.errors.RunLockedError` naming the
    holder's PID when another live process (or another open lock in this one) holds it.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        import fcntl

        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder is not None else "another process"
            raise RunLockedError(
                f"run_dir {str(self.path.parent)!r} is in use by {who} (lock file {str(self.path)!r}). "
                "Wait for it to finish (or stop it), or choose another run_dir.",
                pid=holder,
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Unlock; the file stays (removing it would race with a process about to lock it)."""
        import fcntl

        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
