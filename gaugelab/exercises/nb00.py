"""Exercises of notebook 00 (start here): the expected answers, computed with the package."""

from __future__ import annotations

import gaugelab as gl
from gaugelab.exercises import exercise


@exercise(
    "00.gauge_dimension",
    hint="one knob per hidden neuron, in every hidden layer; the input and output units have none "
    "(sizes[0] is the input width, sizes[-1] the output width).",
    rtol=0,
    atol=0,
    cases=[([3, 20, 10, 2],), ([1, 8, 8, 8, 1],), ([5, 7, 1],), ([2, 16, 4, 9, 3],)],
)
def _(sizes):
    """The number of orbit generators of gl.mlp(sizes)."""
    return gl.orbit_generators(gl.mlp(sizes, seed=0)).shape[0]
