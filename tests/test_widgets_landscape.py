"""The scalar-toy landscape widget (gaugelab.widgets.landscape), headless.

What the page is sent (a table along every slider from the current state: only the traces that
change, no title relayout; the entries equal what the kernel would draw), the batched descents
behind them, and dragging the start point: it stays on its orbit a·w = a₀w₀ at
the point nearest to where it was dropped (checked here against a brute-force search, by hand).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaugelab.widgets.landscape import LandscapeWidget, project_on_toy_orbit, toy_descent, toy_descents


def _sent(front):
    """Capture what the widget sends the page over its comm (tables go as a trait, not here)."""
    out = []
    send = front.send
    front.send = lambda content, buffers=None: (out.append(content), send(content, buffers))
    return out


def _table(toy, name):
    (t,) = [t for t in toy.front.tables if t["along"] == name]
    return t


def _entry(toy, name, value):
    t = _table(toy, name)
    return t["updates"][min(range(len(t["values"])), key=lambda i: abs(t["values"][i] - value))]


def _ring_centre(fig):
    sh = fig.layout.shapes[0]
    return 0.5 * (sh.x0 + sh.x1), 0.5 * (sh.y0 + sh.y1)


@pytest.fixture
def toy():
    return LandscapeWidget(a0=0.3, w0=2.0, lr=0.05, lam=0.5)


def test_the_page_gets_a_table_along_every_slider_from_the_current_state(toy):
    for name, slider in zip(("a0", "w0", "lr", "lam"), toy.sliders):
        t = _table(toy, name)
        n = round((slider.max - slider.min) / slider.step) + 1
        assert len(t["values"]) == n and t["values"][0] == pytest.approx(slider.min)
        others = {k: s.value for k, s in zip(("a0", "w0", "lr", "lam"), toy.sliders) if k != name}
        assert t["at"] == pytest.approx(others)
        assert t["complete"] == (name in ("a0", "w0"))  # η, λ leave the start, its orbit and ring


def test_a_learning_rate_step_redraws_only_the_paths(toy):
    title = toy.fig.layout.title.text
    orbit = np.array(toy.fig.data[3].x, dtype=float)
    entry = _entry(toy, "lr", 0.1)
    assert sorted(entry["traces"]) == ["5", "6"] and "layout" not in entry
    plain = toy_descent(0.3, 2.0, 0.1)  # what the page draws is GD with the new step
    np.testing.assert_allclose(entry["traces"]["5"]["x"], plain.a.numpy(), rtol=0, atol=1e-4)
    assert "η = 0.10" in entry["readout"]
    toy.lr.value = 0.1  # the kernel's mirror follows, at full precision
    assert toy.fig.layout.title.text == title
    np.testing.assert_array_equal(np.array(toy.fig.data[3].x, dtype=float), orbit)
    np.testing.assert_allclose(np.array(toy.fig.data[5].x), plain.a.numpy(), rtol=0, atol=1e-15)
    assert toy.readout.value == entry["readout"]


def test_a_start_step_moves_orbit_curves_point_and_ring(toy):
    entry = _entry(toy, "a0", 0.5)
    assert sorted(entry["traces"], key=int) == ["3", "4", "5", "6", "7"]
    assert set(entry["layout"]) == {"shapes[0].x0", "shapes[0].x1", "shapes[0].y0", "shapes[0].y1"}
    toy.a0.value = 0.5
    assert _ring_centre(toy.fig) == pytest.approx((0.5, 2.0), abs=1e-12)
    ox = np.array(toy.fig.data[3].x, dtype=float)
    oy = np.array(toy.fig.data[3].y, dtype=float)
    ok = np.isfinite(ox)
    np.testing.assert_allclose(ox[ok] * oy[ok], 1.0, rtol=1e-12)  # the orbit a·w = 0.5·2


def test_table_entries_are_what_the_kernel_would_draw(toy):
    from gaugelab.widgets.front import for_page

    for name, value in (("a0", -1.2), ("w0", 0.6), ("lr", 0.9), ("lam", 2.0)):
        state = {k: s.value for k, s in zip(("a0", "w0", "lr", "lam"), toy.sliders)} | {name: value}
        full = for_page(toy.serve(state))
        entry = _entry(toy, name, value)
        for i, props in entry["traces"].items():
            assert props == full["traces"][i], (name, i)
        assert entry["readout"] == full["readout"]


def test_lambda_zero_hides_the_penalised_path(toy):
    toy.lam.value = 0.0
    assert toy.fig.data[6].visible is False and "penalty off" in toy.readout.value


def test_moves_along_a_slider_are_precomputed_and_tables_follow_the_state(toy, monkeypatch):
    import gaugelab.widgets.landscape as mod

    calls = []
    for fn in ("toy_descents", "toy_descents_batch"):
        real = getattr(mod, fn)
        monkeypatch.setattr(mod, fn, lambda *a, _r=real, _n=fn, **k: (calls.append(_n), _r(*a, **k))[1])
    sent = _sent(toy.front)
    toy.lr.value = 0.06
    toy.lr.value = 0.5
    assert calls == [] and sent == []  # along a slider: computed when the tables were built
    assert toy.prefetch.pending
    toy.prefetch.flush()  # what the event loop does once the input is idle
    assert calls == ["toy_descents_batch"]  # every state along every slider, one batched descent
    assert _table(toy, "lam")["at"]["lr"] == pytest.approx(0.5)
    plain, soft = toy.runs
    ref_plain, ref_soft = toy_descents(0.3, 2.0, 0.5, [0.0, 0.5], 80, 1.0)  # the module's own, unpatched
    assert plain.a.tolist() == ref_plain.a.tolist() and soft.w.tolist() == ref_soft.w.tolist()


def test_the_batched_descent_is_the_single_one():
    from gaugelab.widgets.landscape import toy_descents_batch

    rng = np.random.default_rng(0)
    cfgs = [
        (float(rng.uniform(-2.5, 2.5)), float(rng.uniform(0.1, 2.5)), lr, lam)
        for lr in (0.01, 0.3, 1.2)
        for lam in (0.0, 0.5, 2.0)
        for _ in range(4)
    ]
    diverged = 0
    for cfg, run in zip(cfgs, toy_descents_batch(cfgs, 60)):
        ref = toy_descents(cfg[0], cfg[1], cfg[2], [cfg[3]], 60)[0]
        assert (run.diverged, run.diverged_step) == (ref.diverged, ref.diverged_step), cfg
        for u, v in ((run.a, ref.a), (run.w, ref.w), (run.loss, ref.loss)):
            np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-12, atol=1e-14)
        diverged += run.diverged
    assert 0 < diverged < len(cfgs)  # both kinds were compared
    with pytest.raises(ValueError, match=r"^configs:"):
        toy_descents_batch([(0.3, 2.0, 0.1)])
    with pytest.raises(ValueError, match=r"^lr:"):
        toy_descents_batch([(0.3, 2.0, -0.1, 0.0)])


def test_project_on_toy_orbit_is_the_nearest_point():
    a0, w0 = 0.4, 1.5
    for a, w in ((1.0, 1.0), (0.1, 2.4), (-0.3, 0.5), (2.0, 0.2)):
        pa, pw = project_on_toy_orbit(a0, w0, a, w)
        assert pa * pw == pytest.approx(a0 * w0, rel=1e-12)
        # brute force over the branch through (a0, w0), within the slider ranges
        t = np.linspace(0.1, 2.5, 200001)
        d = np.where(np.abs(a0 * w0 / t) <= 2.5, (a0 * w0 / t - a) ** 2 + (t - w) ** 2, np.inf)
        k = int(np.argmin(d))
        assert math.hypot(pa - a, pw - w) == pytest.approx(math.sqrt(d[k]), abs=1e-3)
    assert project_on_toy_orbit(0.0, 1.0, 0.7, 3.0) == (0.0, 2.5)  # the degenerate orbit a = 0
    with pytest.raises(ValueError, match=r"^w0:"):
        project_on_toy_orbit(0.4, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"^a:"):
        project_on_toy_orbit(0.4, 1.0, float("nan"), 1.0)


def test_dragging_the_start_keeps_it_on_its_orbit(toy):
    c = toy.a0.value * toy.w0.value
    sent = _sent(toy.front)
    r = 0.13
    a, w = 1.0, 1.0  # dropped off the orbit a·w = 0.6 (what the page reports of plotly's shape edit)
    toy.front._on_msg(
        toy.front,
        {
            "kind": "relayout",
            "data": {
                "shapes[0].x0": a - r,
                "shapes[0].x1": a + r,
                "shapes[0].y0": w - r,
                "shapes[0].y1": w + r,
            },
        },
        [],
    )
    assert toy.a0.value * toy.w0.value == pytest.approx(c, rel=1e-12)
    assert (toy.a0.value, toy.w0.value) == pytest.approx(project_on_toy_orbit(0.3, 2.0, a, w), abs=1e-12)
    assert _ring_centre(toy.fig) == pytest.approx((toy.a0.value, toy.w0.value), abs=1e-12)  # snapped
    assert [toy.fig.data[7].x[0], toy.fig.data[7].y[0]] == pytest.approx([toy.a0.value, toy.w0.value])
    (msg,) = sent  # one redraw pushed to the page, with the exact ring (layout is not rounded)
    assert msg["kind"] == "update" and msg["pushed"]
    lay = msg["update"]["layout"]
    assert 0.5 * (lay["shapes[0].x0"] + lay["shapes[0].x1"]) == pytest.approx(toy.a0.value, abs=1e-12)
    assert toy.front.tables == []  # the old tables were built around the old start
    toy.prefetch.flush()
    assert _table(toy, "lr")["at"]["a0"] == pytest.approx(toy.a0.value)
    plain, _ = toy.runs
    assert float(plain.a[0]) == pytest.approx(toy.a0.value) and float(plain.w[0]) == pytest.approx(
        toy.w0.value
    )


def test_bad_values_are_named():
    with pytest.raises(ValueError, match=r"^lr:"):
        toy_descents(0.3, 2.0, -1.0, [0.0])
    with pytest.raises(ValueError, match=r"^y:"):
        LandscapeWidget(y=float("inf"))


def test_slider_changes_compute_nothing_until_the_mirror_is_read(toy, monkeypatch):
    # a burst of input must not queue work in the kernel (the page draws from its tables or asks):
    # the Python-side mirror catches up when read, and then shows the last state
    calls = []
    real = toy.state_update
    monkeypatch.setattr(toy, "state_update", lambda *a, **k: calls.append(a) or real(*a, **k))
    for v in (0.1, 0.2, 0.35):
        toy.lam.value = v
    for v in (0.07, 0.2):
        toy.lr.value = v
    toy.w0.value = 1.5
    assert calls == []
    fig = toy.fig
    assert len(calls) == 1
    fresh = LandscapeWidget(a0=toy.a0.value, w0=1.5, lr=0.2, lam=0.35)
    for mine, theirs in zip(fig.data, fresh.fig.data):
        assert np.array_equal(np.asarray(mine.x, float), np.asarray(theirs.x, float), equal_nan=True)
        assert np.array_equal(np.asarray(mine.y, float), np.asarray(theirs.y, float), equal_nan=True)
    assert toy.readout.value == fresh.readout.value and len(calls) == 1


def test_rebuilding_the_tables_after_moves_runs_only_batched_descents(monkeypatch):
    # every state of the four tables comes from one toy_descents_batch per rebuild; a cache too small
    # for them (512 entries) had sent ~100 states per rebuild through single descents: 4.4 s
    # of kernel time after one slider move, instead of 0.2 s
    import gaugelab.widgets.landscape as landscape

    toy = LandscapeWidget(a0=0.3, w0=2.0, lr=0.05, lam=0.5)
    toy.prefetch.flush()
    single = []
    real = landscape.toy_descents
    monkeypatch.setattr(landscape, "toy_descents", lambda *a, **k: single.append(a) or real(*a, **k))
    for s, v in [(toy.a0, -1.7), (toy.lam, 0.8), (toy.lr, 0.11), (toy.w0, 2.2), (toy.a0, 1.0)]:
        s.value = v
        toy.prefetch.flush()
        assert toy.prefetch.error is None
        assert {t["along"]: t["at"] for t in toy.front.tables}["a0"]["w0"] == pytest.approx(toy.w0.value)
    assert single == []
