"""Exercises of notebook 07 (the paper's experiments): expected answers are computed here, not in the cell."""

from __future__ import annotations

import torch

from gaugelab.exercises import exercise
from gaugelab.experiments import seed_edges
from gaugelab.penalty import lambda_upper_limit


@exercise(
    "07.upper_limit",
    hint="take ((nu, na),) = gl.neuron_norms(model), then 1 / (η · max_j(‖u_j‖² + ‖a_j‖²)) as one float.",
    rtol=1e-10,
)
def _upper_limit(model, lr):
    return lambda_upper_limit(model, lr)


@exercise(
    "07.both_edges",
    hint="for each seed (a column of the flags), walk η upwards and stop at the first False; the edge is the "
    "last η before it (0 if the first η already fails). Give the fitted edges of every seed, then the "
    "divergence-only ones (the flags ~diverged), as one list.",
    rtol=1e-12,
)
def _both_edges(fitted, diverged, lrs):
    return torch.cat([seed_edges(fitted, lrs), seed_edges(~diverged, lrs)])


@exercise(
    "07.val_change",
    hint="use sweep.interp_mean and sweep.extrap_mean (means over the fitted seeds) at the two λ indices: "
    "(value at λ) / (value at λ = 0) − 1, first interpolation, then extrapolation.",
    rtol=1e-8,
)
def _val_change(sweep, rho0, lam):
    r, i0, i = sweep.rho0s.index(rho0), sweep.lams.index(0.0), sweep.lams.index(lam)
    return [
        float(sweep.interp_mean[r, i] / sweep.interp_mean[r, i0] - 1),
        float(sweep.extrap_mean[r, i] / sweep.extrap_mean[r, i0] - 1),
    ]
