"""Median update time of the orbit explorer (gaugelab.widgets.orbit), headless.

Builds the explorer as notebook 01 does (a width-16 two-layer net trained on the toy regression),
moves the slider 50 times (each move runs the observer: orbit_state, λ_max by Lanczos, the
FigureWidget update in batch_update, the readout table) and prints the median and the 90th
percentile in milliseconds. Target: median ≤ 50 ms, so that continuous_update=True stays fluid.
This measures the kernel side only; the browser adds its own rendering time (STACK.md: ~0.1 s
for a slider key step end to end).

    .venv/bin/python benchmarks/widgets_orbit.py
"""

from __future__ import annotations

import time

import numpy as np

import gaugelab as gl
from gaugelab.widgets.orbit import OrbitExplorer, orbit_state


def _time_moves(explorer: OrbitExplorer, values) -> np.ndarray:
    times = []
    for v in values:
        t0 = time.perf_counter()
        explorer.slider.value = float(v)
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000


def main() -> None:
    data = gl.toy_regression(seed=0)
    model = gl.train(gl.two_layer(1, 16, 1, seed=0), data.x_train, data.y_train, steps=2000, lr=0.05).model
    moves = np.round(np.concatenate([np.linspace(-2.5, 2.5, 25), np.linspace(2.45, -2.45, 25)]), 2)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: two-layer, width 16, D = {n_params} parameters; {len(data.x_train)} training points")

    for label, kwargs in (
        ("full explorer (λ_max live, 10 Lanczos steps)", {}),
        ("compact demo (notebook 00: no λ_max)", {"compact": True}),
    ):
        t0 = time.perf_counter()
        ex = OrbitExplorer(model, data.x_train, data.y_train, **kwargs)
        build = time.perf_counter() - t0
        _time_moves(ex, [0.1, 0.2, 0.0])  # warm-up
        ms = _time_moves(ex, moves)
        print(
            f"{label}: median {np.median(ms):.1f} ms, 90th percentile {np.percentile(ms, 90):.1f} ms, "
            f"max {ms.max():.1f} ms over {len(ms)} slider moves (build {build:.2f} s)"
        )
        if not kwargs:
            t0 = time.perf_counter()
            other = [o[1] for o in ex.dropdown.options if o[1] != ex.neuron][0]
            ex.dropdown.value = other
            print(f"  neuron change (recomputes the 25-point profile): {time.perf_counter() - t0:.2f} s")

    # the pure function alone, without widgets
    ts = []
    for s in moves:
        t0 = time.perf_counter()
        orbit_state(model, data.x_train, data.y_train, 6, float(s))
        ts.append(time.perf_counter() - t0)
    print(f"orbit_state alone (with λ_max): median {1000 * np.median(ts):.1f} ms")


if __name__ == "__main__":
    main()
