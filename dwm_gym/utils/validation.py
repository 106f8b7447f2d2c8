"""Checks of settings values, shared by the settings dataclasses so every message reads the same.

Each check returns the value (converted where that is lossless) or raises ``ValueError`` naming the
setting, what it got and what is expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any


def integer(name: str, value: Any, minimum: int = 1) -> int:
    """An ``int`` (bools and non-integral numbers refused) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
            value = int(float(value))
        else:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def finite(name: str, value: Any) -> float:
    """A finite real number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def in_range(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """A finite number within [low, high] (``low_open`` / ``high_open``: that end excluded)."""
    number = finite(name, value)
    if number < low or number > high or (low_open and number == low) or (high_open and number == high):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return number


def discount(name: str, value: Any) -> float:
    """A discount factor γ in (0, 1]."""
    return in_range(name, value, 0.0, 1.0, low_open=True)


def non_negative(name: str, value: Any) -> float:
    """A finite number >= 0."""
    return in_range(name, value, 0.0, math.inf)


def choice(name: str, value: Any, options: Iterable[Any]) -> Any:
    """One of ``options``."""
    options = list(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
