"""THEORY §1 and §6: rescaling leaves f exactly unchanged; the invariance error is at rounding level."""

from __future__ import annotations

import copy
import statistics

import pytest
import torch
from conftest import inputs, models
from hypothesis import given
from hypothesis import strategies as st

import gaugelab as gl

PAPER = {"min": 3.99e-18, "median": 6.68e-18, "max": 1.14e-17}


def test_invariance_200_random_rescalings(report):
    """200 neuron-wise rescalings, log α ~ U[−3, 3], on a width-32 toy net at float64."""
    data = gl.toy_regression(seed=0)
    model = gl.two_layer(1, 32, seed=0)
    errors = [
        gl.invariance_error(model, gl.random_scales(model, -3, 3, seed=s), data.x_val) for s in range(200)
    ]
    relative = [
        gl.invariance_error(model, gl.random_scales(model, -3, 3, seed=s), data.x_val, relative=True)
        for s in range(200)
    ]
    ours = {"min": min(errors), "median": statistics.median(errors), "max": max(errors)}
    rel = {"min": min(relative), "median": statistics.median(relative), "max": max(relative)}
    report("invariance error, 200 rescalings, log α ~ U[-3, 3], width 32, 201 inputs on [-3, 3], float64:")
    for k in ("min", "median", "max"):
        report(f"  {k:6s} ours {ours[k]:.3e}   paper {PAPER[k]:.3e}   (ours, relative: {rel[k]:.3e})")
    # Rounding level: a few ulps of |f| ~ 1 and of the rescaled weights (|α| up to e^3).
    assert ours["max"] < 1e-13
    assert max(relative) < 1e-13
    assert ours["max"] > 0 or ours["min"] == 0  # a number, not NaN


def test_invariance_error_detects_a_broken_rescaling(monkeypatch):
    """The measure can fail: with a rescaling that forgets the 1/α on the outgoing side,
    invariance_error reports the change of f, (1/N) Σ_n |f_broken(x_n) − f(x_n)|, computed by hand."""
    import gaugelab.gauge as gauge

    model = gl.two_layer(1, 8, seed=3, rho0=0.0)
    x = inputs(model)
    alpha = torch.full((8,), 2.0, dtype=torch.float64)
    assert gl.invariance_error(model, alpha, x) < 1e-14  # the true gauge: invariant

    def incoming_only(m, scales):
        broken = copy.deepcopy(m)
        with torch.no_grad():
            broken[0].weight.mul_(scales[:, None])
            broken[0].bias.mul_(scales)
        return broken

    monkeypatch.setattr(gauge, "rescale", incoming_only)
    with torch.no_grad():
        by_hand = float((incoming_only(model, alpha)(x) - model(x)).abs().mean())
    assert by_hand > 1e-3
    assert gl.invariance_error(model, alpha, x) == pytest.approx(by_hand, rel=1e-12)
    rel = by_hand / float(model(x).detach().abs().mean())
    assert gl.invariance_error(model, alpha, x, relative=True) == pytest.approx(rel, rel=1e-12)


@given(models(), st.integers(0, 10_000))
def test_invariance_over_random_architectures(model, seed):
    x = inputs(model)
    scales = gl.random_scales(model, -3, 3, seed=seed)
    assert gl.invariance_error(model, scales, x, relative=True) < 1e-12
    assert gl.invariance_error(model, scales, x) <= 1e-12 * (1 + model(x).abs().max().item())


@given(models(), st.integers(0, 10_000), st.integers(0, 10_000))
def test_rescalings_compose_as_a_group(model, s1, s2):
    a = gl.random_scales(model, seed=s1)
    b = gl.random_scales(model, seed=s2)
    twice = gl.rescale(gl.rescale(model, a), b)
    once = gl.rescale(model, [x * y for x, y in zip(a, b)])
    for p, q in zip(twice.parameters(), once.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)
    back = gl.rescale(gl.rescale(model, a), [1 / x for x in a])
    for p, q in zip(back.parameters(), model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


def test_rescale_leaves_input_untouched_and_rescale__is_in_place():
    model = gl.two_layer(2, 5, seed=1)
    before = [p.clone() for p in model.parameters()]
    scales = torch.linspace(0.5, 2.0, 5, dtype=torch.float64)
    new = gl.rescale(model, scales)
    for p, q in zip(model.parameters(), before):
        assert torch.equal(p, q)
    torch.testing.assert_close(new[0].weight, before[0] * scales[:, None])
    torch.testing.assert_close(new[0].bias, before[1] * scales)
    torch.testing.assert_close(new[2].weight, before[2] / scales[None, :])
    torch.testing.assert_close(new[2].bias, before[3])  # output bias c is gauge-invariant
    same = gl.rescale_(model, scales)
    assert same is model
    torch.testing.assert_close(model[0].weight, new[0].weight)


@given(models(max_depth=1), st.integers(0, 10_000))
def test_gauge_moves_log_scale_by_2s_and_keeps_v(model, seed):
    """ρ_j ↦ ρ_j + 2 s_j and v_j unchanged (THEORY §2)."""
    (s,) = [torch.log(a) for a in gl.random_scales(model, seed=seed)]
    moved = gl.rescale(model, torch.exp(s))
    (rho0,), (rho1,) = gl.log_scale(model), gl.log_scale(moved)
    torch.testing.assert_close(rho1, rho0 + 2 * s, rtol=0, atol=1e-12)
    v0, v1 = gl.gauge_coordinates(model).v, gl.gauge_coordinates(moved).v
    torch.testing.assert_close(v1, v0, rtol=1e-12, atol=1e-14)


def test_non_homogeneous_activation_really_breaks_invariance():
    """Why Tanh is refused: rescaling a Tanh net changes its function."""
    model = gl.two_layer(1, 6, seed=2)
    tanh = torch.nn.Sequential(model[0], torch.nn.Tanh(), model[2])
    x = inputs(model)
    with torch.no_grad():
        w_in, b_in, w_out = tanh[0].weight.clone(), tanh[0].bias.clone(), tanh[2].weight.clone()
        f0 = tanh(x)
        tanh[0].weight.mul_(3.0), tanh[0].bias.mul_(3.0), tanh[2].weight.div_(3.0)
        assert (tanh(x) - f0).abs().mean() > 1e-3
        tanh[0].weight.copy_(w_in), tanh[0].bias.copy_(b_in), tanh[2].weight.copy_(w_out)
    with pytest.raises(TypeError, match=r"layer 1 \(Tanh\)"):
        gl.invariance_error(tanh, torch.ones(6, dtype=torch.float64), x)


@pytest.mark.parametrize("low, high", [(-3.0, 3.0), (-1.0, 0.5), (0.2, 2.0), (1.0, 1.0)])
def test_random_scales_draw_log_alpha_uniformly_on_low_high(low, high):
    """log α_j ~ U[low, high]: inside the interval, and over 2000 neurons spread over all of it."""
    model = gl.two_layer(1, 2000, seed=0)
    (alpha,) = gl.random_scales(model, low, high, seed=1)
    s = alpha.log()
    assert (s >= low - 1e-12).all() and (s <= high + 1e-12).all()
    width = high - low
    assert float(s.min()) <= low + 0.01 * width + 1e-12 and float(s.max()) >= high - 0.01 * width - 1e-12
    assert float(s.mean()) == pytest.approx((low + high) / 2, abs=0.05 * width + 1e-12)
