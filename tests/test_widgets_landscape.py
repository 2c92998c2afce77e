"""The scalar-toy landscape widget (gaugelab.widgets.landscape), headless.

What moves on a slider step (only the traces that change, one message, no title relayout), the
cache along the slider grid, and dragging the start point: it stays on its orbit a·w = a₀w₀ at
the point nearest to where it was dropped (checked here against a brute-force search, by hand).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaugelab.widgets.landscape import LandscapeWidget, project_on_toy_orbit, toy_descent, toy_descents


def _sent(fig):
    out = []
    send = fig._send_update_msg
    fig._send_update_msg = lambda *a, **k: (out.append(k), send(*a, **k))
    return out


def _ring_centre(fig):
    sh = fig.layout.shapes[0]
    return 0.5 * (sh.x0 + sh.x1), 0.5 * (sh.y0 + sh.y1)


@pytest.fixture
def toy():
    return LandscapeWidget(a0=0.3, w0=2.0, lr=0.05, lam=0.5)


def test_a_learning_rate_step_restyles_only_the_paths(toy):
    sent = _sent(toy.fig)
    title = toy.fig.layout.title.text
    orbit = np.array(toy.fig.data[3].x, dtype=float)
    toy.lr.value = 0.1
    assert len(sent) == 1
    assert sorted(sent[0]["trace_indexes"]) == [5, 6] and sent[0]["relayout_data"] == {}
    assert toy.fig.layout.title.text == title
    np.testing.assert_array_equal(np.array(toy.fig.data[3].x, dtype=float), orbit)
    plain = toy_descent(0.3, 2.0, 0.1)  # the path shown is GD with the new step
    np.testing.assert_allclose(np.array(toy.fig.data[5].x), plain.a.numpy(), rtol=0, atol=1e-15)
    assert "η = 0.10" in toy.readout.value


def test_a_start_step_moves_orbit_curves_point_and_ring(toy):
    sent = _sent(toy.fig)
    toy.a0.value = 0.5
    assert len(sent) == 1
    assert sorted(sent[0]["trace_indexes"]) == [3, 4, 5, 6, 7]
    assert set(sent[0]["relayout_data"]) <= {"shapes.0.x0", "shapes.0.x1", "shapes.0.y0", "shapes.0.y1"}
    assert _ring_centre(toy.fig) == pytest.approx((0.5, 2.0), abs=1e-12)
    ox = np.array(toy.fig.data[3].x, dtype=float)
    oy = np.array(toy.fig.data[3].y, dtype=float)
    ok = np.isfinite(ox)
    np.testing.assert_allclose(ox[ok] * oy[ok], 1.0, rtol=1e-12)  # the orbit a·w = 0.5·2


def test_lambda_zero_hides_the_penalised_path(toy):
    toy.lam.value = 0.0
    assert toy.fig.data[6].visible is False and "penalty off" in toy.readout.value


def test_runs_are_cached_and_neighbours_prefetched(toy, monkeypatch):
    import gaugelab.widgets.landscape as mod

    calls = []
    real = mod.toy_descents
    monkeypatch.setattr(mod, "toy_descents", lambda *a, **k: (calls.append(a[:3]), real(*a, **k))[1])
    toy.lr.value = 0.06
    assert len(calls) == 1
    assert toy.prefetch.pending
    toy.prefetch.flush()  # what the event loop does while the input is idle
    n = len(calls)
    assert n >= 4  # the slider values one step away
    toy.lr.value = 0.07  # one more key step: already computed
    toy.lr.value = 0.06  # and back
    assert len(calls) == n
    plain, soft = toy.runs
    ref_plain, ref_soft = real(0.3, 2.0, 0.06, [0.0, 0.5], 80, 1.0)
    assert plain.a.tolist() == ref_plain.a.tolist() and soft.w.tolist() == ref_soft.w.tolist()


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
    sent = _sent(toy.fig)
    r = 0.13
    a, w = 1.0, 1.0  # dropped off the orbit a·w = 0.6
    toy.fig.plotly_relayout(
        {"shapes[0].x0": a - r, "shapes[0].x1": a + r, "shapes[0].y0": w - r, "shapes[0].y1": w + r}
    )
    assert toy.a0.value * toy.w0.value == pytest.approx(c, rel=1e-12)
    assert (toy.a0.value, toy.w0.value) == pytest.approx(project_on_toy_orbit(0.3, 2.0, a, w), abs=1e-12)
    assert _ring_centre(toy.fig) == pytest.approx((toy.a0.value, toy.w0.value), abs=1e-12)  # snapped
    assert [toy.fig.data[7].x[0], toy.fig.data[7].y[0]] == pytest.approx([toy.a0.value, toy.w0.value])
    assert len(sent) == 1  # both sliders moved, one redraw
    plain, _ = toy.runs
    assert float(plain.a[0]) == pytest.approx(toy.a0.value) and float(plain.w[0]) == pytest.approx(
        toy.w0.value
    )


def test_bad_values_are_named():
    with pytest.raises(ValueError, match=r"^lr:"):
        toy_descents(0.3, 2.0, -1.0, [0.0])
    with pytest.raises(ValueError, match=r"^y:"):
        LandscapeWidget(y=float("inf"))
