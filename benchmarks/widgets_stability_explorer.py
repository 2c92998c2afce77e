"""Median update time of notebook 07's stability explorer (target ≤ 50 ms per control move).

Run: .venv/bin/python benchmarks/widgets_stability_explorer.py
The app precomputes its whole (ρ0, seed, λ, η) grid once (one batched GD program, the notebook's
size: 300 steps, η grid of the protocol, λ ∈ {0.2, 1, 5}, ρ0 ∈ {0, 2}, seeds 0–2); a control move
only looks results up and rewrites the FigureWidget in one batch_update. Prints the build time, the
median and max update times over a sequence of moves, and the pure lookup time alone.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import torch

from gaugelab.protocol import DEFAULT
from gaugelab.widgets.stability_explorer import StabilityExplorer


def main(repeats: int = 40) -> None:
    torch.set_num_threads(1)  # as in the notebook: tiny batched runs, one thread is faster on a busy CPU
    protocol = dataclasses.replace(DEFAULT, name="notebook", n_seeds=3, steps=300, record_every=5)
    grid = dict(lams=(0.2, 1.0, 5.0), rho0s=(0.0, 2.0), seeds=(0, 1, 2))
    t0 = time.perf_counter()
    app = StabilityExplorer(protocol, **grid, lr=1.4, seed=2)
    build = time.perf_counter() - t0
    n_runs = app.runs.result.size
    t0 = time.perf_counter()
    app.widget  # noqa: B018  (builds the FigureWidget once)
    first = time.perf_counter() - t0
    lrs = app.lrs
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        kind = i % 8
        if kind == 3:
            app.lam_slider.value = grid["lams"][(i // 8) % 3]
        elif kind == 5:
            app.rho0_slider.value = grid["rho0s"][(i // 8) % 2]
        elif kind == 7:
            app.seed_menu.value = grid["seeds"][(i // 8) % 3]
        else:
            app.lr_slider.value = lrs[(3 * i) % len(lrs)]
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(20):
        app.compute(1.4, 0.2, 2.0, 2)
    pure = (time.perf_counter() - t) / 20
    name = "StabilityExplorer:"
    print(f"{name} build {build:.2f} s ({n_runs} runs × {protocol.steps} GD steps, precomputed once)")
    print(f"{name} first FigureWidget {first * 1000:.0f} ms")
    print(f"{name} median update {statistics.median(times) * 1000:.1f} ms over {repeats} control moves")
    print(f"{name} max update {max(times) * 1000:.1f} ms; pure lookup (compute) {pure * 1000:.2f} ms")


if __name__ == "__main__":
    main()
