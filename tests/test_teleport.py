"""THEORY §7: symmetry teleportation moves along the orbit (f fixed) and changes its objective."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import flat_grad, inputs, targets

import gaugelab as gl
from gaugelab.teleport import orbit_objective, teleport


def _trained(widths=(1, 6, 5, 1), steps=20):
    data = gl.toy_regression(n_train=24, seed=0)
    model = gl.train(gl.mlp(list(widths), seed=0), data.x_train, data.y_train, steps=steps, lr=0.05).model
    return model, data.x_train, data.y_train


@pytest.mark.parametrize(
    "objective, maximize",
    [
        ("grad_norm", True),
        ("grad_norm", False),
        ("sharpness", False),
        ("sharpness", True),
        ("weight_norm", False),
    ],
)
def test_teleport_keeps_f_and_moves_the_objective(objective, maximize):
    model, x, y = _trained()
    res = teleport(model, x, y, objective=objective, maximize=maximize, steps=15, lr=0.1)
    xs = torch.linspace(-3, 3, 101, dtype=torch.float64)[:, None]
    with torch.no_grad():
        assert float((res.model(xs) - model(xs)).abs().max()) < 1e-12
    assert res.function_change < 1e-12
    j0, j1 = float(res.objective[0]), float(res.objective[-1])
    assert (j1 > 1.05 * j0) if maximize else (j1 < 0.98 * j0)


def test_objective_at_zero_matches_independent_computations():
    model, x, y = _trained()
    for name, expected in [
        ("weight_norm", sum(float((p.detach() ** 2).sum()) for p in model.parameters())),
        ("grad_norm", float((flat_grad(model, gl.half_mse(model(x), y)) ** 2).sum())),
        ("sharpness", gl.top_hessian_eigenvalue(model, x, y)),
    ]:
        J, theta, P = orbit_objective(model, x, y, name)
        assert float(J(torch.zeros(P.shape[1], dtype=torch.float64))) == pytest.approx(expected, rel=1e-9)


def test_objective_along_the_orbit_equals_objective_of_rescaled_model():
    model, x, y = _trained()
    s = torch.linspace(-0.5, 0.7, 11, dtype=torch.float64)
    moved = gl.rescale(model, [torch.exp(s[:6]), torch.exp(s[6:])])
    J, _, P = orbit_objective(model, x, y, "sharpness")
    assert float(J(s)) == pytest.approx(gl.top_hessian_eigenvalue(moved, x, y), rel=1e-9)


def test_scalar_toy_min_sharpness_is_the_balanced_point():
    """THEORY §5: at a minimum a·w = y, λ_max = a² + w² ≥ 2|y| with equality iff |a| = |w|."""
    model = gl.two_layer(1, 1, 1, bias=False)
    with torch.no_grad():
        model[0].weight.fill_(3.0)
        model[2].weight.fill_(0.5)
    one, y = torch.ones(1, 1, dtype=torch.float64), torch.tensor([[1.5]], dtype=torch.float64)
    res = teleport(model, one, y, objective="sharpness", steps=80, lr=0.05)
    assert float(res.objective[0]) == pytest.approx(9.25, rel=1e-10)
    assert float(res.objective[-1]) == pytest.approx(3.0, rel=1e-3)
    w, a = res.model[0].weight.item(), res.model[2].weight.item()
    assert abs(math.log(w / a)) < 0.06


def test_weight_norm_descent_approaches_the_balanced_point():
    model, x, y = _trained(widths=(1, 8, 1))
    res = teleport(model, x, y, objective="weight_norm", steps=200, lr=0.02)
    target = sum(float((p.detach() ** 2).sum()) for p in gl.balance(model).parameters())
    assert float(res.objective[-1]) == pytest.approx(target, rel=1e-3)
    assert float(gl.imbalance(res.model)[0].abs().max().detach()) < 0.05 * float(
        gl.imbalance(model)[0].abs().max().detach()
    )


def test_teleport_bad_input():
    model = gl.two_layer(1, 3, 1)
    x, y = inputs(model, 4), targets(model, 4)
    with pytest.raises(ValueError, match="^objective"):
        teleport(model, x, y, objective="loss")
    with pytest.raises(ValueError, match="^lr"):
        teleport(model, x, y, lr=0)


@pytest.mark.parametrize(
    "objective, maximize, lr, max_step, clips",
    [
        ("weight_norm", False, 0.5, 0.01, True),  # |lr·g| up to ~1: clipped
        ("weight_norm", False, 0.05, 0.2, False),  # |lr·g| ≤ 0.12: never clipped
        ("grad_norm", True, 30.0, 0.02, True),
        ("grad_norm", True, 3.0, 0.05, False),
    ],
)
def test_unnormalised_steps_are_clipped_to_max_step(objective, maximize, lr, max_step, clips):
    """normalize=False: s_{t+1} = s_t ± clip(lr · ∇_s J(s_t), −max_step, max_step), recomputed by hand
    from J's gradient at every recorded s_t."""
    model, x, y = _trained()
    res = teleport(
        model,
        x,
        y,
        objective=objective,
        maximize=maximize,
        steps=6,
        lr=lr,
        normalize=False,
        max_step=max_step,
    )
    J, _, _ = orbit_objective(model, x, y, objective)
    sign = 1.0 if maximize else -1.0
    clipped = 0
    for t in range(6):
        s = res.s[t].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(J(s), s)
        expected = sign * torch.clamp(lr * g, -max_step, max_step)
        torch.testing.assert_close(res.s[t + 1] - res.s[t], expected, rtol=1e-9, atol=1e-15)
        clipped += int(((lr * g).abs() > max_step).sum())
        assert float((res.s[t + 1] - res.s[t]).abs().max()) <= max_step * (1 + 1e-12)
    assert (clipped > 0) == clips  # the clip is exercised where it should be, and only there


def test_normalised_steps_move_the_largest_log_scale_by_lr():
    model, x, y = _trained()
    res = teleport(model, x, y, objective="grad_norm", maximize=True, steps=5, lr=0.07)
    J, _, _ = orbit_objective(model, x, y, "grad_norm")
    for t in range(5):
        s = res.s[t].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(J(s), s)
        torch.testing.assert_close(res.s[t + 1] - res.s[t], 0.07 * g / g.abs().max(), rtol=1e-9, atol=1e-15)


def test_function_change_measures_f_on_x(monkeypatch):
    """function_change = max_n ‖f_new(x_n) − f(x_n)‖ on x. With the true gauge it is rounding; with a
    rescaling that forgets the 1/α on the outgoing side (planted) it reports the change of f."""
    import copy

    import gaugelab.teleport as tp

    model, x, y = _trained(widths=(1, 6, 1))
    res = teleport(model, x, y, objective="weight_norm", steps=5, lr=0.3)
    with torch.no_grad():
        assert res.function_change == float((res.model(x) - model(x)).norm(dim=1).max())

    def incoming_only(m, scales):
        broken = copy.deepcopy(m)
        with torch.no_grad():
            broken[0].weight.mul_(scales[0][:, None])
            broken[0].bias.mul_(scales[0])
        return broken

    monkeypatch.setattr(tp, "rescale", incoming_only)
    res = teleport(model, x, y, objective="weight_norm", steps=5, lr=0.3)
    with torch.no_grad():
        by_hand = float((incoming_only(model, res.scales)(x) - model(x)).norm(dim=1).max())
    assert by_hand > 1e-3
    assert res.function_change == pytest.approx(by_hand, rel=1e-12)
