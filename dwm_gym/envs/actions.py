"""Validation of the actions given to the imagined envs: shape and finiteness errors, clipping."""

from __future__ import annotations

import warnings

import numpy as np
from gymnasium import spaces


def check_actions(actions, space: spaces.Box, batch: int | None = None) -> tuple[np.ndarray, bool]:
    """Checks ``actions`` against ``space`` and clips them into it.

    Args:
        actions: One action ``space.shape`` (``batch`` None) or ``(batch, *space.shape)``.
        space: The (single) action space.
        batch: Number of sub-envs of a vector env, or ``None`` for a single env.

    Returns:
        ``(float32 actions inside the box, whether any value had to be clipped)``.

    Raises:
        ValueError: On a wrong shape or a NaN/inf value; the message names the expected shape.
    """
    expected = space.shape if batch is None else (batch, *space.shape)
    array = np.asarray(actions, dtype=np.float32)
    if array.shape != expected:
        raise ValueError(f"expected an action of shape {expected} inside {space}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"actions must be finite numbers of shape {expected}; got NaN or inf in {array}")
    clipped = np.clip(array, space.low, space.high)
    return clipped, bool(np.any(clipped != array))


class ClipWarning:
    """Warns once per env that out-of-bounds actions are clipped (as MuJoCo envs effectively do)."""

    def __init__(self) -> None:
        self.done = False

    def __call__(self, space: spaces.Box) -> None:
        """Issues the ``UserWarning`` naming ``space`` the first time it is called; later calls do nothing."""
        if not self.done:
            warnings.warn(
                f"actions outside the action space {space} were clipped into it (warned once per env)",
                UserWarning,
                stacklevel=3,
            )
            self.done = True
