"""Instant checks for the notebooks' exercises, with the expected answers kept out of sight.

Each exercise is registered by name (``"NN.short_name"``, NN = the notebook) in the module
``gaugelab.exercises.nbNN``, with a function that computes the expected answer from the objects
the exercise cell passes in (a model, a step size, ...), a hint, a tolerance and rules that reject
answers which compute nothing (all zeros, one constant everywhere). The exercise cell shows only::

    check("04.one_step_drift", change, model=model, data=data)

so the student cannot read the answer off the cell. :func:`check` prints a verdict and returns
nothing (no stray ``Out[n]: True``); a wrong answer always comes with the exercise's hint.
:func:`verify` returns the :class:`Verdict` (for tests). ``check`` never raises on a student's
answer: an unattempted exercise (``...`` or None) says so, so every notebook runs top to bottom.

Registering an exercise (in ``gaugelab/exercises/nbNN.py``)::

    from gaugelab.exercises import exercise

    @exercise("04.one_step_drift", hint="η² (‖g_u‖² − ‖g_a‖²), one number per neuron", rtol=1e-9)
    def _(model, data):
        return ...  # the expected answer, computed with the package
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

Rule = Callable[[np.ndarray, np.ndarray], "str | None"]


def not_constant(answer: np.ndarray, expected: np.ndarray) -> str | None:
    """Reject an answer with the same value everywhere when the expected one varies."""
    if expected.size > 1 and np.ptp(expected) > 0 and answer.size > 1 and np.ptp(answer) == 0:
        return (
            f"every entry of your answer is {float(answer.flat[0]):.3g}: it has to be computed "
            "from the model, entry by entry."
        )
    return None


def not_zero(answer: np.ndarray, expected: np.ndarray) -> str | None:
    """Reject an all-zero answer when the expected one is not zero."""
    if np.any(expected != 0) and not np.any(answer != 0):
        return "your answer is zero: it has to be computed, not guessed."
    return None


DEFAULT_RULES: tuple[Rule, ...] = (not_zero, not_constant)


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``expected(**context)`` computes the answer; ``rules`` reject trivial answers."""

    name: str
    expected: Callable
    hint: str
    rtol: float = 1e-8
    atol: float = 1e-12
    rules: tuple[Rule, ...] = DEFAULT_RULES


#: Every registered exercise, by name (filled when ``gaugelab.exercises.nbNN`` is imported).
REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, *, hint: str, rtol: float = 1e-8, atol: float = 1e-12, rules=DEFAULT_RULES):
    """Decorator: register the decorated function as the expected answer of exercise ``name``."""
    if not isinstance(name, str) or len(name) < 4 or not name[:2].isdigit() or name[2] != ".":
        raise ValueError(f"name: expected 'NN.short_name' (NN = notebook number), got {name!r}")
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError(f"hint: expected a non-empty hint for exercise {name!r}")

    def register(fn: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"name: exercise {name!r} is registered twice")
        REGISTRY[name] = Exercise(name, fn, hint.strip(), rtol, atol, tuple(rules))
        return fn

    return register


def get(name: str) -> Exercise:
    """The registered exercise ``name`` (importing its notebook's module on first use)."""
    if name not in REGISTRY and isinstance(name, str) and name[:2].isdigit():
        try:
            importlib.import_module(f"gaugelab.exercises.nb{name[:2]}")
        except ModuleNotFoundError:
            pass
    if name not in REGISTRY:
        raise ValueError(f"name: no exercise called {name!r} (known: {sorted(REGISTRY)})")
    return REGISTRY[name]


def load_all() -> dict[str, Exercise]:
    """Import every ``gaugelab.exercises.nbNN`` module and return the full registry."""
    import pkgutil

    import gaugelab.exercises as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("nb"):
            importlib.import_module(f"gaugelab.exercises.{info.name}")
    return dict(REGISTRY)


@dataclass
class Verdict:
    """The outcome of a check: ``status`` is correct / wrong / trivial / unreadable / not attempted."""

    name: str
    status: str
    message: str
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        return self.message


def as_array(value) -> np.ndarray:
    """Numbers, arrays, tensors and lists/tuples of them (concatenated) as one float array."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
        value = np.concatenate([as_array(v).reshape(-1) for v in value])
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _compare(name, a, e, rtol, atol, hint, rules) -> Verdict:
    if a.shape != e.shape:
        return Verdict(name, "wrong", f"✗ {name}: expected shape {e.shape}, got {a.shape}. Hint: {hint}")
    if not np.all(np.isfinite(a)):
        return Verdict(name, "wrong", f"✗ {name}: your answer contains NaN or inf. Hint: {hint}")
    for rule in rules:
        why = rule(a, e)
        if why:
            return Verdict(name, "trivial", f"✗ {name}: {why} Hint: {hint}")
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return Verdict(name, "correct", f"✓ {name}: correct.")
    worst = float(np.max(np.abs(a - e)))
    return Verdict(
        name, "wrong", f"✗ {name}: not yet (largest difference {worst:.3g}). Hint: {hint}", {"worst": worst}
    )


def verify(name: str, answer, **context) -> Verdict:
    """Check ``answer`` to exercise ``name``; ``context``: the objects its expected answer needs."""
    ex = get(name)
    if answer is None or answer is Ellipsis:
        return Verdict(
            name,
            "not attempted",
            f"… {name}: not attempted yet — replace the `...` in the exercise cell and run it again.",
        )
    try:
        a = as_array(answer)
    except (TypeError, ValueError) as exc:
        return Verdict(name, "unreadable", f"✗ {name}: could not read your answer as numbers ({exc}).")
    e = as_array(ex.expected(**context))
    return _compare(name, a, e, ex.rtol, ex.atol, ex.hint, ex.rules)


def check(name: str, answer, *args, **context) -> None:
    """Print whether ``answer`` solves exercise ``name`` (see :func:`verify`); returns nothing.

    Legacy form, for notebooks not yet moved to the registry: ``check(name, answer, expected,
    rtol=..., atol=..., hint=...)`` compares with a visible ``expected`` (avoid: it shows the answer).
    """
    if args:
        (expected,) = args
        hint = context.pop("hint", "") or "compare your steps with the formula in the text above."
        rtol, atol = context.pop("rtol", 1e-8), context.pop("atol", 1e-12)
        if answer is None or answer is Ellipsis:
            print(f"… {name}: not attempted yet — replace the `...` in the exercise cell and run it again.")
            return
        try:
            a = as_array(answer)
        except (TypeError, ValueError) as exc:
            print(f"✗ {name}: could not read your answer as numbers ({exc}).")
            return
        print(_compare(name, a, as_array(expected), rtol, atol, hint, DEFAULT_RULES).message)
        return
    print(verify(name, answer, **context).message)
