"""Argument checks shared by the public functions: each error names the argument."""

from __future__ import annotations

import math
import operator

import torch


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


def integer(value, name: str, minimum: int | None = None) -> int:
    """``value`` as an int (Python or numpy integer, not bool, never a truncated float), >= ``minimum``."""
    expected = "an integer" if minimum is None else f"an integer >= {minimum}"
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected {expected}, got {value!r}") from None
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return v


def positive_int(value, name: str) -> int:
    """``value`` as an int >= 1 (a float such as 2.5 or 2.0 is refused, not truncated)."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}") from None
    if v < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return v


def seed(value, name: str = "seed") -> int:
    """A random seed: an integer >= 0."""
    return integer(value, name, minimum=0)


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


def finite_tensor(t: torch.Tensor, name: str) -> torch.Tensor:
    """``t`` unchanged if every entry is finite, else a ValueError naming ``name``."""
    if t.is_floating_point() or t.is_complex():
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            raise ValueError(
                f"{name}: expected finite values, got {int(bad.sum())} NaN/inf entr"
                f"{'y' if int(bad.sum()) == 1 else 'ies'} out of {t.numel()}"
            )
    return t


def betas(value, name: str = "betas") -> tuple[float, float]:
    """Adam's (β1, β2), each a number in [0, 1)."""
    try:
        b1, b2 = (float(b) for b in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected two numbers (beta1, beta2) in [0, 1), got {value!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"{name}: expected two numbers (beta1, beta2) in [0, 1), got {value!r}")
    return b1, b2


def log_scale_limit(dtype: torch.dtype) -> float:
    """The largest |log α| (and |ρ0|) accepted: ln(max float)/4, 177 in float64 and 22 in float32.

    A neuron at log-scale ρ has ‖u‖² ≈ ‖v‖ e^{ρ}; within this limit ‖u‖⁴ (the penalty's δ²) and the
    Hessian of the loss stay finite for weights of order one.
    """
    return math.log(torch.finfo(dtype).max) / 4


META_DEVICE = (
    "model: its parameters are on the 'meta' device (shapes without values); expected a model on a real "
    "device (e.g. model.to_empty(device='cpu'), then initialise it)"
)


def model_values(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` unchanged if its parameters hold finite numbers, else a ValueError naming ``model``."""
    for name, p in model.named_parameters():
        if p.is_meta:
            raise ValueError(META_DEVICE)
        if bool((~torch.isfinite(p.detach())).any()):
            raise ValueError(f"model: parameter {name!r} holds NaN or inf values")
    return model


def validation_pair(x_val, y_val) -> bool:
    """True if both validation inputs and targets are given, False if neither; else a ValueError."""
    if (x_val is None) != (y_val is None):
        given, missing = ("x_val", "y_val") if y_val is None else ("y_val", "x_val")
        raise ValueError(
            f"{given}: given without {missing}; pass both (validation inputs and targets) or neither"
        )
    return x_val is not None
