"""Exercises of notebook 01 (the rescaling symmetry): the expected answers, measured on the model."""

from __future__ import annotations

import math

import torch

import gaugelab as gl
from gaugelab.exercises import exercise


def _moved(model, j: int, s: float):
    (width,) = gl.hidden_widths(model)
    scales = torch.ones(width, dtype=next(model.parameters()).dtype)
    scales[j] = math.exp(s)
    return gl.rescale(model, scales)


@exercise(
    "01.balanced_move",
    hint="solve ‖u_j‖ e^{s} = ‖a_j‖ e^{−s} for s, neuron by neuron (one number per neuron).",
    rtol=1e-10,
)
def _(model):
    """log α_j of the hard gauge fix, for every neuron."""
    return gl.balancing_scales(model)[0].log()


@exercise(
    "01.theta_sq_on_orbit",
    hint="only ‖u_j‖² and ‖a_j‖² change when neuron j moves: by the factors e^{2s} and e^{−2s}.",
    rtol=1e-10,
    cases=[(-1.0,), (0.5,), (1.5,)],
)
def _(s, model, j):
    """‖θ‖² of the model after moving neuron j by s, measured."""
    return float(sum((p.detach() ** 2).sum() for p in _moved(model, j, s).parameters()))


@exercise(
    "01.grad_on_orbit",
    hint="chain rule: u' = α u, so ∂L/∂u' = (∂L/∂u)/α, with α = e^{s}.",
    rtol=1e-9,
    cases=[(-1.0,), (1.0,), (2.0,)],
)
def _(s, model, x, y, j):
    """‖∇_{u_j} L‖ at the model moved by s along neuron j's orbit, by autograd."""
    from gaugelab.drift import neuron_gradients

    ((g_u, _),) = neuron_gradients(_moved(model, j, s), x, y)
    return float(g_u[j].norm())
