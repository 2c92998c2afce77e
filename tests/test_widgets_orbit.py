"""The orbit explorer (gaugelab.widgets.orbit) and the environment check, headless.

The pure update functions must show THEORY §1–§2, §5–§6 along one neuron's orbit: f and L unchanged,
ρ_j ↦ ρ_j + 2s, δ_j = 2‖v_j‖ sinh ρ_j, v_j fixed, ‖θ‖² smallest at the balanced s*, ‖∇L‖ and λ_max
changing. Expected values are computed here from the weights by hand, not taken from the module.
The widget is built in plain pytest: setting the slider runs the observer and redraws.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import gaugelab as gl
from gaugelab.widgets import envcheck
from gaugelab.widgets.orbit import OrbitExplorer, neuron_scales, orbit_profile, orbit_state, shape_centre


@pytest.fixture(scope="module")
def setup():
    data = gl.toy_regression(n_train=32, seed=0)
    model = gl.train(gl.two_layer(1, 8, 1, seed=3), data.x_train, data.y_train, steps=800, lr=0.05).model
    return model, data.x_train, data.y_train


def _norms_by_hand(model, j):
    w, b, a = model[0].weight[j].detach(), model[0].bias[j].detach(), model[2].weight[:, j].detach()
    nu = math.sqrt(float((w**2).sum() + b**2))
    na = math.sqrt(float((a**2).sum()))
    return nu, na


@pytest.mark.parametrize("s", [-2.7, -1.0, -0.3, 0.0, 0.4, 1.3, 2.9])
def test_function_and_loss_unchanged_along_the_orbit(setup, s):
    model, x, y = setup
    st = orbit_state(model, x, y, 2, s, sharpness=False)
    start = orbit_state(model, x, y, 2, 0.0, sharpness=False)
    scale = float(np.abs(st["f_before"]).max())
    assert st["max_abs_change"] <= 1e-14 * max(scale, 1) * math.exp(abs(s))
    assert st["invariance_error"] <= 1e-14 * math.exp(abs(s))
    assert st["loss"] == pytest.approx(start["loss"], rel=1e-12)
    np.testing.assert_allclose(st["f_after"], st["f_before"], rtol=0, atol=1e-13)


@pytest.mark.parametrize("s", [-2.0, -0.5, 0.7, 2.5])
@pytest.mark.parametrize("j", [0, 5])
def test_rho_moves_by_2s_delta_follows_sinh_v_fixed(setup, s, j):
    model, x, y = setup
    st = orbit_state(model, x, y, j, s, sharpness=False)
    nu, na = _norms_by_hand(model, j)
    assert st["u_norm"] == pytest.approx(nu * math.exp(s), rel=1e-13)
    assert st["a_norm"] == pytest.approx(na * math.exp(-s), rel=1e-13)
    rho0 = math.log(nu / na)
    assert st["rho0"] == pytest.approx(rho0, abs=1e-13)
    assert st["rho"] == pytest.approx(rho0 + 2 * s, abs=1e-12)
    assert st["delta"] == pytest.approx(2 * nu * na * math.sinh(rho0 + 2 * s), rel=1e-11, abs=1e-13)
    assert st["delta"] == pytest.approx((nu * math.exp(s)) ** 2 - (na * math.exp(-s)) ** 2, rel=1e-11)
    assert st["v_norm"] == pytest.approx(nu * na, rel=1e-13)
    assert st["v_change"] <= 1e-14 * nu * na * 10


def test_only_the_chosen_neuron_moves(setup):
    model, x, y = setup
    st = orbit_state(model, x, y, 3, 1.5, sharpness=False)
    for i in range(8):
        nu, na = _norms_by_hand(model, i)
        f = math.exp(1.5) if i == 3 else 1.0
        assert st["all_u_norm"][i] == pytest.approx(nu * f, rel=1e-13)
        assert st["all_a_norm"][i] == pytest.approx(na / f, rel=1e-13)


def test_theta_sq_is_smallest_at_the_balanced_s(setup):
    model, x, y = setup
    j = 4
    nu, na = _norms_by_hand(model, j)
    s_star = 0.5 * math.log(na / nu)
    st = orbit_state(model, x, y, j, s_star, sharpness=False)
    assert st["s_balanced"] == pytest.approx(s_star, abs=1e-13)
    assert abs(st["delta"]) <= 1e-12 * (nu * na)
    assert st["u_norm"] == pytest.approx(st["a_norm"], rel=1e-12)
    total0 = sum(float((p.detach() ** 2).sum()) for p in model.parameters())
    for s in (s_star - 0.4, s_star - 0.05, s_star + 0.05, s_star + 0.4):
        other = orbit_state(model, x, y, j, s, sharpness=False)
        assert other["theta_sq"] > st["theta_sq"]
        # ‖θ‖²(s) = ‖θ‖² − ‖u‖² − ‖a‖² + e^{2s}‖u‖² + e^{−2s}‖a‖²
        by_hand = total0 - nu**2 - na**2 + math.exp(2 * s) * nu**2 + math.exp(-2 * s) * na**2
        assert other["theta_sq"] == pytest.approx(by_hand, rel=1e-12)
    assert st["theta_sq"] == pytest.approx(total0 - (nu - na) ** 2, rel=1e-12)


def test_gradient_norm_follows_the_inverse_scaling(setup):
    """∇_u L ÷ α, ∇_a L × α: ‖∇L‖²(s) = rest + e^{−2s}‖g_u‖² + e^{2s}‖g_a‖²."""
    model, x, y = setup
    j = 1
    m = gl.rescale(model, torch.ones(8, dtype=torch.float64))
    loss = gl.half_mse(m(x), y)
    gw, gb, ga, gc = torch.autograd.grad(loss, list(m.parameters()))
    g_u2 = float((gw[j] ** 2).sum() + gb[j] ** 2)
    g_a2 = float((ga[:, j] ** 2).sum())
    total2 = sum(float((g**2).sum()) for g in (gw, gb, ga, gc))
    for s in (-1.5, 0.0, 0.8, 2.2):
        st = orbit_state(model, x, y, j, s, sharpness=False)
        by_hand = math.sqrt(total2 - g_u2 - g_a2 + math.exp(-2 * s) * g_u2 + math.exp(2 * s) * g_a2)
        assert st["grad_norm"] == pytest.approx(by_hand, rel=1e-9)


def test_sharpness_changes_along_the_orbit_and_live_lanczos_is_accurate(setup, report):
    model, x, y = setup
    j = 3
    assert 0 < orbit_state(model, x, y, j, 0.0, sharpness=False)["active_fraction"] < 1
    lam = {s: orbit_state(model, x, y, j, s)["lambda_max"] for s in (-2.0, 0.0, 2.0)}
    assert abs(lam[2.0] - lam[0.0]) > 0.1 * lam[0.0] or abs(lam[-2.0] - lam[0.0]) > 0.1 * lam[0.0]
    for s in (-2.0, 0.0, 2.0):
        exact = gl.top_hessian_eigenvalue(gl.rescale(model, neuron_scales(model, j, s)), x, y, iters=200)
        assert lam[s] == pytest.approx(exact, rel=1e-6)
    report(
        "orbit explorer λ_max of neuron 3 at s = −2, 0, 2: "
        + ", ".join(f"{lam[s]:.4g}" for s in (-2.0, 0.0, 2.0))
    )


def test_a_neuron_inactive_on_all_data_moves_nothing_but_theta(setup):
    """ReLU neuron with u_j·x̃ ≤ 0 on every input: zero gradient and zero Hessian blocks, so
    ‖∇L‖ and λ_max stay exactly where they were; only ‖θ‖² (and δ_j, ρ_j) move."""
    model, x, y = setup
    pre = model[0](x).detach()
    dead = [j for j in range(8) if (pre[:, j] <= 0).all()]
    assert dead, "the fixture should have a neuron inactive on all data"
    j = dead[0]
    a, b = orbit_state(model, x, y, j, 0.0), orbit_state(model, x, y, j, 1.7)
    assert a["active_fraction"] == 0.0
    assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-12)
    assert b["lambda_max"] == pytest.approx(a["lambda_max"], rel=1e-9)
    assert b["theta_sq"] != pytest.approx(a["theta_sq"], rel=1e-3)


def test_profile_matches_single_states(setup):
    model, x, y = setup
    prof = orbit_profile(model, x, y, 6, [-1.0, 0.0, 1.5])
    for k, s in enumerate((-1.0, 0.0, 1.5)):
        st = orbit_state(model, x, y, 6, s)
        assert prof["theta_sq"][k] == pytest.approx(st["theta_sq"], rel=1e-13)
        assert prof["grad_norm"][k] == pytest.approx(st["grad_norm"], rel=1e-12)
        assert prof["lambda_max"][k] == pytest.approx(st["lambda_max"], rel=1e-9)


def test_deep_net_hidden_layer_1():
    model = gl.mlp([2, 5, 4, 1], seed=1)
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.randn(40, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    st = orbit_state(model, x, y, 3, 1.2, layer=1, sharpness=False)
    assert st["max_abs_change"] < 1e-13
    assert st["rho"] == pytest.approx(st["rho0"] + 2.4, abs=1e-12)
    assert not st["grid_is_x"] and len(st["grid"]) == 40


def test_bad_input_names_the_argument(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match=r"^neuron:"):
        orbit_state(model, x, y, 8, 0.0)
    with pytest.raises(ValueError, match=r"^neuron:"):
        orbit_state(model, x, y, True, 0.0)
    with pytest.raises(ValueError, match=r"^s:"):
        orbit_state(model, x, y, 0, float("nan"))
    with pytest.raises(TypeError, match=r"^s:"):
        orbit_state(model, x, y, 0, "big")
    with pytest.raises(ValueError, match=r"^layer:"):
        orbit_state(model, x, y, 0, 0.0, layer=1)
    dead = gl.rescale(model, torch.ones(8, dtype=torch.float64))
    with torch.no_grad():
        dead[2].weight[:, 1] = 0.0
    with pytest.raises(ValueError, match=r"^neuron: neuron 1 .*fixed point"):
        orbit_state(dead, x, y, 1, 0.5)


def _centre(fig):
    sh = fig.layout.shapes[0]
    return shape_centre(sh.x0, sh.x1, sh.y0, sh.y1)


def _drop_at(ex, u, a, k=1.2):
    """What the browser sends when the circle is dropped centred on (u, a)."""
    data = {"shapes[0].x0": u / k, "shapes[0].x1": u * k, "shapes[0].y0": a / k, "shapes[0].y1": a * k}
    ex.front._on_msg(ex.front, {"kind": "relayout", "data": data}, [])


def _sent(front):
    """What the widget sends the page over its comm (tables go as a trait, not here)."""
    out = []
    send = front.send
    front.send = lambda content, buffers=None: (out.append(content), send(content, buffers))
    return out


def _table(ex, along):
    (t,) = [t for t in ex.front.tables if t["along"] == along]
    return t


def _page_update(ex, along, value):
    """The update the page draws from its table when control ``along`` takes ``value``."""
    t = _table(ex, along)
    (i,) = [i for i, v in enumerate(t["values"]) if abs(v - value) <= 1e-9]
    return t["updates"][i]


def test_widget_slider_moves_only_the_point_and_lambda_waits(setup, monkeypatch):
    import gaugelab.widgets.orbit as orbit_mod

    model, x, y = setup
    ex = OrbitExplorer(model, x, y, neuron=2, profile_points=9)
    u0 = ex.fig.data[7].x[0]
    title0 = ex.fig.layout.title.text
    f_shown = np.array(ex.fig.data[2].y)
    nu, na = _norms_by_hand(model, 2)
    assert u0 == pytest.approx(nu, rel=1e-13)
    assert _centre(ex.fig) == pytest.approx((nu, na), rel=1e-13)
    assert ex.front.figure["config"]["edits"]["shapePosition"] is True
    # the page's table along the slider: at s = 1 it moves the point, the circle and the markers
    # (the function panel is not resent, no title), with the readout
    upd = _page_update(ex, "s", 1.0)
    assert set(upd["traces"]) == {"7", "11"}
    assert set(upd["layout"]) == {"shapes[0].x0", "shapes[0].x1", "shapes[0].y0", "shapes[0].y1"}
    assert upd["traces"]["7"]["x"][0] == pytest.approx(nu * math.e, rel=1e-4)  # 5 digits for the page
    assert "s = log α = +1.000" in upd["readout"]
    # a slider change computes nothing in the kernel: the page draws from the table
    state_calls = []
    real_state = orbit_mod.orbit_state
    monkeypatch.setattr(
        orbit_mod, "orbit_state", lambda *a, **k: (state_calls.append(1), real_state(*a, **k))[1]
    )
    sent = _sent(ex.front)
    ex.slider.value = 1.0  # runs the observer, as a browser drag would
    assert state_calls == [] and sent == []
    assert ex.fig.data[7].x[0] == pytest.approx(nu * math.e, rel=1e-12)  # the mirror, when read
    assert ex.fig.data[7].y[0] == pytest.approx(na / math.e, rel=1e-12)
    assert _centre(ex.fig) == pytest.approx((nu * math.e, na / math.e), rel=1e-12)
    assert ex.fig.layout.title.text == title0
    np.testing.assert_array_equal(np.array(ex.fig.data[2].y), f_shown)
    assert ex.state["max_abs_change"] < 1e-13  # measured on the moved model all the same
    assert "s = log α = +1.000" in ex.readout.value
    assert ex.state["s"] == 1.0 and ex.state["rho"] == pytest.approx(ex.state["rho0"] + 2, abs=1e-12)
    assert list(ex.fig.data[11].x) == [1.0, 1.0, 1.0]
    # off the profile's grid λ_max is pending, said so, not a stale number; after the idle work
    # it is the exact value, and the page is sent it
    ex.slider.value = 1.1
    assert ex.state["lambda_pending"] and ex.state["lambda_max"] is None
    assert "pending" in ex.readout.value and ex.lambda_idle.pending
    assert "pending" in _page_update(ex, "s", 1.1)["readout"]
    assert np.isnan(ex.fig.data[11].y[2])
    ex.settle()
    exact = gl.top_hessian_eigenvalue(gl.rescale(model, neuron_scales(model, 2, 1.1)), x, y, iters=200)
    assert ex.state["lambda_max"] == pytest.approx(exact, rel=1e-6)
    assert "pending" not in ex.readout.value and not ex.lambda_idle.pending
    assert ex.lambda_idle.error is None and ex.tables_idle.error is None
    assert np.isfinite(ex.fig.data[11].y[2])
    pushed = [m for m in sent if m.get("pushed")]
    assert pushed and "pending" not in pushed[0]["update"]["readout"]
    assert "pending" not in _page_update(ex, "s", 1.1)["readout"]  # the table too
    # the model handed in is never modified
    assert _norms_by_hand(model, 2) == pytest.approx((nu, na), rel=0, abs=0)

    # the balance button moves onto δ_j = 0, exactly: the slider shows its grid point next to s*,
    # the page is sent s*'s update at once, and once idle its table has that grid point stand for s*
    n_pushed = len([m for m in sent if m.get("pushed")])
    ex.balance_button.click()
    s_star = 0.5 * math.log(na / nu)
    assert ex.slider.value == pytest.approx(ex.snap(s_star), abs=1e-12) and ex.snap(s_star) != s_star
    assert ex.state["s"] == pytest.approx(s_star, abs=1e-12) and abs(ex.state["delta"]) < 1e-12
    pushed = [m for m in sent if m.get("pushed")][n_pushed:]
    assert pushed and pushed[0]["update"]["readout"] == ex.readout.value
    assert pushed[0]["state"]["s"] == pytest.approx(ex.snap(s_star), abs=1e-12)  # the page's state
    ex.settle()
    assert _page_update(ex, "s", ex.snap(s_star))["readout"] == ex.readout.value
    assert ex.serve({"s": ex.snap(s_star), "neuron": 2})["readout"] == ex.readout.value
    ex.slider.value = ex.snap(s_star) + ex.step  # a key step away: back on the grid
    assert ex.state["s"] == pytest.approx(ex.snap(s_star) + ex.step, abs=1e-12)
    ex.balance_button.click()
    assert abs(ex.state["delta"]) < 1e-12
    ex.balance_button.click()  # again: nothing moves
    assert abs(ex.state["delta"]) < 1e-12

    # another neuron: slider back to 0 (the page's table says so too), its orbit redrawn, no
    # Lanczos run on the switch
    calls = []
    real = orbit_mod.top_hessian_eigenvalue
    monkeypatch.setattr(
        orbit_mod, "top_hessian_eigenvalue", lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    )
    assert _table(ex, "neuron")["sets"] == {"s": 0.0} and _table(ex, "neuron")["at"] == {"s": 0.0}
    orbit_before = np.array(ex.fig.data[4].x)
    ex.dropdown.value = 5
    assert calls == []
    assert ex.slider.value == 0.0 and ex.neuron == 5
    nu5, na5 = _norms_by_hand(model, 5)
    assert ex.fig.data[6].x[0] == pytest.approx(nu5, rel=1e-13)
    assert not np.allclose(np.array(ex.fig.data[4].x), orbit_before)
    assert np.isnan(np.array(ex.fig.data[10].y, dtype=float)).all()  # λ profile pending
    assert ex.state["theta_sq"] == pytest.approx(
        sum(float((p.detach() ** 2).sum()) for p in model.parameters()), rel=1e-12
    )
    ex.settle()
    assert len(calls) == 9  # the 9 profile points (s = 0 among them)
    assert np.isfinite(np.array(ex.fig.data[10].y, dtype=float)).all()
    assert _table(ex, "s")["at"] == {"neuron": 5}  # the page's slider table follows the neuron
    ex.reset_button.click()
    assert ex.slider.value == 0.0


def test_page_tables_draw_what_the_kernel_serves(setup):
    # every update in the page's tables equals what the kernel computes for that state: the page
    # is never shown something the kernel would not show
    model, x, y = setup
    ex = OrbitExplorer(model, x, y, neuron=2, profile_points=5, s_max=1.0, step=0.25)
    from gaugelab.widgets.front import for_page, merge

    whole = ex.serve({"s": 0.0, "neuron": 2})
    for v, upd in zip(_table(ex, "s")["values"], _table(ex, "s")["updates"]):
        served = for_page(ex.serve({"s": v, "neuron": 2}))
        assert for_page(merge(whole, upd)) == for_page(merge(whole, served)), v
    for j, upd in zip(_table(ex, "neuron")["values"], _table(ex, "neuron")["updates"]):
        assert upd == for_page(ex.serve({"s": 0.0, "neuron": j})), j
    # the mirror after moves equals a fresh explorer moved there from code
    ex.dropdown.value = 4
    ex.slider.value = -0.75
    fresh = OrbitExplorer(model, x, y, neuron=4, profile_points=5, s_max=1.0, step=0.25)
    fresh.update(s=-0.75)
    ex.settle(), fresh.settle()
    for a, b in zip(ex.fig.data, fresh.fig.data):
        for key in ("x", "y"):
            np.testing.assert_allclose(
                np.array(a[key], dtype=float), np.array(b[key], dtype=float), rtol=1e-12
            )
    assert ex.readout.value == fresh.readout.value


def test_lambda_computed_ahead_makes_later_steps_complete_at_once(setup):
    model, x, y = setup
    ex = OrbitExplorer(model, x, y, neuron=2, profile_points=5, s_max=1.0, step=0.25)
    ex.slider.value = 0.25  # the first move starts the work ahead (when the kernel is idle)
    ex.settle()
    assert ex.lambda_ahead.pending
    ex.lambda_ahead.flush()
    assert ex.lambda_ahead.error is None
    assert "pending" not in _page_update(ex, "s", 0.5)["readout"]  # the page's table has it
    ex.slider.value = 0.5  # on the slider's grid: already computed, nothing left to do on release
    assert not ex.state["lambda_pending"]
    exact = gl.top_hessian_eigenvalue(gl.rescale(model, neuron_scales(model, 2, 0.5)), x, y, iters=200)
    assert ex.state["lambda_max"] == pytest.approx(exact, rel=1e-6)
    assert np.isfinite(ex.fig.data[11].y[2])
    ex.dropdown.value = 5  # the other neurons' profiles were computed ahead too
    assert np.isfinite(np.array(ex.fig.data[10].y, dtype=float)).all()
    assert not ex.state["lambda_pending"]
    upd = _page_update(ex, "neuron", 5)
    assert all(v is not None for v in upd["traces"]["10"]["y"])  # and sent with the neuron table


def test_dragging_the_point_projects_it_onto_its_orbit(setup):
    model, x, y = setup
    ex = OrbitExplorer(model, x, y, neuron=2, profile_points=5, sharpness=False)
    nu, na = _norms_by_hand(model, 2)
    f_shown = np.array(ex.fig.data[2].y)
    sent = _sent(ex.front)
    # dropped off the orbit: s = 0.7 along it, then 0.1 across it (both norms × e^0.1)
    u, a = nu * math.exp(0.7 + 0.1), na * math.exp(-0.7 + 0.1)
    _drop_at(ex, u, a)  # what the browser sends
    assert ex.slider.value == pytest.approx(0.7, abs=1e-12)
    assert ex.state["s"] == pytest.approx(0.7, abs=1e-12)
    assert _centre(ex.fig) == pytest.approx((nu * math.exp(0.7), na * math.exp(-0.7)), rel=1e-12)  # on it
    np.testing.assert_array_equal(np.array(ex.fig.data[2].y), f_shown)
    # dropped at the same s again, off the orbit: put back although the slider does not move
    sent.clear()
    _drop_at(ex, u * 1.3, a * 1.3)
    assert ex.slider.value == pytest.approx(0.7, abs=1e-12)
    assert _centre(ex.fig) == pytest.approx((nu * math.exp(0.7), na * math.exp(-0.7)), rel=1e-12)
    (msg,) = [m for m in sent if m.get("pushed")]
    lay = msg["update"]["layout"]
    centre = shape_centre(*(lay[f"shapes[0].{k}"] for k in ("x0", "x1", "y0", "y1")))
    assert centre == pytest.approx((nu * math.exp(0.7), na * math.exp(-0.7)), rel=1e-12)
    # beyond the slider's end: clipped to s_max
    ex.drag_to(nu * math.exp(10), na * math.exp(-10))
    assert ex.slider.value == pytest.approx(3.0)
    # nonsense coordinates are refused by name, the state does not move; from the page: put back
    with pytest.raises(ValueError, match=r"^u:"):
        ex.drag_to(-1.0, 1.0)
    assert ex.slider.value == pytest.approx(3.0)
    sent.clear()
    ex.front._on_msg(ex.front, {"kind": "relayout", "data": {"shapes[0].x0": -1.0, "shapes[0].x1": 1.0}}, [])
    assert ex.slider.value == pytest.approx(3.0) and [m for m in sent if m.get("pushed")]


def test_bad_explorer_arguments_are_named(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match=r"^step:"):
        OrbitExplorer(model, x, y, step=0)
    with pytest.raises(ValueError, match=r"^profile_points:"):
        OrbitExplorer(model, x, y, profile_points=2)
    with pytest.raises(ValueError, match=r"^s_max:"):
        OrbitExplorer(model, x, y, s_max=float("inf"))


def test_compact_demo_has_one_slider_and_no_sharpness(setup):
    model, x, y = setup
    ex = gl.widgets.orbit_demo(model, x, y)
    assert ex.profile() is None and ex.state["lambda_max"] is None
    assert ex.widget.children[0].children[0] is ex.slider
    assert len([c for c in ex.widget.children[0].children if hasattr(c, "step")]) == 1
    ex.slider.value = -2.0
    assert ex.fig.data[7].x[0] == pytest.approx(ex.state["u_norm0"] * math.exp(-2), rel=1e-12)
    assert "λ_max" not in ex.readout.value
    assert "s = log α = -2.00" in ex.readout.value and "max |f′ − f|" in ex.readout.value
    assert not ex.lambda_idle.pending


# --- environment check ----------------------------------------------------------------------


def test_environment_checks_pass_in_the_course_env():
    checks = envcheck.environment_checks()
    assert {c.status for c in checks} <= {"ok", "warn", "fail"}
    names = [c.name for c in checks]
    for needed in ("ipywidgets", "jupyterlab_widgets", "plotly", "anywidget", "lab extension anywidget"):
        assert needed in names
    failed = [c for c in checks if c.status == "fail"]
    assert not failed, envcheck.format_report(failed)


def test_environment_check_reports_mismatch_and_missing_in_words(monkeypatch):
    real = envcheck._version

    def fake(dist):
        return (
            {"jupyterlab_widgets": "3.0.1", "anywidget": None}.get(dist, real(dist))
            if dist
            in (
                "jupyterlab_widgets",
                "anywidget",
            )
            else real(dist)
        )

    monkeypatch.setattr(envcheck, "_version", fake)
    monkeypatch.setattr(envcheck, "find_lab_extensions", lambda paths=None: {})
    checks = {c.name: c for c in envcheck.environment_checks()}
    assert checks["jupyterlab_widgets"].status == "fail"
    assert "version mismatch" in checks["jupyterlab_widgets"].message
    assert checks["anywidget"].status == "fail" and "FigureWidget" in checks["anywidget"].message
    assert checks["lab extension jupyterlab-plotly"].status == "fail"
    report = envcheck.format_report(list(checks.values()))
    assert "→ what to do:" in report and "problem(s) found" in report


def test_lab_extension_discovery_and_disabled(tmp_path):
    ext = tmp_path / "share" / "@scope" / "thing"
    ext.mkdir(parents=True)
    (ext / "package.json").write_text(json.dumps({"name": "@scope/thing", "version": "1.2.3"}))
    found = envcheck.find_lab_extensions([tmp_path / "share", tmp_path / "missing"])
    assert found["@scope/thing"]["version"] == "1.2.3"
    cfg = tmp_path / "etc" / "labconfig"
    cfg.mkdir(parents=True)
    (cfg / "page_config.json").write_text(json.dumps({"disabledExtensions": {"anywidget": True, "x": False}}))
    assert envcheck.disabled_lab_extensions([tmp_path / "etc"]) == {"anywidget"}
    assert envcheck.version_satisfies("3.0.17", "~=3.0.15") is True
    assert envcheck.version_satisfies("3.1.0", "~=3.0.15") is False


def test_render_probe_turns_green_when_drawn():
    probe = envcheck.render_probe()
    assert probe.value == envcheck.PROBE_WAITING
    probe._view_count = 1  # what the front end does when it draws the widget
    assert envcheck.PROBE_OK in probe.value
