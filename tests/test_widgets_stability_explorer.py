"""Notebook 07's stability explorer: pure state functions (no browser) and its slider observers."""

from __future__ import annotations

import base64
import dataclasses

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

import gaugelab as gl
import gaugelab.widgets.stability_explorer as se
from gaugelab import experiments as ex
from gaugelab.protocol import DEFAULT
from gaugelab.widgets import front
from gaugelab.widgets.stability_explorer import (
    DELTA_FLOOR,
    StabilityExplorer,
    build_figure,
    explorer_configs,
    explorer_state,
    readout,
    state_update,
)

TINY = dataclasses.replace(DEFAULT, name="tiny", width=8, n_train=32, steps=100, record_every=5, n_seeds=1)
LRS, LAMS, RHO0S, SEEDS = (0.1, 0.5, 3.0), (1.0, 50.0), (0.0, 2.0), (0, 1)


@pytest.fixture(scope="module")
def app():
    return StabilityExplorer(TINY, lrs=LRS, lams=LAMS, rho0s=RHO0S, seeds=SEEDS, lr=0.1, lam=1.0, rho0=2.0)


def reference_run(rho0, seed, lam, lr, record_every=1):
    """The same configuration trained by gl.train (torch.optim.SGD), the package's single-run loop."""
    data = TINY.dataset()
    return gl.train(
        TINY.model(seed, rho0),
        data.x_train,
        data.y_train,
        steps=TINY.steps,
        lr=lr,
        lam=lam,
        record_every=record_every,
        x_val=data.x_val,
        y_val=data.y_val,
        divergence_factor=TINY.divergence_factor,
    )


def test_configs_cover_the_grid_with_a_baseline_for_every_point():
    cfg = explorer_configs(LRS, LAMS, RHO0S, SEEDS)
    assert len(cfg) == len(set(cfg)) == len(RHO0S) * len(SEEDS) * (1 + len(LAMS)) * len(LRS)
    for r, s, _lam, lr in cfg:
        assert (r, s, 0.0, lr) in cfg
    assert {c[2] for c in cfg} == {0.0, *LAMS}


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(lrs=(0.5, 0.1)), ValueError, "^lrs:"),
        (dict(lrs=(0.0, 0.1)), ValueError, "^lrs:"),
        (dict(lams=(0.0, 1.0)), ValueError, "^lams:"),
        (dict(rho0s="ab"), TypeError, "^rho0s:"),
        (dict(seeds=(0, 0)), ValueError, "^seeds:"),
        (dict(seeds=(True,)), TypeError, "^seeds:"),
    ],
)
def test_bad_grids_are_refused_naming_the_argument(kwargs, exc, match):
    args = dict(lrs=LRS, lams=LAMS, rho0s=RHO0S, seeds=SEEDS) | kwargs
    with pytest.raises(exc, match=match):
        explorer_configs(**args)


