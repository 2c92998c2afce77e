"""Instant checkers for the notebooks' exercises: compare a student's answer with the package's.

``check`` never raises: it prints a verdict (and a hint) and returns True/False, so a notebook with
an unattempted exercise still runs top to bottom (and under nbval).
"""

from __future__ import annotations

import numpy as np
import torch


def _as_array(value) -> np.ndarray:
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        value = torch.cat([v.detach().reshape(-1) for v in value])
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def check(name: str, answer, expected, *, rtol: float = 1e-8, atol: float = 1e-12, hint: str = "") -> bool:
    """Print whether ``answer`` matches ``expected`` (numbers, arrays, tensors, lists of tensors).

    ``answer`` of None or ``...`` means "not attempted yet".
    """
    if answer is None or answer is Ellipsis:
        print(f"… {name}: not attempted yet — replace the `...` in the exercise cell and run it again.")
        return False
    try:
        a, e = _as_array(answer), _as_array(expected)
    except (TypeError, ValueError) as exc:
        print(f"✗ {name}: could not read your answer as numbers ({exc}).")
        return False
    if a.shape != e.shape:
        print(f"✗ {name}: expected shape {e.shape}, got {a.shape}." + (f" Hint: {hint}" if hint else ""))
        return False
    if np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=False):
        print(f"✓ {name}: correct.")
        return True
    worst = float(np.max(np.abs(a - e)))
    print(f"✗ {name}: not yet (largest difference {worst:.3g})." + (f" Hint: {hint}" if hint else ""))
    return False
