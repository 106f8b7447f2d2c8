"""``warn_deprecated``: a DeprecationWarning attributed to the user's code, so Python shows it."""

from __future__ import annotations

import sys
import warnings

_INTERNAL = ("dwm_gym", "gymnasium", "dataclasses", "<string>")


def warn_deprecated(message: str) -> None:
    """Warns with ``message``, attributed to the first caller outside dwm_gym, Gymnasium and dataclasses.

    Python's default filters show a DeprecationWarning only when it is attributed to ``__main__``;
    a fixed ``stacklevel`` would point at whichever library frame happens to call the deprecated name
    (e.g. ``gym.make`` building an env), and the user would never see it.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and (frame.f_globals.get("__name__") or "").split(".")[0] in _INTERNAL:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level + 1)
