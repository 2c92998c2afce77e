"""Median update time of the notebook-06 stability widget (target ≤ 50 ms per slider move).

Run: .venv/bin/python benchmarks/widgets_stability.py
Python side only (the browser latency is benchmarks/widgets_browser.py). Every (ρ, η) of the two
sliders is trained when the app is built (one batched program); one update = a lookup + writing the
moving traces of the FigureWidget in one batch_update. Prints the build time, the median and max
update over slider moves along the sliders' own grids, and one GD run off the grid (gl.train).
"""

from __future__ import annotations

import statistics
import time

import gaugelab as gl
from gaugelab.widgets.stability import StabilityApp


def main(repeats: int = 20) -> None:
    data = gl.toy_regression(n_train=32, seed=0)
    model = gl.train(gl.two_layer(1, 8, 1, seed=0), data.x_train, data.y_train, steps=3000, lr=0.1).model
    t0 = time.perf_counter()
    app = StabilityApp(model, data.x_train, data.y_train)
    build = time.perf_counter() - t0
    app.widget  # noqa: B018  (builds the FigureWidget once)
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        if i % 2:
            app.rho_slider.value = float(app.rhos[(3 * i) % len(app.rhos)])
        else:
            app.lr_slider.value = float(app.lr_grid[(7 * i) % len(app.lr_grid)])
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    app.compute(0.0, app.lr * 1.0123)  # off the slider grid: trained now
    off_grid = time.perf_counter() - t
    print(
        f"StabilityApp: build {build * 1000:.0f} ms (λ_max on {len(app.rhos)} orbit points, "
        f"{len(app._runs)} GD runs of {app.steps} steps)"
    )
    print(f"StabilityApp: median update {statistics.median(times) * 1000:.1f} ms over {repeats} slider moves")
    print(f"StabilityApp: max update {max(times) * 1000:.1f} ms; a run off the grid {off_grid * 1000:.1f} ms")


if __name__ == "__main__":
    main()
