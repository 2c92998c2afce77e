"""Instant checks for the notebooks' exercises, with the expected answers kept out of sight.

Each exercise is registered by name (``"NN.short_name"``, NN = the notebook) in the module
``gaugelab.exercises.nbNN``, with a function that computes the expected answer from the objects
the exercise cell passes in (a model, a step size, ...), a hint, a tolerance and rules that reject
answers which compute nothing (all zeros, one constant everywhere). The exercise cell shows only::

    check("04.one_step_drift", change, model=model, data=data)

so the student cannot read the answer off the cell. :func:`check` prints a verdict and returns
nothing (no stray ``Out[n]: True``); a wrong answer always comes with the exercise's hint, never
with the expected value or the size of the difference (which would give a scalar answer away).
:func:`verify` returns the :class:`Verdict` (for tests). ``check`` never raises on a student's
answer: an unattempted exercise (``...`` or None) says so, so every notebook runs top to bottom.

Registering an exercise (in ``gaugelab/exercises/nbNN.py``)::

    from gaugelab.exercises import exercise

    @exercise("04.one_step_drift", hint="η² (‖g_u‖² − ‖g_a‖²), one number per neuron", rtol=1e-9)
    def _(model, data):
        return ...  # the expected answer, computed with the package

Function exercises: with ``cases=[(arg, ...), ...]`` the student's answer is a function. It is
called on every case, and so is the expected function (``expected(*case, **context)``); the
answers are compared case by case. A function that returns one constant, or that is right on one
case only, is rejected: the cases are chosen so that the expected values differ.
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
            "entry by entry (or case by case), not filled in."
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
    """One exercise: ``expected(**context)`` computes the answer; ``rules`` reject trivial answers.

    ``cases``: None for a value exercise; for a function exercise, the argument tuples the
    student's function (and ``expected``) is called with.
    """

    name: str
    expected: Callable
    hint: str
    rtol: float = 1e-8
    atol: float = 1e-12
    rules: tuple[Rule, ...] = DEFAULT_RULES
    cases: tuple[tuple, ...] | None = None


#: Every registered exercise, by name (filled when ``gaugelab.exercises.nbNN`` is imported).
REGISTRY: dict[str, Exercise] = {}


def exercise(
    name: str, *, hint: str, rtol: float = 1e-8, atol: float = 1e-12, rules=DEFAULT_RULES, cases=None
):
    """Decorator: register the decorated function as the expected answer of exercise ``name``."""
    if not isinstance(name, str) or len(name) < 4 or not name[:2].isdigit() or name[2] != ".":
        raise ValueError(f"name: expected 'NN.short_name' (NN = notebook number), got {name!r}")
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError(f"hint: expected a non-empty hint for exercise {name!r}")
    if cases is not None:
        cases = tuple(c if isinstance(c, tuple) else (c,) for c in cases)
        if len(cases) < 2:
            raise ValueError(f"cases: a function exercise needs at least two cases, got {len(cases)}")

    def register(fn: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"name: exercise {name!r} is registered twice")
        REGISTRY[name] = Exercise(name, fn, hint.strip(), rtol, atol, tuple(rules), cases)
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


def _unattempted(value) -> bool:
    if value is None or value is Ellipsis:
        return True
    if isinstance(value, (list, tuple)):
        return any(_unattempted(v) for v in value)
    return False


def as_array(value) -> np.ndarray:
    """Numbers, arrays, tensors and lists/tuples of them (concatenated) as one float array."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, (torch.Tensor, np.ndarray)) for v in value):
        value = np.concatenate([as_array(v).reshape(-1) for v in value])
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _not_attempted(name: str) -> Verdict:
    return Verdict(
        name,
        "not attempted",
        f"… {name}: not attempted yet — replace the `...` in the exercise cell and run it again.",
    )


