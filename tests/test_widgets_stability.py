"""Notebook 06's stability widget: pure functions (no browser) and its slider observers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gaugelab as gl
from gaugelab.widgets.stability import (
    StabilityApp,
    build_figure,
    orbit_point,
    readout,
    run_from,
    sharpness_along_orbit,
)

ONE = torch.ones(1, 1, dtype=torch.float64)
Y = torch.tensor([[1.5]], dtype=torch.float64)


def scalar_toy(a=1.0, w=1.5):
    model = gl.two_layer(1, 1, 1, bias=False)
    with torch.no_grad():
        model[0].weight.fill_(w)
        model[2].weight.fill_(a)
    return model


@pytest.fixture(scope="module")
def net():
    data = gl.toy_regression(n_train=24, seed=0)
    model = gl.train(gl.two_layer(1, 6, 1, seed=0), data.x_train, data.y_train, steps=2000, lr=0.1).model
    return model, data.x_train, data.y_train


def test_orbit_point_keeps_f_and_sets_every_log_scale(net):
    model, x, _ = net
    bal = gl.balance(model)
    p = orbit_point(bal, 1.3)
    assert torch.allclose(gl.log_scale(p)[0], torch.full((6,), 1.3, dtype=torch.float64), atol=1e-12)
    with torch.no_grad():
        assert float((p(x) - model(x)).abs().max()) < 1e-13


def test_toy_sharpness_along_orbit_is_the_closed_form():
    """THEORY §5: λ_max = |y|(r + 1/r) with r = |w|/|a| = e^ρ, i.e. 2|y| cosh ρ."""
    bal = gl.balance(scalar_toy())
    rhos = np.linspace(-2, 2, 9)
    lam = sharpness_along_orbit(bal, ONE, Y, rhos)
    assert np.allclose(lam, 2 * 1.5 * np.cosh(rhos), rtol=1e-10)
    assert rhos[np.argmin(lam)] == 0.0


@pytest.mark.parametrize("rho", [0.0, 1.5])
def test_run_from_is_stable_below_and_not_above_eta_max(rho):
    bal = gl.balance(scalar_toy())
    (lam,) = sharpness_along_orbit(bal, ONE, Y, [rho])
    kicked = gl.rescale(bal, torch.ones(1, dtype=torch.float64))
    with torch.no_grad():
        kicked[2].weight.add_(1e-3)
    below = run_from(kicked, ONE, Y, rho, 0.9 * 2 / lam, lam, steps=200)
    above = run_from(kicked, ONE, Y, rho, 1.2 * 2 / lam, lam, steps=200)
    assert below.verdict == "stable"
    assert above.verdict != "stable"
    assert below.eta_max == pytest.approx(2 / lam)
    for st in (below, above):
        assert np.isfinite(st.loss).all()


def test_huge_step_is_reported_as_diverged_and_never_nan(net):
    model, x, y = net
    st = run_from(gl.balance(model), x, y, 0.0, 50.0, 5.0, steps=100)
    assert st.diverged and st.verdict.startswith("diverged")
    assert np.isfinite(st.loss).all() and len(st.loss) >= 1
    assert "diverged" in readout(st)


def test_run_from_bad_lr(net):
    model, x, y = net
    with pytest.raises(ValueError, match="^lr"):
        run_from(model, x, y, 0.0, -1.0, 1.0)


def test_figure_and_sliders_update(net):
    model, x, y = net
    app = StabilityApp(model, x, y, n_grid=5, rho_range=(-2, 2), steps=60)
    assert app.lam_max.shape == (5,)
    fig = build_figure(app.rhos, app.lam_max, app.state)
    assert len(fig.data) == 4
    w = app.widget
    assert w.children[0].children[0] is app.rho_slider  # the main (orbit) slider comes first
    title0 = app.fig.layout.title.text
    app.rho_slider.value = 2.0
    assert list(app.fig.data[2].x) == [2.0]
    assert app.fig.data[2].y[0] == pytest.approx(app.lam_max[-1])
    assert "ρ = +2.00" in app.readout.value and app.fig.data[2].name.startswith("chosen point ρ = +2.00")
    old = list(app.fig.data[3].y)
    app.lr_slider.value = 10 ** (math.log10(app.lr) + 0.6)
    assert app.fig.data[1].y[0] == pytest.approx(2 / app.lr_slider.value)
    assert list(app.fig.data[3].y) != old
    assert app.state.verdict in app.readout.value
    assert app.fig.layout.title.text == title0  # values and verdict live in the readout, no relayout


def test_the_page_holds_tables_along_both_sliders_around_the_state(net):
    """The page redraws a move of either slider from its tables; after a move (input idle) the
    tables are rebuilt around the new state; every update is the run the app looks up there."""
    import json

    model, x, y = net
    app = StabilityApp(model, x, y, n_grid=5, rho_range=(-2, 2), steps=30)
    app.widget  # noqa: B018
    view = app._view
    assert not view.full  # 5 ρ × every η of the slider: tables around the state only
    tables = {t["along"]: t for t in json.loads(view.front.tables_json)}
    assert tables["rho"]["at"]["lr"] == pytest.approx(app.lr) and len(tables["rho"]["values"]) == 5
    assert len(tables["lr"]["values"]) == len(app.lr_grid) and tables["lr"]["at"]["rho"] == 0.0
    for rho, upd in zip(tables["rho"]["values"], tables["rho"]["updates"]):
        st = app.compute(rho, app.lr)
        assert upd["traces"]["2"]["x"] == [rho] and upd["traces"]["2"]["y"] == pytest.approx(
            [st.lam_max], 1e-4
        )
        assert upd["traces"]["3"]["y"] == pytest.approx(list(st.loss), rel=1e-4) and upd[
            "readout"
        ] == readout(st)
    app.rho_slider.value = 1.0
    assert view.idle.pending
    view.settle()
    tables = {t["along"]: t for t in json.loads(view.front.tables_json)}
    assert tables["lr"]["at"]["rho"] == 1.0 and tables["rho"]["at"]["lr"] == pytest.approx(app.lr)
    i = len(app.lr_grid) - 1  # the largest η: GD diverges or leaves the point, said in the readout
    verdict = tables["lr"]["updates"][i]["readout"].rsplit("<b style='color:", 1)[1]
    assert verdict.startswith("crimson'>") and ("diverged" in verdict or "unstable" in verdict)


def test_grid_runs_are_the_runs_gl_train_gives(net):
    """Every looked-up run equals run_from (gl.train) at that ρ and η: losses and verdict, stable,
    unstable and diverged alike; an η off the grid is trained on demand."""
    model, x, y = net
    app = StabilityApp(model, x, y, n_grid=3, rho_range=(-2, 2), steps=40, lr_step=0.25)
    verdicts = set()
    for rho in app.rhos:
        for lr in app.lr_grid[::3]:
            got = app.compute(rho, lr)
            ref = run_from(app.balanced, x, y, rho, lr, app.lam_max[app.index(rho)], steps=40)
            assert got.verdict == ref.verdict and got.diverged == ref.diverged
            assert np.array_equal(got.steps, ref.steps)
            assert np.allclose(got.loss, ref.loss, rtol=1e-9, atol=1e-12)
            verdicts.add(got.verdict.split()[0])
    assert {"stable", "diverged"} <= verdicts  # the comparison covers both outcomes
    n = len(app._runs)
    off = app.compute(0.0, 0.0123)
    assert len(app._runs) == n + 1 and off.lr == 0.0123
    with pytest.raises(ValueError, match="^lr_step"):
        StabilityApp(model, x, y, n_grid=2, lr_step=0.0)


def test_show_static_runs_without_a_browser(net, monkeypatch):
    """show_static displays one plotly bundle of the app's initial figure (no kernel, no PNG)."""
    import json

    import IPython.display
    import plotly.io as pio

    monkeypatch.setenv("GAUGELAB_STATIC_PNG", "0")
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.append((objs, kw)))
    model, x, y = net
    app = StabilityApp(model, x, y, n_grid=3, steps=20)
    app.show_static()
    assert len(shown) == 1
    (bundle,), kw = shown[0]
    assert kw.get("raw") is True and "image/png" not in bundle
    spec = bundle["application/vnd.plotly.v1+json"]
    expected = app.figure()
    assert len(spec["data"]) == len(expected.data) == 4
    assert spec["layout"]["title"]["text"] == expected.layout.title.text
    assert spec["data"] == json.loads(pio.to_json(expected, validate=False))["data"]


def test_bad_arguments(net):
    model, x, y = net
    with pytest.raises(ValueError, match="^rho_range"):
        StabilityApp(model, x, y, rho_range=(1, -1))
    with pytest.raises(ValueError, match="^n_grid"):
        StabilityApp(model, x, y, n_grid=1)


def test_precomputed_grid_is_reused_and_checked(net):
    model, x, y = net
    bal = gl.balance(model)
    rhos = np.array([-1.0, 0.0, 1.0])
    lam = sharpness_along_orbit(bal, x, y, rhos)
    app = StabilityApp(model, x, y, grid=(rhos, lam), steps=10)
    assert np.array_equal(app.lam_max, lam) and app.state.rho == 0.0
    with pytest.raises(ValueError, match="^grid"):
        StabilityApp(model, x, y, grid=(rhos[::-1], lam))
