"""One writer at a time: an advisory ``fcntl.flock`` on a lock file (or a folder), that refuses or waits.

The operating system releases a ``flock`` when its process ends, however it ends (Ctrl-C, ``kill -9``, a
crash), so a killed writer never leaves anything locked. Two modes:

- refusing (``wait=False``, the default): a second writer gets :class:`LockedError` at once, naming the holder
  (process id, host, since when; the lock file holds them). For run folders and cache files, where a second
  writer is a mistake::

      with hold_lock(out / ".lock", f"the run folder {out}"):
          ...  # only this process writes the run now

- waiting (``wait=True``): a second writer waits for the first to release, at most ``timeout`` seconds when one
  is given (then :class:`LockTimeoutError`, a :class:`LockedError`). For work that several processes share
  by taking turns: filling a shared cache, appending records to one file::

      with hold_lock(folder, f"the records folder {folder}", wait=True, folder=True):
          ...  # writers of the folder take turns

A lock on a folder locks the folder itself (no lock file is left in it), so it cannot name its holder.
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

__all__ = ["LockTimeoutError", "LockedError", "RunLock", "hold_lock"]


class LockedError(RuntimeError):
    """Another process writes the run folder, file or folder right now."""


class LockTimeoutError(LockedError):
    """A waiting lock was still held by another process when its timeout ran out."""


class RunLock:
    """An exclusive lock on ``path``, released on :meth:`release` or when the process ends.

    Args:
        path: The lock file (e.g. ``<run folder>/.lock`` or ``<cache file>.lock``; created if needed), or with
            ``folder=True`` the folder to lock (created if needed).
        what: What the lock protects, for the messages (``"the run folder runs/x"``).
        wait: False: refuse at once when another process holds it. True: wait until it is released.
        timeout: With ``wait=True``, the most seconds to wait (None: as long as it takes).
        folder: Lock the folder ``path`` itself instead of a lock file.

    Raises:
        ValueError: On a negative timeout, or a timeout without ``wait=True``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        what: str,
        *,
        wait: bool = False,
        timeout: float | None = None,
        folder: bool = False,
    ) -> None:
        if timeout is not None and (not wait or timeout < 0):
            raise ValueError(f"a lock timeout is a number of seconds >= 0 for wait=True, got {timeout} (wait={wait})")
        self.path, self.what, self.wait, self.timeout, self.folder = Path(path), what, wait, timeout, folder
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Takes the lock, waiting if so made.

        Raises:
            LockedError: In the refusing mode, when another process holds it (naming the holder and what to do).
            LockTimeoutError: In the waiting mode, when it was still held after ``timeout`` seconds.
        """
        if self.folder:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDONLY)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._take(fd)
        except BaseException:
            os.close(fd)
            raise
        if not self.folder:
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def _take(self, fd: int) -> None:
        if self.wait and self.timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # the kernel wakes this process when the holder releases
            return
        deadline = time.monotonic() + (self.timeout or 0.0)
        pause = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if not self.wait:
                    raise LockedError(
                        f"{self.what} is being written by another process ({self._holder(fd)}); only one may write "
                        "it at a time: wait for that one to finish (or stop it), or choose another output. A process "
                        "that ended, even killed, holds no lock."
                    ) from None
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"waited {self.timeout:g} s for {self.what}, still held by another process "
                        f"({self._holder(fd)}); wait longer (a larger timeout), or stop that process"
                    ) from None
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 0.5)

    def _holder(self, fd: int) -> str:
        if self.folder:
            return "process unknown: a folder lock does not record its holder"
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        except (OSError, ValueError):
            info = {}
        if not info:
            return "process unknown"
        return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, since {info.get('since', '?')}"

    def release(self) -> None:
        """Releases the lock (a lock file stays; it is harmless and reused)."""
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
def hold_lock(
    path: str | os.PathLike,
    what: str,
    *,
    wait: bool = False,
    timeout: float | None = None,
    folder: bool = False,
) -> Iterator[RunLock]:
    """Holds a :class:`RunLock` on ``path`` for the ``with`` block (the arguments are :class:`RunLock`'s)."""
    lock = RunLock(path, what, wait=wait, timeout=timeout, folder=folder).acquire()
    try:
        yield lock
    finally:
        lock.release()