@pytest.mark.parametrize(
    "config", [(2.0, 0, 0.0, 0.5), (2.0, 1, 1.0, 0.1), (0.0, 0, 50.0, 0.5), (2.0, 0, 0.0, 3.0)]
)
def test_each_arm_is_the_run_gl_train_gives(app, config):
    rho0, seed, lam, lr = config
    st = app.compute(lr, lam if lam > 0 else LAMS[0], rho0, seed)
    arm = st.gauge if lam > 0 else st.baseline
    ref = reference_run(*config)  # every step recorded
    assert arm.diverged == ref.diverged
    assert arm.diverged_step == ref.diverged_step
    ref_steps = ref.steps.numpy()
    assert set(arm.steps) <= set(ref_steps)
    idx = np.searchsorted(ref_steps, arm.steps)
    np.testing.assert_allclose(arm.loss, ref.loss.numpy()[idx], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(
        arm.mean_abs_delta, ref.delta.abs().mean(1).numpy()[idx], rtol=1e-8, atol=1e-12
    )
    assert arm.steps[-1] == ref_steps[-1]  # both end at the last finite state
    if ref.diverged:
        assert arm.steps[-1] == ref.diverged_step - 1
        assert arm.final_loss == pytest.approx(float(ref.loss[-1]), rel=1e-8)
    else:
        assert set(arm.steps) == set(range(0, TINY.steps + 1, TINY.record_every))
        assert arm.final_loss == pytest.approx(ref.final_loss, rel=1e-8)
        assert arm.final_val_mse == pytest.approx(float(ref.val_mse[-1]), rel=1e-8)


def test_a_diverged_arm_is_flagged_and_its_curves_stop_finite(app):
    st = app.compute(3.0, 1.0, 2.0, 0)
    b = st.baseline
    assert b.diverged and isinstance(b.diverged_step, int) and b.diverged_step >= 1
    assert b.verdict == f"diverged at step {b.diverged_step}"
    assert len(b.steps) >= 1 and (b.steps < b.diverged_step).all() and b.steps[-1] == b.diverged_step - 1
    assert np.isfinite(b.loss).all() and np.isfinite(b.mean_abs_delta).all()
    assert f"baseline diverged at step {b.diverged_step}" in readout(st)  # the title line of the readout


def test_too_strong_a_penalty_diverges_where_the_baseline_does_not(app):
    """λ = 50 at η = 0.5: ηλS far above 1 (THEORY §4), the baseline at the same η is stable."""
    st = app.compute(0.5, 50.0, 2.0, 0)
    assert not st.baseline.diverged
    assert st.gauge.diverged
    assert st.lam > st.lam_limit


def test_every_grid_point_gives_finite_curves(app):
    for r in RHO0S:
        for s in SEEDS:
            for lam in LAMS:
                for lr in LRS:
                    st = app.compute(lr, lam, r, s)
                    for arm in (st.baseline, st.gauge):
                        assert len(arm.steps) == len(arm.loss) == len(arm.mean_abs_delta) >= 1
                        assert np.isfinite(arm.loss).all() and np.isfinite(arm.mean_abs_delta).all()
                        assert (np.diff(arm.steps) > 0).all()
                        assert arm.diverged == (arm.diverged_step is not None)
                        if not arm.diverged:
                            assert arm.steps[-1] == TINY.steps


def test_gauge_fixed_imbalance_ends_below_the_baseline(app):
    st = app.compute(0.1, 1.0, 2.0, 0)
    assert not st.baseline.diverged and not st.gauge.diverged
    b, g = st.baseline.mean_abs_delta, st.gauge.mean_abs_delta
    assert b[0] == pytest.approx(g[0])  # same start
    assert g[-1] < 0.1 * b[-1]
    assert (g[1:] < b[1:]).all()


def test_lambda_limit_and_strip_are_computed_from_the_model_and_the_runs(app):
    st = app.compute(0.5, 1.0, 2.0, 1)
    ((nu, na),) = gl.neuron_norms(TINY.model(1, 2.0))
    s = float((nu**2 + na**2).max().detach())
    assert st.stiffness0 == pytest.approx(s, rel=1e-12)
    assert st.lam_limit == pytest.approx(1 / (0.5 * s), rel=1e-12)
    assert st.strip_lrs == list(LRS)
    for k, lr in enumerate(LRS):
        assert st.strip_baseline[k] == (not app.compute(lr, 1.0, 2.0, 1).baseline.diverged)
        assert st.strip_gauge[k] == (not app.compute(lr, 1.0, 2.0, 1).gauge.diverged)
    assert st.edge_baseline == ex.stable_range(torch.tensor(~st.strip_baseline)[:, None], LRS)


def test_off_grid_values_are_refused(app):
    with pytest.raises(ValueError, match="^lr, lam, rho0:"):
        app.compute(0.3, 1.0, 2.0, 0)
    with pytest.raises(ValueError, match="^lam:"):
        explorer_state(app.runs, 0.1, 0.0, 2.0)
    with pytest.raises(ValueError, match="^runs:"):
        StabilityExplorer(runs=app.runs, lrs=LRS, lams=(2.0,), rho0s=RHO0S, seeds=SEEDS)
    with pytest.raises(TypeError, match="^runs:"):
        StabilityExplorer(runs="runs")
    with pytest.raises(ValueError, match="^seed:"):
        StabilityExplorer(runs=app.runs, lrs=LRS, lams=LAMS, rho0s=RHO0S, seeds=SEEDS, seed=7)


def test_reusing_runs_gives_the_same_states(app):
    again = StabilityExplorer(runs=app.runs, lrs=LRS, lams=LAMS, rho0s=RHO0S, seeds=SEEDS)
    assert again.runs is app.runs
    a, b = again.compute(3.0, 50.0, 0.0, 1), app.compute(3.0, 50.0, 0.0, 1)
    assert np.array_equal(a.baseline.loss, b.baseline.loss) and a.gauge.verdict == b.gauge.verdict


def test_a_state_update_writes_the_new_state_into_a_plain_figure(app):
    fig = build_figure(app.compute(0.1, 1.0, 2.0, 0))
    new = app.compute(3.0, 50.0, 0.0, 1)
    front.apply(fig, state_update(new))
    ref = build_figure(new)
    assert fig.layout.title.text == ref.layout.title.text
    for a, b in zip(fig.data, ref.data):
        assert np.array_equal(np.asarray(a.x, dtype=object), np.asarray(b.x, dtype=object))
        assert np.array_equal(np.asarray(a.y, dtype=object), np.asarray(b.y, dtype=object))
        assert a.marker.symbol == b.marker.symbol


def _all_y_finite(fig) -> bool:
    for tr in fig.data:
        y = tr.y if tr.y is not None else ()
        if tr.yaxis in ("y", "y2") and len(y) and not np.isfinite(np.asarray(y, dtype=float)).all():
            return False
    return True


def test_the_widget_reacts_to_its_controls(app):
    w = app.widget
    left, right = w.children[0].children
    assert left.children[0] is app.lr_slider  # η is the first control on the page
    assert app.seed_menu in right.children and w.children[1] is app._view.front
    assert isinstance(app.fig, go.Figure)
    title0 = app.fig.layout.title.text
    assert "baseline stable" in app.readout.value

    app.lr_slider.value = 3.0
    st = app.state
    assert st.lr == 3.0 and st.baseline.diverged
    assert "baseline diverged" in app.readout.value
    assert list(app.fig.data[2].x) == [st.baseline.diverged_step - 1]  # the × on the last finite step
    assert "diverged" in app.readout.value
    assert _all_y_finite(app.fig)

    app.rho0_slider.value = 0.0
    assert "ρ0 = 0:" in app.readout.value and app.state.rho0 == 0.0
    app.lam_slider.value = 50.0
    assert app.state.lam == 50.0 and "λ = 50" in app.fig.data[1].name
    app.seed_menu.value = 1
    assert app.state.seed == 1
    app.lr_slider.value = 0.1
    assert list(app.fig.data[0].x) == list(app.state.baseline.steps)
    assert min(app.fig.data[4].y) >= DELTA_FLOOR  # the balanced start's δ ≈ 0 is drawn at the floor
    assert _all_y_finite(app.fig)
    assert [tuple(app.fig.data[8].marker.symbol)] == [
        tuple("circle" if s else "x" for s in app.state.strip_baseline)
    ]
    assert app.fig.layout.title.text == title0  # nothing is relayouted per move


def test_show_static_emits_plotly_json_and_a_png_at_the_figure_size(app, monkeypatch):
    import IPython.display

    seen, shown = {}, []
    monkeypatch.setattr(se, "static_png", lambda fig, width, height: seen.update(w=width, h=height) or b"PNG")
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    app.show_static()
    (bundle,) = shown
    fig = build_figure(app.state)
    assert bundle["application/vnd.plotly.v1+json"]["layout"]["title"]["text"] == fig.layout.title.text
    assert base64.b64decode(bundle["image/png"]) == b"PNG"
    assert (seen["w"], seen["h"]) == (fig.layout.width, fig.layout.height)


def test_the_page_holds_a_table_along_each_control_at_every_other_value(app):
    """This small grid (24 states) goes to the page whole: for each control, a table along it at
    every combination of the other controls' values (as option indexes: selection widgets sync
    only their index); each update is the app's state there."""
    import itertools
    import json

    app.widget  # noqa: B018
    view = app._view
    assert view.full
    tables = json.loads(view.front.tables_json)
    assert len(tables) == len(LAMS) * len(RHO0S) * len(SEEDS) + len(LRS) * len(RHO0S) * len(SEEDS) + len(
        LRS
    ) * len(LAMS) * len(SEEDS) + len(LRS) * len(LAMS) * len(RHO0S)
    for (j, lam), (k, rho0), (m, seed) in itertools.product(*(enumerate(g) for g in (LAMS, RHO0S, SEEDS))):
        (t,) = [t for t in tables if t["along"] == "lr" and t["at"] == {"lam": j, "rho0": k, "seed": m}]
        assert t["values"] == list(range(len(LRS)))
        for i, lr in enumerate(LRS):
            assert t["updates"][i]["readout"] == readout(app.compute(lr, lam, rho0, seed))
    app.seed_menu.value = SEEDS[1]
    assert not view.idle.pending  # nothing to rebuild: every state is in the page already
