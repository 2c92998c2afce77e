"""Exercises of notebook 08 (hard gauge fixing, Path-SGD): the expected answers, from gaugelab.optim."""

from __future__ import annotations

import torch

import gaugelab as gl
from gaugelab import optim
from gaugelab.exercises import exercise


@exercise(
    "08.kappa_incoming",
    hint="κ(u_j) is the squared norm of the *other* side of neuron j; one number per neuron.",
    rtol=1e-12,
)
def _(net):
    """Path-SGD's κ on the first incoming weight of every neuron (all of u_j share it)."""
    return optim.path_kappa(net)[0][:, 0]


@exercise(
    "08.adam_state_factors",
    hint="exp_avg ~ g and exp_avg_sq ~ g²; on incoming weights the gradient transforms by 1/α.",
    rtol=1e-12,
    cases=[(3.0,), (0.5,), (2.0,)],
)
def _(alpha):
    """Measured: rescale a real Adam state with optim.rescale_optimizer_state_ and read the factors."""
    net = gl.two_layer(1, 2, seed=0)
    x = torch.linspace(-1, 1, 8, dtype=torch.float64)[:, None]
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        gl.half_mse(net(x), torch.sin(x)).backward()
        opt.step()
    w = net[0].weight
    m0, v0 = opt.state[w]["exp_avg"][0, 0].item(), opt.state[w]["exp_avg_sq"][0, 0].item()
    scales = torch.tensor([alpha, 1.0], dtype=torch.float64)
    optim.rescale_optimizer_state_(opt, net, scales, rule="gradient")
    return [opt.state[w]["exp_avg"][0, 0].item() / m0, opt.state[w]["exp_avg_sq"][0, 0].item() / v0]
