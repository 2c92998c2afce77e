"""The imbalance-decay player and the scalar-toy landscape: their pure functions follow THEORY §3–§5,
and the widget objects react to slider moves in plain pytest (no kernel, no browser)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gaugelab as gl
from gaugelab.widgets.landscape import (
    LandscapeWidget,
    imbalance_curve,
    loss_grid,
    orbit_curve,
    toy_descent,
    toy_model,
)
from gaugelab.widgets.relaxation import (
    RelaxationPlayer,
    closed_form_imbalance,
    demo_model,
    penalty_descent,
    penalty_descent_batch,
    step_at_frame,
)

# --- penalty-only descent and the closed form (THEORY §4) ------------------------------------


def independent_penalty_steps(model, lam, lr, steps):
    """THEORY §4's discrete step, written out by hand: u ← (1 − ηλδ)u, a ← (1 + ηλδ)a."""
    ((u, a),) = gl.neuron_vectors(model)
    u, a = u.detach().clone(), a.detach().clone()
    out = []
    for _ in range(steps + 1):
        d = (u**2).sum(1) - (a**2).sum(1)
        out.append(d)
        u, a = (1 - lr * lam * d)[:, None] * u, (1 + lr * lam * d)[:, None] * a
    return torch.stack(out)


def test_penalty_descent_is_the_theory_step():
    model = demo_model(width=6, seed=3)
    run = penalty_descent(model, lam=0.7, lr=0.02, steps=50)
    expected = independent_penalty_steps(model, 0.7, 0.02, 50)
    assert torch.allclose(run.delta, expected, rtol=1e-12, atol=1e-12)
    assert torch.allclose(run.t, 0.02 * torch.arange(51, dtype=torch.float64))


def test_closed_form_agrees_with_simulation_at_small_steps(report):
    """At a fixed time the gap between GD on R and its closed-form flow shrinks like η."""
    model = demo_model(width=8, seed=0)
    lam, horizon = 0.5, 2.0
    gaps = {}
    for lr in (0.04, 0.01, 0.0025):
        run = penalty_descent(model, lam, lr, int(round(horizon / lr)))
        gaps[lr] = float((run.delta - closed_form_imbalance(model, lam, run.t)).abs().max())
    report(f"relaxation: max|δ_sim − δ_closed| up to t=2 for η = 0.04, 0.01, 0.0025: {list(gaps.values())}")
    assert gaps[0.0025] < 5e-3
    assert gaps[0.04] / gaps[0.01] == pytest.approx(4.0, rel=0.15)
    assert gaps[0.01] / gaps[0.0025] == pytest.approx(4.0, rel=0.15)


def test_penalty_preserves_the_function_to_first_order_in_the_step():
    model = demo_model(width=8, seed=1)
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)[:, None]
    scale = float(model(x).detach().abs().max())
    moved = {}
    for lr in (0.02, 0.005):
        run = penalty_descent(model, 1.0, lr, int(round(2.0 / lr)), probe=x)
        assert run.function_change[0] == 0
        moved[lr] = float(run.function_change[-1])
    assert moved[0.005] < 1e-2 * scale
    assert moved[0.02] / moved[0.005] == pytest.approx(4.0, rel=0.2)  # O(η²) per step × T/η steps


def test_larger_lambda_relaxes_faster_and_monotonically():
    model = demo_model(width=8, seed=2)
    ends = []
    for lam in (0.25, 0.5, 1.0):
        run = penalty_descent(model, lam, 0.01, 200)
        assert not run.diverged
        # per-step factor 1 − 2ηλ(‖u‖²+‖a‖²) stays in (0, 1): |δ_j| never grows, δ_j never changes sign
        assert (run.delta[1:].abs() <= run.delta[:-1].abs() + 1e-15).all()
        assert (run.delta[1:] * run.delta[:-1] >= 0).all()
        ends.append(float(run.delta[-1].abs().sum()))
    assert ends[0] > ends[1] > ends[2]
    assert ends[2] < 0.5 * float(gl.flat(gl.imbalance(model)).detach().abs().sum())


