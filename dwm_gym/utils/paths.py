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