def _compare(name, a, e, rtol, atol, hint, rules) -> Verdict:
    if a.shape != e.shape:
        if a.size != e.size:
            what = "one number" if e.size == 1 else f"{e.size} numbers (shape {e.shape})"
            return Verdict(name, "wrong", f"✗ {name}: expected {what}, got shape {a.shape}. Hint: {hint}")
        a = a.reshape(e.shape)
    if not np.all(np.isfinite(a)):
        return Verdict(name, "wrong", f"✗ {name}: your answer contains NaN or inf. Hint: {hint}")
    for rule in rules:
        why = rule(a, e)
        if why:
            return Verdict(name, "trivial", f"✗ {name}: {why} Hint: {hint}")
    close = np.isclose(a, e, rtol=rtol, atol=atol)
    if close.all():
        return Verdict(name, "correct", f"✓ {name}: correct.")
    if e.size > 1 and np.allclose(a, -e, rtol=rtol, atol=atol):
        why = "every entry has the wrong sign."
    elif e.size > 1 and _proportional(a, e, rtol):
        why = "your answer is proportional to the expected one but scaled: check the constant factors."
    elif e.size > 1:
        why = f"{int((~close).sum())} of {e.size} entries are not right yet."
    else:
        why = "not yet."
    return Verdict(name, "wrong", f"✗ {name}: {why} Hint: {hint}", {"n_wrong": int((~close).sum())})


def _proportional(a: np.ndarray, e: np.ndarray, rtol: float) -> bool:
    scale = float(a.reshape(-1) @ e.reshape(-1)) / max(float(e.reshape(-1) @ e.reshape(-1)), 1e-300)
    return scale != 0 and np.allclose(a, scale * e, rtol=max(rtol, 1e-9), atol=0)


def _call_cases(name: str, ex: Exercise, answer, context: dict) -> Verdict | tuple[np.ndarray, np.ndarray]:
    if not callable(answer):
        return Verdict(
            name,
            "unreadable",
            f"✗ {name}: expected a function (it is called on several cases), got {type(answer).__name__}. "
            f"Hint: {ex.hint}",
        )
    got, want = [], []
    for case in ex.cases:
        try:
            value = answer(*case)
        except Exception as exc:  # a student's function may fail in any way: report, never raise
            return Verdict(
                name,
                "unreadable",
                f"✗ {name}: your function raised {type(exc).__name__}: {exc} (on arguments {case!r}). "
                f"Hint: {ex.hint}",
            )
        if _unattempted(value):
            return _not_attempted(name)
        try:
            got.append(as_array(value).reshape(-1))
        except (TypeError, ValueError) as exc:
            return Verdict(
                name, "unreadable", f"✗ {name}: could not read what your function returns as numbers ({exc})."
            )
        want.append(as_array(ex.expected(*case, **context)).reshape(-1))
    if any(g.shape != w.shape for g, w in zip(got, want)):
        sizes = sorted({w.size for w in want})
        return Verdict(
            name,
            "wrong",
            f"✗ {name}: your function should return {' or '.join(map(str, sizes))} number(s). "
            f"Hint: {ex.hint}",
        )
    return np.concatenate(got), np.concatenate(want)


def verify(name: str, answer, **context) -> Verdict:
    """Check ``answer`` to exercise ``name``; ``context``: the objects its expected answer needs."""
    ex = get(name)
    if _unattempted(answer):
        return _not_attempted(name)
    if ex.cases is not None:
        out = _call_cases(name, ex, answer, context)
        if isinstance(out, Verdict):
            return out
        a, e = out
    else:
        try:
            a = as_array(answer)
        except (TypeError, ValueError) as exc:
            return Verdict(
                name,
                "unreadable",
                f"✗ {name}: could not read your answer as numbers ({exc}). Hint: {ex.hint}",
            )
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
        if _unattempted(answer):
            print(_not_attempted(name).message)
            return
        try:
            a = as_array(answer)
        except (TypeError, ValueError) as exc:
            print(f"✗ {name}: could not read your answer as numbers ({exc}). Hint: {hint}")
            return
        print(_compare(name, a, as_array(expected), rtol, atol, hint, DEFAULT_RULES).message)
        return
    print(verify(name, answer, **context).message)
