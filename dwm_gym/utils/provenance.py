"""Where a result comes from: the machine it ran on, the git commit of the code, the UTC date.

Result files (benchmark JSONs, run records) carry these fields so that the docs never need to say in prose
when or where a figure was measured.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Platform, CPU model and count, load, Python and torch versions, torch threads, CUDA device (or None)."""
    import torch

    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def git_commit(checkout: Path) -> tuple[str | None, bool | None]:
    """(commit, has uncommitted changes to tracked files) of a git checkout, or (None, None) outside git.

    Args:
        checkout: The checkout's root folder.
    """

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", *command], cwd=checkout, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None, None


def package_source() -> dict[str, Any]:
    """Where the imported ``dwm_gym`` lives: its folder, and the commit and dirty flag of the checkout holding it.

    ``commit`` and ``dirty`` are None when the package is not in a git checkout (a wheel).
    """
    folder = Path(__file__).resolve().parent.parent
    root = folder.parent
    commit, dirty = git_commit(root) if (root / ".git").exists() else (None, None)
    return {"path": str(folder), "commit": commit, "dirty": dirty}


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second (``2026-01-31T12:00:00+00:00``)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
