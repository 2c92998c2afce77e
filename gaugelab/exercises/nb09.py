"""Exercises of notebook 09 (deep networks, teleportation): the expected answers, from the package."""

from __future__ import annotations

import gaugelab as gl
from gaugelab.exercises import exercise


@exercise(
    "09.rank_bound",
    hint="D counts every weight and bias; H counts the hidden neurons of every hidden layer; "
    "each of the H generators is a null direction of J, so rank J ≤ D − H.",
    rtol=0,
    atol=0,
    cases=[([1, 8, 8, 8, 1],), ([3, 8, 8, 1],), ([2, 5, 1],), ([4, 6, 3, 2],)],
)
def _(sizes):
    """D − H of gl.mlp(sizes): its number of parameters minus its number of orbit generators."""
    net = gl.mlp(sizes, seed=0)
    return sum(p.numel() for p in net.parameters()) - gl.orbit_generators(net).shape[0]


@exercise(
    "09.min_weight_norm",
    hint="teleport with objective='weight_norm' (descent) and read the last entry of .objective; "
    "it should land on the balanced point's ‖θ‖².",
    rtol=1e-3,
)
def _(net):
    """‖θ‖² at the balanced point of net's orbit (gl.balance)."""
    return sum(float((p.detach() ** 2).sum()) for p in gl.balance(net).parameters())