def test_too_strong_penalty_is_reported_not_nan():
    model = demo_model(width=8, seed=0)
    limit = gl.lambda_upper_limit(model, 0.1)
    run = penalty_descent(model, 3 * limit, 0.1, 200)
    assert run.diverged and run.diverged_step is not None
    assert torch.isfinite(run.delta).all() and torch.isfinite(run.function_change).all()
    assert len(run.t) == run.diverged_step
    ok = penalty_descent(model, 0.2 * limit, 0.1, 200)
    assert not ok.diverged


def test_step_at_frame_clips_to_the_recorded_run():
    model = demo_model(width=4, seed=0)
    run = penalty_descent(model, 0.5, 0.05, 80)
    assert step_at_frame(run, 0, 100, 4.0) == 0
    assert step_at_frame(run, 50, 100, 4.0) == 40
    assert step_at_frame(run, 100, 100, 4.0) == 80
    short = penalty_descent(model, 0.5, 0.05, 10)
    assert step_at_frame(short, 100, 100, 4.0) == 10


def test_bad_arguments_name_themselves():
    model = demo_model(width=4)
    with pytest.raises(ValueError, match="^lam"):
        penalty_descent(model, -1.0, 0.1, 10)
    with pytest.raises(ValueError, match="^lr"):
        penalty_descent(model, 1.0, 0.0, 10)
    with pytest.raises(ValueError, match="^steps"):
        penalty_descent(model, 1.0, 0.1, -1)
    with pytest.raises(ValueError, match="^a:"):
        toy_model(float("nan"), 1.0)
    with pytest.raises(ValueError, match="^lam"):
        toy_descent(1.0, 1.0, 0.1, 0.0, with_loss=False)
    with pytest.raises(ValueError, match="^model"):
        RelaxationPlayer(model=gl.mlp([1, 4, 4, 1]))


# --- the scalar toy (THEORY §3, §5) ------------------------------------------------------------


def test_toy_is_the_scalar_product():
    model = toy_model(0.7, -1.3)
    x = torch.tensor([[1.0], [2.0], [-0.5]], dtype=torch.float64)
    assert torch.allclose(model(x), 0.7 * -1.3 * x, rtol=0, atol=1e-15)
    a, w, L = loss_grid(y=1.5, n=21)
    expected = 0.5 * (np.outer(w.numpy(), a.numpy()) - 1.5) ** 2
    assert np.allclose(L.numpy(), expected, rtol=1e-14, atol=1e-14)


def test_penalty_only_flow_stays_on_the_orbit_and_balances():
    c = 0.4 * 2.0
    drift = {}
    for lr in (0.01, 0.0025):
        run = toy_descent(0.4, 2.0, lr, lam=0.5, steps=int(round(4 / lr)), with_loss=False)
        drift[lr] = float((run.product - c).abs().max())
    assert drift[0.0025] < 5e-3 * c
    assert drift[0.01] / drift[0.0025] == pytest.approx(4.0, rel=0.2)
    long = toy_descent(0.4, 2.0, 0.01, lam=0.5, steps=3000, with_loss=False)
    assert float(long.a[-1]) == pytest.approx(float(long.w[-1]), abs=1e-9)  # balanced: δ = 0
    assert float(long.product[-1]) == pytest.approx(c, rel=1e-2)  # on (nearly) the starting orbit
    assert float(long.a[-1]) == pytest.approx(math.sqrt(c), rel=1e-2)


def test_gd_on_the_toy_conserves_imbalance_as_the_step_shrinks():
    drift = {}
    for lr in (0.04, 0.01):
        run = toy_descent(0.3, 2.0, lr, steps=int(round(3 / lr)))
        drift[lr] = float((run.delta - run.delta[0]).abs().max())
        assert float(run.loss[-1]) < 1e-3 * float(run.loss[0])
    assert drift[0.01] < 0.01
    assert drift[0.04] / drift[0.01] == pytest.approx(4.0, rel=0.25)


