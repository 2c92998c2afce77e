"""Kernel-side cost of the apps of notebooks 06–09, which the page draws from tables (LookupFigure).

StabilityApp (06), StabilityExplorer (07), EquivarianceApp (08) and TeleportApp (09) compute every
state their controls reach when they are built; gaugelab.widgets.lookup.LookupFigure sends the page
tables of those states, so a control move is redrawn in the browser without the kernel. What the
kernel still does, timed here for each app built as its notebook builds it:

* build: the app (its runs) and its widget (figure + the first tables, and the JSON the page gets);
* serve: the answer to a state no table holds (two controls moved within the idle delay): a lookup,
  the figure update and its rounding for the page;
* settle: the tables rebuilt around a new state once the input is idle (apps whose grid is too
  large to send whole; "whole grid" apps rebuild nothing).

Kernel side only: benchmarks/widgets_browser.py measures what the student sees in the browser.

    .venv/bin/python benchmarks/widgets_lookup.py
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import statistics
import time

import torch

import gaugelab as gl
from gaugelab.widgets import front


def _ms(t: float) -> str:
    return f"{t * 1000:.1f} ms"


def bench(name: str, make, repeats: int = 20) -> None:
    t0 = time.perf_counter()
    app = make()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    app.widget  # noqa: B018
    widget = time.perf_counter() - t0
    view = app._view
    states = list(itertools.product(*view.grids.values()))
    names = list(view.grids)
    picks = [dict(zip(names, states[(7919 * i) % len(states)])) for i in range(repeats)]
    serve = []
    for st in picks:
        view._cache.clear()  # a state not computed before: the worst case
        t0 = time.perf_counter()
        front.for_page(view.serve(st))
        serve.append(time.perf_counter() - t0)
    settle = []
    if not view.full:
        for st in picks[: max(3, repeats // 4)]:
            for n, v in st.items():
                view.controls[n].value = v
            t0 = time.perf_counter()
            view.settle()
            settle.append(time.perf_counter() - t0)
    kind = "whole grid" if view.full else "tables around the state"
    kb = len(view.front.tables_json) / 1000
    print(
        f"{name}: build {build:.2f} s, widget {_ms(widget)} ({len(states)} states, {kind}, "
        f"{sum(len(t['values']) for t in view.front.tables)} table entries, {kb:.0f} kB)"
    )
    line = f"  serve median {_ms(statistics.median(serve))}, max {_ms(max(serve))} over {repeats} states"
    if settle:
        line += f"; settle (tables rebuilt) median {_ms(statistics.median(settle))}, max {_ms(max(settle))}"
    print(line)


def main() -> None:
    print(f"load: {os.getloadavg()[0]:.2f}")
    torch.set_num_threads(1)
    data = gl.toy_regression(n_train=32, seed=0)
    x, y, xv = data.x_train, data.y_train, data.x_val

    from gaugelab.protocol import DEFAULT
    from gaugelab.widgets.gauge_optim import EquivarianceApp, TeleportApp
    from gaugelab.widgets.stability import StabilityApp
    from gaugelab.widgets.stability_explorer import StabilityExplorer

    trained = gl.train(gl.two_layer(1, 8, 1, seed=0), x, y, steps=3000, lr=0.1).model
    bench("StabilityApp (06)", lambda: StabilityApp(trained, x, y))
    protocol = dataclasses.replace(DEFAULT, name="notebook", n_seeds=3, steps=300, record_every=5)
    grid = dict(lams=(0.2, 1.0, 5.0), rho0s=(0.0, 2.0), seeds=(0, 1, 2))
    bench("StabilityExplorer (07)", lambda: StabilityExplorer(protocol, **grid, lr=1.4, seed=2))
    net = gl.two_layer(1, 8, 1, seed=0)
    bench("EquivarianceApp (08)", lambda: EquivarianceApp(net, x, y, probe=xv, steps=80))
    deep = gl.train(gl.mlp([1, 8, 8, 1], seed=0), x, y, steps=30, lr=0.05).model
    bench("TeleportApp (09)", lambda: TeleportApp(deep, x, y, steps=20, lr=0.15))
    print(f"load: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
