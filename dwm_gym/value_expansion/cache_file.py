"""Which files a shared imagination cache may replace: only imagination caches, recognized by their header.

``--cache-file`` names a file that is loaded when it matches and rebuilt when it does not. Rebuilding
replaces the file, so the file must be a cache: its safetensors header (the first bytes, readable even
when the rest was cut short) must carry the ``dwm_gym_cache`` entry. A world model, an agent, or any other
file at that path is refused, never overwritten. One process writes a cache file at a time: the fill holds
a lock on ``<cache file>.lock`` (:mod:`dwm_gym.utils.run_lock`).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

__all__ = ["CACHE_KEY", "check_cache_target", "is_cache_file"]

CACHE_KEY = "dwm_gym_cache"
_MAX_HEADER = 100 * 2**20


def _header(path: Path) -> dict | None:
    try:
        with open(path, "rb") as handle:
            size = struct.unpack("<Q", handle.read(8))[0]
            if not 0 < size <= _MAX_HEADER:
                return None
            header = json.loads(handle.read(size))
    except (OSError, struct.error, ValueError):
        return None
    return header if isinstance(header, dict) else None


def is_cache_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an imagination cache (complete or partial, possibly cut short after its header)."""
    header = _header(Path(path))
    return header is not None and CACHE_KEY in (header.get("__metadata__") or {})


def _what(path: Path) -> str:
    header = _header(path)
    metadata = (header or {}).get("__metadata__") or {}
    if "dwm_gym" in metadata:
        return "a world-model checkpoint"
    if "dwm_gym-agent" in metadata:
        return "an agent"
    if header is not None:
        return "a safetensors file of another kind"
    with open(path, "rb") as handle:
        return "an SB3 agent or another .zip" if handle.read(4) == b"PK\x03\x04" else "not an imagination cache"


def check_cache_target(path: str | os.PathLike | None, flag: str = "--cache-file") -> None:
    """Raises ValueError when ``path`` (or its ``.partial`` file) exists and is not an imagination cache.

    Also refuses a folder, or a path through a file.
    """
    if path is None:
        return
    for candidate in (Path(path), Path(f"{path}.partial")):
        if candidate.is_dir():
            raise ValueError(
                f"{flag} {candidate} is a folder: give a file name, e.g. {candidate / 'cache.safetensors'}"
            )
        if candidate.exists() and not is_cache_file(candidate):
            raise ValueError(
                f"{flag} {candidate} exists and is {_what(candidate)}: a cache file is only replaced when it is an "
                "imagination cache. Give a new path (e.g. runs/caches/hopper_medium_h5.safetensors)"
            )
    for parent in Path(path).parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{flag} {path} goes through the file {parent}: give a path in a folder")


def fill_estimate(done: int, total: int, seconds: float, samples: int) -> str | None:
    """A message with the time a cache fill will take, from its first batch (None when under ten minutes).

    Args:
        done: Transitions imagined in the first batch.
        total: Transitions to imagine.
        seconds: Time the first batch took.
        samples: M, segments per transition (``cache_samples``).
    """
    if done <= 0 or seconds <= 0:
        return None
    left = seconds * total / done
    if left < 600:
        return None
    shown = f"{left / 3600:.1f} hours" if left < 2 * 86400 else f"{left / 86400:.1f} days"
    return (
        f"imagination cache: {total} transitions x {samples} segments will take about {shown} at the rate of the "
        "first batch; a smaller --cache-samples or fewer transitions shortens it in proportion"
    )