def test_gd_ends_sharp_and_penalty_ends_balanced():
    plain = toy_descent(0.3, 2.0, 0.05, steps=400)
    soft = toy_descent(0.3, 2.0, 0.05, lam=0.5, steps=400)
    for run in (plain, soft):
        assert float(run.product[-1]) == pytest.approx(1.0, abs=1e-6)
    assert float(plain.a[-1] ** 2 + plain.w[-1] ** 2) > 4.0  # imbalanced, sharp minimum
    assert float(soft.a[-1]) == pytest.approx(1.0, abs=1e-4)
    assert float(soft.w[-1]) == pytest.approx(1.0, abs=1e-4)


def test_toy_divergence_is_reported():
    run = toy_descent(-1.0, 2.0, 1.0, steps=100)  # η > 2/(a² + w²) near the reachable minima
    assert run.diverged and torch.isfinite(run.a).all() and torch.isfinite(run.w).all()
    assert len(run.a) == len(run.loss) == run.diverged_step


def test_curves_lie_on_their_hyperbolas():
    xs, ys = orbit_curve(0.8)
    pts = [(a, w) for a, w in zip(xs, ys) if a is not None]
    assert all(abs(a * w - 0.8) < 1e-12 for a, w in pts)
    for a0, w0 in ((0.3, 2.0), (2.0, 0.5), (-1.5, 0.4)):
        xs, ys = imbalance_curve(a0, w0)
        d = np.array(ys) ** 2 - np.array(xs) ** 2
        assert np.allclose(d, w0**2 - a0**2, atol=1e-12)
        dist = np.hypot(np.array(xs) - a0, np.array(ys) - w0).min()
        assert dist < 0.05  # the plotted branch passes through the start


# --- the widget objects, driven as a browser would -----------------------------------------------


def test_relaxation_player_reacts_to_its_controls():
    player = RelaxationPlayer(model=demo_model(width=5, seed=0))
    y0 = list(player.fig.data[0].y)
    title0, readout0 = player.fig.layout.title.text, player.readout.value
    player.lam.value = 1.5
    assert list(player.fig.data[0].y) != y0
    assert "λ = 1.50" in player.readout.value and "λ = 1.50" not in readout0
    assert player.fig.layout.title.text == title0  # no relayout per step: the values are in the readout
    # closed-form traces follow λ too and match the recomputed run
    closed = closed_form_imbalance(player.model, 1.5, player.run.t)
    assert np.allclose(player.fig.data[5].y, closed[:, 0].numpy())
    # the time slider and the play control only move the markers
    lines = list(player.fig.data[0].y)
    # play drives the time slider in the browser (jslink: no kernel round trip per frame)
    assert player.play_link.source == (player.play, "value")
    assert player.play_link.target == (player.frame, "value")
    player.frame.value = 40
    k = step_at_frame(player.run, 40, player.n_frames, player.horizon)
    assert player.fig.data[10].x[0] == pytest.approx(float(player.run.t[k]))
    assert np.allclose(player.fig.data[10].y, player.run.delta[k].numpy())
    assert list(player.fig.data[0].y) == lines
    assert f"step {k} of" in player.readout.value
    assert player.fig.data[11].name.startswith(f"now: t = {float(player.run.t[k]):.2f}")
    # a step past the penalty's stability limit: reported, nothing non-finite plotted
    player.lam.value = 0.1
    player.lr.value = 0.6
    assert not player.run.diverged and not player.play.disabled and not player.frame.disabled
    player.lam.value = 3.0
    assert "DIVERGED" in player.readout.value
    assert all(np.isfinite(np.asarray(tr.y, dtype=float)).all() for tr in player.fig.data)
    # after a divergence play and the time slider are off, and the readout says why
    assert (
        player.play.disabled
        and player.frame.disabled
        and "Play and the time slider are off" in player.readout.value
    )
    player.lam.value = 0.1
    assert not player.run.diverged and not player.play.disabled and not player.frame.disabled


