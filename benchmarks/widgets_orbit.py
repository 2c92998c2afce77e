"""Kernel-side update times of the orbit explorer and the scalar-toy landscape, headless.

Both widgets are drawn in the page from tables (gaugelab.widgets.front): a slider step computes
nothing in the kernel. What the kernel does compute: the answer to a state no table holds
(``serve``: the closed forms from the s = 0 state, f' on the grid for max |f′ − f|, the update and
its readout), the tables (one state per slider value and per neuron, when the neuron changes) and
the idle-time λ work (:meth:`OrbitExplorer.settle`). Builds the explorer as notebook 01 does (a
width-16 two-layer net trained on the toy regression) and prints medians in milliseconds; then the
landscape's ``serve`` with and without its cache. Kernel side only: benchmarks/widgets_browser.py
measures what the student sees in the browser.

    .venv/bin/python benchmarks/widgets_orbit.py
"""

from __future__ import annotations

import time

import numpy as np

import gaugelab as gl
from gaugelab.widgets.orbit import OrbitExplorer, orbit_state


def _time_serve(explorer: OrbitExplorer, values) -> np.ndarray:
    times = []
    for v in values:
        t0 = time.perf_counter()
        explorer.serve({"s": float(v), "neuron": explorer.neuron})
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000


def main() -> None:
    import subprocess

    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    data = gl.toy_regression(seed=0)
    model = gl.train(gl.two_layer(1, 16, 1, seed=0), data.x_train, data.y_train, steps=2000, lr=0.05).model
    moves = np.round(np.concatenate([np.linspace(-2.5, 2.5, 25), np.linspace(2.45, -2.45, 25)]), 2)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: two-layer, width 16, D = {n_params} parameters; {len(data.x_train)} training points")

    for label, kwargs in (
        ("full explorer (λ_max on release, 10 Lanczos steps)", {}),
        ("compact demo (notebook 00: no λ_max)", {"compact": True}),
    ):
        t0 = time.perf_counter()
        ex = OrbitExplorer(model, data.x_train, data.y_train, **kwargs)
        build = time.perf_counter() - t0
        ms = _time_serve(ex, moves + 0.001)  # off the slider's grid: nothing cached
        print(
            f"{label}: serve a state no table holds: median {np.median(ms):.2f} ms, max {ms.max():.2f} ms "
            f"over {len(ms)} states (build {build:.2f} s)"
        )
        ex._states.clear()
        t0 = time.perf_counter()
        ex.publish_tables()
        dt = 1000 * (time.perf_counter() - t0)
        print(
            f"  tables for a new neuron ({sum(len(t['values']) for t in ex.front.tables)} states, "
            f"{len(ex.front.tables_json) / 1e3:.0f} kB to the page): {dt:.0f} ms"
        )
        if not kwargs:
            ex.slider.value = 1.1  # off the λ profile's grid
            t0 = time.perf_counter()
            ex.settle()
            dt = 1000 * (time.perf_counter() - t0)
            print(f"  λ_max at s = 1.1 and the tables, off the drag path (settle): {dt:.1f} ms")
            other = [o[1] for o in ex.dropdown.options if o[1] != ex.neuron][0]
            t0 = time.perf_counter()
            ex.dropdown.value = other
            ex.settle()
            print(
                f"  after a neuron change, its tables and 25-point λ profile (off the drag path, one "
                f"Lanczos run per event-loop step): {time.perf_counter() - t0:.2f} s"
            )

    from gaugelab.widgets.landscape import LandscapeWidget

    toy = LandscapeWidget(a0=0.3, w0=2.0, lr=0.05, lam=0.5)
    miss, hit = [], []
    for k in range(1, 9):
        state = {"a0": 0.3, "w0": 2.0, "lr": round(0.05 + 0.1 * k, 2), "lam": 1.0}  # two sliders moved
        t0 = time.perf_counter()
        toy.serve(state)  # a jump: nothing computed ahead
        miss.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        toy.serve(state)  # the same state again: cached
        hit.append(time.perf_counter() - t0)
    print(
        f"landscape serve: not cached median {1000 * np.median(miss):.1f} ms, "
        f"cached median {1000 * np.median(hit):.1f} ms"
    )

    # the pure function alone, without widgets
    ts = []
    for s in moves:
        t0 = time.perf_counter()
        orbit_state(model, data.x_train, data.y_train, 6, float(s), sharpness=False)
        ts.append(time.perf_counter() - t0)
    print(f"orbit_state alone (without λ_max, with its s = 0 work): median {1000 * np.median(ts):.1f} ms")


if __name__ == "__main__":
    main()
