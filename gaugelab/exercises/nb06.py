"""Exercises of notebook 06 (sharpness on the orbit): the expected answers, computed with the package."""

from __future__ import annotations

import math

import numpy as np
import torch

import gaugelab as gl
from gaugelab.exercises import exercise


@exercise(
    "06.toy_eta_max",
    hint="at a minimum of the toy, λ_max = |y| (r + 1/r) and GD is stable for η < 2/λ_max.",
    rtol=1e-8,
    cases=[(2.0, 3.0), (1.5, 1.0), (0.5, 4.0)],
)
def _(y, r):
    """Build the toy minimum a·w = y with |w|/|a| = r and let Lanczos compute 2/λ_max."""
    toy = gl.two_layer(1, 1, 1, bias=False)
    with torch.no_grad():
        toy[0].weight.fill_(math.sqrt(abs(y) * r))  # w
        toy[2].weight.fill_(y / math.sqrt(abs(y) * r))  # a = y / w
    one = torch.ones(1, 1, dtype=torch.float64)
    return gl.max_stable_lr(toy, one, torch.tensor([[y]], dtype=torch.float64))


@exercise(
    "06.eta_safe",
    hint="the sharpest grid point with |ρ| ≤ bound decides: η = 2 / (largest λ_max there).",
    rtol=1e-10,
    cases=[(0.5,), (1.0,), (2.0,)],
)
def _(bound, rhos, lam):
    rhos, lam = np.asarray(rhos), np.asarray(lam)
    return 2 / lam[np.abs(rhos) <= bound + 1e-12].max()
