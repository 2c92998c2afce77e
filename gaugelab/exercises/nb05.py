"""Exercises of notebook 05 (soft gauge fixing): the expected answers, computed with the package."""

from __future__ import annotations

import gaugelab as gl
from gaugelab.exercises import exercise


@exercise(
    "05.relaxation_rate",
    hint="the rate near balance is 4 λ ‖v_j‖, one number per neuron (‖v_j‖ from gl.path_norm).",
    rtol=1e-12,
)
def _(model, lam):
    return gl.relaxation_rate(gl.flat(gl.path_norm(model)).detach(), lam)


@exercise(
    "05.lambda_limit",
    hint="λ_max(η) = 1 / (η max_j (‖u_j‖² + ‖a_j‖²)), with the norms of gl.neuron_norms(model).",
    rtol=1e-12,
    cases=[(0.05,), (0.1,), (0.3,)],
)
def _(lr, model):
    return gl.lambda_upper_limit(model, lr)
