"""Median update time of the notebook-03/04/05 widgets (target ≤ 50 ms per move of the main control).

Run: .venv/bin/python benchmarks/widgets_dynamics.py
RelaxationPlayer: a λ or η move looks its run up once the player has filled the λ row and η column
around the current point (fill_all_nearby, what the idle kernel does; the fill time is printed); a
time-slider move only moves the markers. Python side only (browser: benchmarks/widgets_browser.py).
LandscapeWidget: one a₀ move = two toy GD
runs (with and without the penalty) + figure. Times are wall-clock in this process (no browser).
"""

from __future__ import annotations

import statistics
import time

from gaugelab.widgets.landscape import LandscapeWidget
from gaugelab.widgets.relaxation import RelaxationPlayer


def timed_moves(slider, values) -> list[float]:
    times = []
    for v in values:
        t = time.perf_counter()
        slider.value = v
        times.append(time.perf_counter() - t)
    return times


def report(name: str, times: list[float]) -> None:
    ms = [1000 * t for t in times]
    print(f"{name}: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms over {len(ms)} moves")


def main(moves: int = 50) -> None:
    t = time.perf_counter()
    player = RelaxationPlayer()
    print(f"RelaxationPlayer: build {1000 * (time.perf_counter() - t):.0f} ms")
    t = time.perf_counter()
    player.fill_all_nearby()
    fill = 1000 * (time.perf_counter() - t)
    print(f"RelaxationPlayer: λ row + η column ({len(player._runs)} runs) {fill:.0f} ms")
    lams = [0.1 + 0.05 * (i % 40) for i in range(moves)]
    report(
        f"RelaxationPlayer λ slider (η = {player.lr.value:.2f}, {player.run.steps} steps)",
        timed_moves(player.lam, lams),
    )
    report("RelaxationPlayer time slider", timed_moves(player.frame, [(7 * i) % 101 for i in range(moves)]))
    player.lr.value = player.lr.min
    player.fill_all_nearby()
    report(
        f"RelaxationPlayer λ slider at the smallest η = {player.lr.value:.2f} ({player.run.steps} steps)",
        timed_moves(player.lam, lams),
    )

    t = time.perf_counter()
    app = LandscapeWidget()
    print(f"LandscapeWidget: build {1000 * (time.perf_counter() - t):.0f} ms")
    a0s = [-2.0 + 0.1 * (i % 40) for i in range(moves)]
    report(f"LandscapeWidget a₀ slider ({app.steps} steps × 2 paths)", timed_moves(app.a0, a0s))


if __name__ == "__main__":
    main()
