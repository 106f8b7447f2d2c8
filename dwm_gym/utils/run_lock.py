"""One writer per run folder or cache file: an advisory ``fcntl.flock`` on a lock file beside what is written.

The operating system releases a ``flock`` when its process ends, however it ends (Ctrl-C, ``kill -9``, a
crash), so a killed run never leaves its folder locked. The lock file also holds who took the lock (process
id, host, start time), for the message a second writer gets::

    with hold_lock(out / ".lock", what=f"the run folder {out}"):
        ...  # only this process writes the run now
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LockedError", "RunLock", "hold_lock"]


class LockedError(RuntimeError):
    """Another process writes the run folder or file right now."""


class RunLock:
    """An exclusive, non-blocking lock on ``path`` (created if needed), released on :meth:`release` or exit.

    Args:
        path: The lock file (e.g. ``<run folder>/.lock`` or ``<cache file>.lock``).
        what: What the lock protects, for the message (``"the run folder runs/x"``).
    """

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path, self.what = Path(path), what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Takes the lock, or raises :class:`LockedError` naming the holder and what to do."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockedError(
                f"{self.what} is being written by another process ({holder}); only one may write it at a time: "
                "wait for that one to finish (or stop it), or choose another output. A process that ended, "
                "even killed, holds no lock."
            ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Releases the lock (the lock file stays; it is harmless and reused)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def hold_lock(path: str | os.PathLike, what: str) -> Iterator[RunLock]:
    """Holds a :class:`RunLock` on ``path`` for the ``with`` block."""
    lock = RunLock(path, what).acquire()
    try:
        yield lock
    finally:
        lock.release()


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "process unknown"
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, since {info.get('since', '?')}"