def test_batch_runs_are_the_single_runs_and_the_theory_step():
    """Every member of a side-by-side batch follows the independent per-neuron update of its (λ, η),
    stops at its own step count, and a diverging member leaves the others untouched."""
    model = demo_model(width=5, seed=4)
    limit = gl.lambda_upper_limit(model, 0.2)
    lams, lrs, steps = [0.3, 1.2, 3 * limit, 0.0], [0.02, 0.05, 0.2, 0.1], [40, 25, 200, 10]
    runs = penalty_descent_batch(model, lams, lrs, steps)
    for lam, lr, n, run in zip(lams, lrs, steps, runs):
        if lam == 3 * limit:
            assert run.diverged and torch.isfinite(run.delta).all()
            continue
        assert not run.diverged and run.steps == n and run.lam == lam and run.lr == lr
        assert torch.allclose(run.delta, independent_penalty_steps(model, lam, lr, n), rtol=1e-12, atol=1e-12)
    assert torch.equal(runs[3].delta[-1], runs[3].delta[0])  # λ = 0: nothing moves
    with pytest.raises(ValueError, match="^lams, lrs, steps"):
        penalty_descent_batch(model, [0.1, 0.2], [0.1], [5, 5])


def test_player_fills_its_rows_and_looks_runs_up():
    player = RelaxationPlayer(model=demo_model(width=4, seed=1), max_steps=60)
    # on building: the shown run, its λ row and its η column (the page's first tables)
    lam0, lr0 = player.lam.value, player.lr.value
    assert len(player._runs) == len(player.lam_grid) + len(player.lr_grid) - 1
    for lam, lr in ((1.25, lr0), (lam0, 0.33)):
        run, closed = player.lookup(lam, lr)
        ref = penalty_descent(player.model, lam, lr, player.steps_for(lr))
        assert torch.allclose(run.delta, ref.delta, rtol=1e-12, atol=1e-12)
        assert torch.allclose(closed, closed_form_imbalance(player.model, lam, ref.t))


def test_landscape_widget_reacts_to_its_controls():
    app = LandscapeWidget()
    x0 = list(app.fig.data[5].x)
    readout0 = app.readout.value
    app.a0.value = 1.2
    assert list(app.fig.data[5].x) != x0 and app.fig.data[5].x[0] == pytest.approx(1.2)
    assert app.fig.data[7].x == (1.2,)
    assert app.readout.value != readout0
    app.lam.value = 0.0
    assert app.fig.data[6].visible is False and "penalty off" in app.readout.value
    app.lam.value = 0.5
    assert app.fig.data[6].visible is True
    app.a0.value, app.w0.value, app.lr.value = -1.0, 2.0, 1.0
    assert "DIVERGED" in app.readout.value
    for tr in app.fig.data[5:7]:
        assert np.isfinite(np.asarray(tr.x, dtype=float)).all()


def test_the_relaxation_player_sends_the_page_its_frames_row_and_column():
    from gaugelab.widgets.front import for_page
    from gaugelab.widgets.relaxation import RelaxationPlayer

    player = RelaxationPlayer(lam=0.5, lr=0.05, n_frames=40)
    tables = {t["along"]: t for t in player.front.tables}  # at once: the first drag runs in the page
    frames = tables["frame"]
    assert frames["values"] == list(range(41))
    assert frames["at"] == {"lam": 0.5, "lr": 0.05} and not frames["complete"]
    player.lam.value = 1.0  # drawn from the λ row; the tables follow once the kernel is idle
    assert {t["along"]: t["at"] for t in player.front.tables}["frame"]["lam"] == 0.5
    player.fill_all_nearby()
    at = {t["along"]: t["at"] for t in player.front.tables}
    assert at["frame"]["lam"] == 1.0 and at["lr"]["lam"] == 1.0 and set(at) == {"frame", "lam", "lr"}
    player.lam.value = 0.5
    player.fill_all_nearby()
    tables = {t["along"]: t for t in player.front.tables}
    assert len(tables["lam"]["values"]) == len(player.lam_grid) and tables["lam"]["complete"]
    assert len(tables["lr"]["values"]) == len(player.lr_grid)
    for name, value in (("lam", 2.0), ("lr", 0.3), ("frame", 17)):
        state = {"lam": 0.5, "lr": 0.05, "frame": 0} | {name: value}
        t = tables[name]
        entry = t["updates"][[round(v, 6) for v in t["values"]].index(round(value, 6))]
        full = for_page(player.serve(state))
        for i, props in entry["traces"].items():
            assert props == full["traces"][i], (name, i)
        assert entry["readout"] == full["readout"]
