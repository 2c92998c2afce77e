"""Exercises of notebook 04 (broken conservation): the expected answers, measured with gl.train."""

from __future__ import annotations

import gaugelab as gl
from gaugelab.exercises import exercise


@exercise(
    "04.one_step_drift",
    hint="δ_j' − δ_j = η² (‖g_{u_j}‖² − ‖g_{a_j}‖²) for plain GD, one number per neuron, from gu2 and ga2.",
    rtol=1e-9,
    atol=1e-15,
)
def _(model, x, y, lr):
    """The change of every δ_j in one step of gl.train (plain GD), measured."""
    run = gl.train(model, x, y, steps=1, lr=lr)
    return run.delta[-1] - run.delta[0]


@exercise(
    "04.weight_decay_factor",
    hint="weight decay alone multiplies δ_j by (1 − ημ)² at every step; after k steps ...",
    rtol=1e-9,
    cases=[(400, 0.05, 0.05), (100, 0.1, 0.5), (10, 0.3, 1.0)],
)
def _(k, lr, mu):
    """(1 − ημ)^{2k}: the factor weight decay alone puts on δ_j in k steps (THEORY §3)."""
    return (1 - lr * mu) ** (2 * k)
