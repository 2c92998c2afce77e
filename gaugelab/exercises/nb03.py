"""Exercises of notebook 03 (conservation): the expected answers, computed from the notebook's data."""

from __future__ import annotations

import math

import gaugelab as gl
from gaugelab.drift import neuron_gradients
from gaugelab.exercises import exercise


@exercise(
    "03.drift_exponents",
    hint="p = log(drift at η / drift at η/2) / log 2, once for the pair (0.04, 0.02) and once for "
    "(0.02, 0.01), computed from the dictionary `drift` (a rounded guess is not enough).",
    rtol=1e-9,
)
def _(drift):
    return [
        math.log(drift[0.04] / drift[0.02]) / math.log(2),
        math.log(drift[0.02] / drift[0.01]) / math.log(2),
    ]


@exercise(
    "03.euler_sides",
    hint="lhs_j = Σ_i U[j, i] gU[j, i] with gU = cat(∇_W L, ∇_b L[:, None]); rhs_j = Σ_i A[j, i] gA[j, i] "
    "with gA = (∇_{W_out} L)ᵀ; each side is one number per neuron, not zero.",
    rtol=1e-9,
    atol=1e-15,
)
def _(model, x, y):
    """Both sides of Euler's identity, u_j·∇_{u_j}L and a_j·∇_{a_j}L, for every neuron."""
    ((g_u, g_a),) = neuron_gradients(model, x, y)
    ((u, a),) = gl.neuron_vectors(model)
    return [(u.detach() * g_u).sum(1), (a.detach() * g_a).sum(1)]
