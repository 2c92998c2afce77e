"""Kernel-side update times of the orbit explorer and the scalar-toy landscape, headless.

Builds the explorer as notebook 01 does (a width-16 two-layer net trained on the toy regression),
moves the slider 50 times (each move runs the observer: the closed forms from the s = 0 state, f'
on the grid for max |f′ − f|, one batch_update of the moving traces, the readout table; λ_max is
left pending) and prints the median and the 90th percentile in milliseconds; then the time of the
idle-time λ work (:meth:`OrbitExplorer.settle`), a neuron switch (no Lanczos on the switch) and
the landscape's slider steps with and without the cache. This measures the kernel side only; the
browser adds its own rendering time (benchmarks/widgets_browser.py measures what the student sees).

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
        _time_moves(ex, [0.1, 0.2, 0.0])  # warm-up
        ms = _time_moves(ex, moves)
        print(
            f"{label}: median {np.median(ms):.1f} ms, 90th percentile {np.percentile(ms, 90):.1f} ms, "
            f"max {ms.max():.1f} ms over {len(ms)} slider moves (build {build:.2f} s)"
        )
        if not kwargs:
            t0 = time.perf_counter()
            ex.settle()
            print(
                f"  λ_max at the last s, off the drag path (settle): "
                f"{1000 * (time.perf_counter() - t0):.1f} ms"
            )
            t0 = time.perf_counter()
            other = [o[1] for o in ex.dropdown.options if o[1] != ex.neuron][0]
            ex.dropdown.value = other
            t1 = time.perf_counter()
            ex.settle()
            t2 = time.perf_counter()
            print(
                f"  neuron change: {1000 * (t1 - t0):.1f} ms; its 25-point λ profile afterwards, off the "
                f"drag path in 25 event-loop steps: {t2 - t1:.2f} s"
            )

    from gaugelab.widgets.landscape import LandscapeWidget

    toy = LandscapeWidget(a0=0.3, w0=2.0, lr=0.05, lam=0.5)
    miss, hit = [], []
    for k in range(1, 9):
        t0 = time.perf_counter()
        toy.lr.value = round(0.05 + 0.1 * k, 2)  # a jump: nothing computed ahead
        miss.append(time.perf_counter() - t0)
        toy.prefetch.flush()  # what the idle event loop does between two key presses
        t0 = time.perf_counter()
        toy.lr.value = round(0.05 + 0.1 * k + 0.01, 2)  # one key step: computed ahead
        hit.append(time.perf_counter() - t0)
    print(
        f"landscape η step: not cached median {1000 * np.median(miss):.1f} ms, "
        f"cached (neighbour computed ahead) median {1000 * np.median(hit):.1f} ms"
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
