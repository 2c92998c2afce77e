"""Exercises of notebook 02 (gauge coordinates): the expected answers, computed with the package."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev

import gaugelab as gl
from gaugelab.coords import GaugeCoordinates
from gaugelab.exercises import exercise


@exercise(
    "02.invariant_by_hand",
    hint="u_j = (w_j, b_j) is row j of the first layer plus its bias; a_j is column j of model[2].weight; "
    "v_j = a_j u_jᵀ is their outer product, shape (1, 2).",
    rtol=1e-12,
)
def _(model, j):
    return gl.gauge_coordinates(model).v[j]


@exercise(
    "02.chart",
    hint="‖u‖ = √‖v‖ e^{ρ/2}, ‖a‖ = √‖v‖ e^{−ρ/2}, δ = ‖u‖² − ‖a‖²; return [δ, ‖u‖, ‖a‖].",
    rtol=1e-10,
    cases=[(0.7, -1.2), (2.0, 0.5), (0.3, 1.5)],
)
def _(v_norm, rho):
    """Build a one-neuron net from the chart (gl.from_gauge_coordinates) and measure it."""
    v = torch.tensor([[[0.6, 0.8]]], dtype=torch.float64) * v_norm  # ‖v‖ = v_norm
    coords = GaugeCoordinates(
        v=v,
        rho=torch.tensor([rho], dtype=torch.float64),
        a_dir=torch.ones(1, 1, dtype=torch.float64),
        c=None,
        activation=nn.ReLU(),
        hidden_bias=True,
    )
    net = gl.from_gauge_coordinates(coords)
    ((nu, na),) = gl.neuron_norms(net)
    (delta,) = gl.imbalance(net)
    return [float(delta[0].detach()), float(nu[0].detach()), float(na[0].detach())]


def _null_dimension(m: int, seed: int = 5, per_piece: int = 3, rtol: float = 1e-10) -> int:
    """D − rank J for gl.two_layer(1, m, seed) on ``per_piece`` inputs inside every linear piece."""
    net = gl.two_layer(1, m, seed=seed)
    with torch.no_grad():
        kinks = torch.sort(-net[0].bias / net[0].weight[:, 0]).values
    edges = torch.cat([kinks[:1] - 1, kinks, kinks[-1:] + 1])
    t = torch.arange(1, per_piece + 1, dtype=torch.float64) / (per_piece + 1)
    x = (edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * t).reshape(-1, 1)
    params = {k: p.detach() for k, p in net.named_parameters()}
    jac = jacrev(lambda p: functional_call(net, p, (x,)))(params)
    J = torch.cat([jac[k].reshape(x.shape[0], -1) for k in params], dim=1)
    sv = torch.linalg.svdvals(J)
    return J.shape[1] - int((sv > rtol * sv[0]).sum())


@exercise(
    "02.null_dimension",
    hint="on generic inputs the only directions the data cannot see are the gauge directions: "
    "how many are there for m hidden neurons?",
    rtol=0,
    atol=0,
    cases=[(3,), (7,), (12,)],
)
def _(m):
    """Measured: D − rank J of a fresh width-m net on three inputs per linear piece."""
    return _null_dimension(m)
