"""Argument checks shared by the public functions: each error names the argument."""

from __future__ import annotations

import math


def positive_number(value, name: str) -> float:
    """``value`` as a float > 0 and finite, else a ValueError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a positive finite number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return v


def nonnegative_number(value, name: str) -> float:
    """``value`` as a float >= 0 and finite, else a ValueError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a non-negative finite number, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name}: expected a non-negative finite number, got {value!r}")
    return v


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return value


def finite_number(value, name: str, what: str = "") -> float:
    """``value`` as a finite float, else a TypeError/ValueError naming ``name`` (and ``what`` it is)."""
    expected = f"a finite number{f' ({what})' if what else ''}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected {expected}, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v
