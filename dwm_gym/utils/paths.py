"""The project's user folder, shared by every layer that finds or stores files by name."""

from __future__ import annotations

import os
from pathlib import Path


def dwm_gym_home() -> Path:
    """``$DWM_GYM_HOME`` or ``~/.cache/dwm_gym``.

    It holds the trained behaviour policies (``behavior/``) and world models (``world_models/``) that
    are picked up by name.
    """
    return Path(os.environ.get("DWM_GYM_HOME") or Path.home() / ".cache" / "dwm_gym")


def check_out_dir(path: str | os.PathLike, flag: str = "out") -> Path:
    """``path`` as a folder that can be created or used: not a file, and no file on the way to it.

    Args:
        path: The output folder.
        flag: The setting's name, for the message (``out`` → ``--out``).

    Raises:
        ValueError: If ``path`` or one of its parents is an existing file.
    """
    path = Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            where = "is a file" if candidate == path else f"goes through the file {candidate}"
            raise ValueError(f"--{flag} {path} {where}: give a folder")
    return path
