"""An exclusive lock on a file, held across processes of one machine (and of a shared POSIX filesystem)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Holds an exclusive ``flock`` on ``path`` (made if missing) for the ``with`` block; waits while another holds it.

    The lock goes with the process: a process killed while holding it releases it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Holds an exclusive ``flock`` on the folder itself (made if missing), as ``append_records`` takes it.

    Writers of a records folder that take it, this and :func:`dwm_gym.evaluation.run_records.append_records`,
    wait for each other, so none loses another's records.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
