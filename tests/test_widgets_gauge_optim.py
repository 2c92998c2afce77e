"""Notebooks 08 and 09's apps (gauge_optim.EquivarianceApp, TeleportApp) on LookupFigure, headless.

Every state their controls reach is precomputed, so the page gets a table of every state: what each
table draws must be the state the app computes for those control values, and moving a control from
code (or from the page) must leave the Python mirror showing the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gaugelab as gl
from gaugelab.widgets.gauge_optim import EquivarianceApp, TeleportApp
from gaugelab.widgets.lookup import LookupFigure


@pytest.fixture(scope="module")
def data():
    d = gl.toy_regression(n_train=16, seed=0)
    return d.x_train, d.y_train, d.x_val


@pytest.fixture(scope="module")
def equivariance(data):
    x, y, xv = data
    app = EquivarianceApp(gl.two_layer(1, 6, 1, seed=0), x, y, probe=xv, steps=20)
    assert app.widget is not None
    return app


@pytest.fixture(scope="module")
def tele(data):
    x, y, _ = data
    net = gl.train(gl.mlp([1, 6, 6, 1], seed=0), x, y, steps=20, lr=0.05).model
    app = TeleportApp(net, x, y, steps=6, lr=0.1)
    assert app.widget is not None
    return app


def _page_tables(app) -> list:
    return json.loads(app._view.front.tables_json)


def test_equivariance_page_holds_every_spread_and_draws_its_curves(equivariance):
    app = equivariance
    (t,) = _page_tables(app)
    assert t["along"] == "s" and t["complete"] and len(t["values"]) == len(app.spreads)
    assert t["values"] == list(range(len(app.spreads)))  # a SelectionSlider syncs its option index
    for i, spread in enumerate(app.spreads):
        for k, (name, (_, gap)) in enumerate(app.curves(spread).items()):
            drawn = t["updates"][i]["traces"][str(k)]
            np.testing.assert_allclose(drawn["y"], gap, rtol=1e-4)
            assert drawn["name"] == f"{name} (s = {spread:.1f})"
        assert f"s = {spread:.2f}" in t["updates"][i]["readout"]
    assert app._view.full and app._view.front.served == 0


def test_equivariance_mirror_follows_the_slider(equivariance):
    app = equivariance
    for spread in (app.spreads[0], app.spreads[-1]):
        app.slider.value = spread
        gap_gd = app.curves(spread)["GD"][1]
        np.testing.assert_array_equal(app.fig.data[0].y, gap_gd)
        assert app.readout.value == app.summary(spread) and app.spread == spread
    # the spread 0 start is the same network: every optimiser's gap stays at the floor's order
    assert max(float(app.curves(0.0)[n][1].max()) for n in app.curves(0.0)) < 1e-12


def test_teleport_page_holds_a_table_along_each_control_at_every_value_of_the_other(tele):
    app = tele
    tables = _page_tables(app)
    along_k = [t for t in tables if t["along"] == "k"]
    along_run = [t for t in tables if t["along"] == "run"]
    assert len(along_k) == len(app.tracks) and len(along_run) == app.steps + 1
    labels = list(app.tracks)
    for t in along_k:
        label = labels[t["at"]["run"]]  # ToggleButtons: the page holds the option index
        for k, upd in zip(t["values"], t["updates"]):
            st = app.state(label, k)
            np.testing.assert_allclose(upd["traces"]["2"]["y"], st["rho"], rtol=1e-4, atol=1e-4)
            assert upd["traces"]["1"]["y"] == pytest.approx([st["J"]], rel=1e-4)
            assert f"{label}, step {k}" in upd["readout"]
    for t in along_run:
        assert t["values"] == list(range(len(labels)))
        for i, upd in enumerate(t["updates"]):
            np.testing.assert_allclose(upd["traces"]["0"]["y"], app.tracks[labels[i]].objective, rtol=1e-4)


def test_teleport_mirror_follows_both_controls(tele):
    app = tele
    other = list(app.tracks)[1]
    app.toggle.value, app.slider.value = other, app.steps
    st = app.state(other, app.steps)
    np.testing.assert_allclose(app.fig.data[2].y, st["rho"])
    assert app.fig.data[1].name == f"step {app.steps}" and app.readout.value.startswith(f"<b>{other}")
    # teleporting moves along the orbit: the function barely changes, the scales do
    assert st["function_change"] < 1e-4
    assert np.abs(st["rho"] - app.state(other, 0)["rho"]).max() > 1e-3


def test_a_large_grid_gets_tables_around_the_state_rebuilt_when_idle():
    import ipywidgets as W
    import plotly.graph_objects as go

    a = W.IntSlider(value=0, min=0, max=9)
    b = W.IntSlider(value=0, min=0, max=9)
    calls = []

    def update_at(st):
        calls.append(st)
        return {"traces": {"0": {"y": [st["a"], st["b"]]}}, "readout": f"{st['a']},{st['b']}"}

    view = LookupFigure(go.Figure([go.Scatter(y=[0, 0])]), {"a": a, "b": b},
                        {"a": range(10), "b": range(10)}, update_at, max_updates=50)  # fmt: skip
    assert not view.full and view.table_updates_needed() == 200
    assert {t["along"]: t["at"] for t in view.front.tables} == {"a": {"b": 0}, "b": {"a": 0}}
    a.value = 4
    assert view.idle.pending and view.readout.value == "4,0"
    view.settle()
    assert {t["along"]: t["at"] for t in view.front.tables} == {"a": {"b": 0}, "b": {"a": 4}}
    assert view.serve({"a": 7, "b": 3})["readout"] == "7,3"
    assert len(calls) == len({(c["a"], c["b"]) for c in calls})  # each state computed once (cache)


def test_bad_arguments_are_named():
    import ipywidgets as W
    import plotly.graph_objects as go

    a = W.IntSlider()
    with pytest.raises(ValueError, match=r"^update_at:"):
        LookupFigure(go.Figure(), {"a": a}, {"a": [0]}, None)
    with pytest.raises(ValueError, match=r"^grids: expected one grid per control"):
        LookupFigure(go.Figure(), {"a": a}, {"b": [0]}, lambda st: {})
    with pytest.raises(ValueError, match=r"^grids: the grid of 'a' is empty"):
        LookupFigure(go.Figure(), {"a": a}, {"a": []}, lambda st: {})


def test_equivariance_app_curves_and_slider():
    from gaugelab.widgets.gauge_optim import FLOOR, EquivarianceApp

    data = gl.toy_regression(n_train=16, seed=0)
    model = gl.two_layer(1, 4, 1, seed=0)
    app = EquivarianceApp(model, data.x_train, data.y_train, spreads=(0.0, 1.0), steps=20)
    assert all(np.all(gap == FLOOR) for _, gap in app.curves(0.0).values())  # identical starts
    c = app.curves(1.0)
    assert c["Path-SGD"][1].max() < 1e-12 and c["GD"][1][-1] > 1e-4
    assert app.widget is not None
    title0 = app.fig.layout.title.text
    assert app.slider.value == 1.0 and app.fig.data[0].name == "GD (s = 1.0)"
    app.slider.value = 0.0
    assert "s = 0.00" in app.readout.value and app.fig.data[0].name == "GD (s = 0.0)"
    assert np.all(np.asarray(app.fig.data[0].y) == FLOOR)
    app.slider.value = 1.0
    assert "s = 1.00" in app.readout.value and "Path-SGD" in app.readout.value
    assert np.array_equal(app.fig.data[0].y, c["GD"][1]) and app.fig.layout.title.text == title0


def test_teleport_app_keeps_f_and_slider_updates():
    from gaugelab.widgets.gauge_optim import TeleportApp

    data = gl.toy_regression(n_train=16, seed=0)
    model = gl.mlp([1, 4, 4, 1], seed=0)
    app = TeleportApp(model, data.x_train, data.y_train, steps=5)
    for label in app.tracks:
        st = app.state(label, 5)
        assert st["function_change"] < 1e-12 and st["rho"].shape == (8,)
    assert app.widget is not None
    app.slider.value = 5
    assert list(app.fig.data[1].x) == [5] and app.fig.data[1].name == "step 5"
    assert "step 5" in app.readout.value
    other = list(app.tracks)[1]
    app.toggle.value = other
    tr = app.tracks[other]
    assert np.array_equal(app.fig.data[0].y, tr.objective) and app.fig.data[1].y[0] == tr.objective[5]
    assert np.allclose(app.fig.data[2].y, tr.rho[5]) and other in app.readout.value
