"""Data sets: the toy regression of the source paper's fig. 2 (our constants) and a teacher–student set.

Toy regression: training inputs x ~ U[−2, 2], targets y = f*(x) + ε with ε ~ N(0, noise²);
validation on a uniform grid over [−3, 3] with the noiseless target. The paper's exact target and
sizes are not known to us; the defaults below are GaugeLab's own (see the protocol in
:mod:`gaugelab.protocol` once the reproduction lands, and the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gaugelab._check import finite_number, nonnegative_number, positive_int
from gaugelab._check import seed as check_seed

TARGETS = {
    "sin": lambda x: torch.sin(2 * x),
    "abs": lambda x: x.abs() - 1,
    "cubic": lambda x: 0.25 * x**3 - x,
}


@dataclass
class Dataset:
    """Training pairs (x_train, y_train) and validation pairs (x_val, y_val), all (N, ·) tensors."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    description: str = ""


def toy_regression(
    n_train: int = 64,
    noise: float = 0.1,
    target: str = "sin",
    n_val: int = 201,
    train_range: tuple[float, float] = (-2.0, 2.0),
    val_range: tuple[float, float] = (-3.0, 3.0),
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Dataset:
    """The 1-D toy regression: x ~ U[train_range], y = f*(x) + N(0, noise²); val grid, no noise.

    Targets: "sin" f*(x) = sin 2x, "abs" |x| − 1, "cubic" x³/4 − x.
    """
    n_train = positive_int(n_train, "n_train")
    n_val = positive_int(n_val, "n_val")
    noise = nonnegative_number(noise, "noise")
    if target not in TARGETS:
        raise ValueError(f"target: expected one of {sorted(TARGETS)}, got {target!r}")
    lo, hi = _interval(train_range, "train_range")
    _interval(val_range, "val_range")
    f = TARGETS[target]
    gen = torch.Generator().manual_seed(check_seed(seed))
    x = lo + (hi - lo) * torch.rand(n_train, 1, generator=gen, dtype=dtype)
    y = f(x) + noise * torch.randn(n_train, 1, generator=gen, dtype=dtype)
    xv = torch.linspace(*val_range, n_val, dtype=dtype)[:, None]
    return Dataset(x, y, xv, f(xv), f"toy regression: y = {target}-target + N(0, {noise}^2)")


def _interval(value, name: str) -> tuple[float, float]:
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a pair (low, high), got {value!r}") from None
    lo, hi = finite_number(lo, name), finite_number(hi, name)
    if not lo < hi:
        raise ValueError(f"{name}: expected low < high, got {value!r}")
    return lo, hi


def teacher_student(
    d_in: int = 5,
    teacher_width: int = 4,
    d_out: int = 1,
    n_train: int = 256,
    n_val: int = 256,
    noise: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[Dataset, nn.Sequential]:
    """Gaussian inputs labelled by a random two-layer ReLU teacher; returns (data, teacher).

    Sizes are positive integers (an empty set is refused); the teacher is seeded by ``seed + 1000``.
    """
    from gaugelab.nets import two_layer

    d_in, teacher_width, d_out = (
        positive_int(v, n) for v, n in ((d_in, "d_in"), (teacher_width, "teacher_width"), (d_out, "d_out"))
    )
    n_train = positive_int(n_train, "n_train")
    n_val = positive_int(n_val, "n_val")
    noise = nonnegative_number(noise, "noise")
    seed = check_seed(seed)
    teacher = two_layer(d_in, teacher_width, d_out, seed=seed + 1000, rho0=0.0, dtype=dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train, d_in, generator=gen, dtype=dtype)
    xv = torch.randn(n_val, d_in, generator=gen, dtype=dtype)
    with torch.no_grad():
        y = teacher(x) + noise * torch.randn(n_train, d_out, generator=gen, dtype=dtype)
        yv = teacher(xv)
    return Dataset(x, y, xv, yv, f"teacher-student: d={d_in}, teacher width {teacher_width}"), teacher
