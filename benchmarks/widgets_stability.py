"""Median update time of the notebook-06 stability widget (target ≤ 50 ms per slider move).

Run: .venv/bin/python benchmarks/widgets_stability.py
One update = one short GD run (gl.train, the app's default steps) + writing the figure widget.
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
            app.lr_slider.value = app.lr * (1.5 if i % 4 else 0.7)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    app.compute(0.0, app.lr)
    pure = time.perf_counter() - t
    print(f"StabilityApp: build {build * 1000:.0f} ms (λ_max on {len(app.rhos)} orbit points)")
    print(f"StabilityApp: median update {statistics.median(times) * 1000:.1f} ms over {repeats} slider moves")
    print(f"StabilityApp: max update {max(times) * 1000:.1f} ms; pure compute once {pure * 1000:.1f} ms")


if __name__ == "__main__":
    main()
