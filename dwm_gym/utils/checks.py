"""Checks shared by every command and loader: numeric options at parse time, finite tensors, output paths.

Command-line numbers go through the argparse types here, so a bad value stops the command before any
work, with argparse's usage line and a message naming the flag (``argument --seed: must be an integer >= 0,
got -1``)::

    parser.add_argument("--seed", type=int_at_least(0), default=0)
    parser.add_argument("--rtg", type=finite_float, default=None)
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_output_file", "finite_float", "float_in", "int_at_least", "non_finite"]


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``minimum`` (``1e3`` accepted, ``2.5`` refused)."""

    def parse(text: str) -> int:
        try:
            value = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        if int(value) < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return int(value)

    parse.__name__ = f"integer >= {minimum}"
    return parse


def finite_float(text: str) -> float:
    """An argparse ``type``: a finite real number (``nan`` and ``inf`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def float_in(low: float, high: float, low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in [low, high] (an ``_open`` end excluded)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        value = finite_float(text)
        if value < low or value > high or (low_open and value == low) or (high_open and value == high):
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text!r}")
        return value

    parse.__name__ = f"number in {interval}"
    return parse


def non_finite(tensors: Mapping[str, Any]) -> list[str]:
    """Names of the floating-point tensors or arrays in ``tensors`` holding NaN or ±inf (integers are skipped)."""
    bad = []
    for name, value in tensors.items():
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            bad.append(name)
    return bad


def check_output_file(path: str | os.PathLike | None, flag: str) -> Path | None:
    """``path`` as a file that can be written: not a folder, no file on the way to it (None passes through).

    Call it before the work whose result goes there, so a bad path fails in a second, not at the end.

    Raises:
        ValueError: Naming ``flag`` and what is wrong.
    """
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder: give a file name, e.g. {path / 'result.json'}")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"{flag} {path} goes through the file {parent}: give a path in a folder")
    return path
