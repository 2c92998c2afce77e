"""THEORY §4: the soft gauge-fixing functional, its gradient, and dissipative relaxation."""

from __future__ import annotations

import pytest
import torch
from conftest import flat_grad, flat_params, inputs, models, targets
from hypothesis import given
from hypothesis import strategies as st

import gaugelab as gl


@given(models(), st.floats(0.01, 5.0))
def test_penalty_value_and_gradient_along_orbits(model, lam):
    """R = (λ/4) Σ δ²; ∇R = λ Σ_j δ_j ξ_j (so ∇R lies in the span of the generators); ⟨∇L, ∇R⟩ = 0."""
    delta = gl.flat(gl.imbalance(model)).detach()
    R = gl.gauge_penalty(model, lam)
    assert R.item() == pytest.approx(lam / 4 * float((delta**2).sum()), rel=1e-13, abs=1e-300)
    gR = flat_grad(model, gl.gauge_penalty(model, lam))
    xi = gl.orbit_generators(model)
    torch.testing.assert_close(gR, lam * delta @ xi, rtol=1e-12, atol=1e-13)
    x, y = inputs(model), targets(model)
    gL = flat_grad(model, gl.half_mse(model(x), y))
    assert abs(torch.dot(gL, gR).item()) <= 1e-12 * (1 + gL.norm().item() * gR.norm().item())


@given(models(max_depth=1), st.floats(0.01, 5.0))
def test_dissipation_rate(model, lam):
    """Two layers: dδ_j/dt = ⟨∇δ_j, −∇R⟩ = −2λ (‖u_j‖² + ‖a_j‖²) δ_j = −2λ √(δ_j² + 4‖v_j‖²) δ_j."""
    R = gl.gauge_penalty(model, lam)
    gR = flat_grad(model, R)
    deltas = gl.flat(gl.imbalance(model))
    rates = torch.stack([-torch.dot(flat_grad(model, d), gR) for d in deltas])
    d = deltas.detach()
    v = gl.flat(gl.path_norm(model)).detach()
    expected = -2 * lam * torch.sqrt(d**2 + 4 * v**2) * d
    torch.testing.assert_close(rates, expected, rtol=1e-11, atol=1e-13)


@given(models(), st.floats(0.01, 5.0))
def test_dissipation_rate_deep(model, lam):
    """Deep nets: ∇δ_j = 2ξ_j, so dδ/dt = −2λ G δ with G = ξ ξᵀ the generators' Gram matrix
    (neighbouring layers share weights, so G is not diagonal there)."""
    gR = flat_grad(model, gl.gauge_penalty(model, lam))
    deltas = gl.flat(gl.imbalance(model))
    rates = torch.stack([-torch.dot(flat_grad(model, d), gR) for d in deltas])
    xi = gl.orbit_generators(model)
    expected = -2 * lam * (xi @ xi.T) @ deltas.detach()
    torch.testing.assert_close(rates, expected, rtol=1e-11, atol=1e-12)


def penalty_flow(model, lam, t_end, n_steps):
    """Integrate dθ/dt = −∇R_λ(θ) with classical RK4 (a reference, independent of gaugelab.train)."""
    params = list(model.parameters())

    def field(theta):
        torch.nn.utils.vector_to_parameters(theta, params)
        return -flat_grad(model, gl.gauge_penalty(model, lam))

    theta, h = flat_params(model), t_end / n_steps
    for _ in range(n_steps):
        k1 = field(theta)
        k2 = field(theta + h / 2 * k1)
        k3 = field(theta + h / 2 * k2)
        k4 = field(theta + h * k3)
        theta = theta + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(theta, params)
    return model


def test_closed_form_relaxation_matches_integration_and_keeps_f(report):
    model = gl.two_layer(2, 6, seed=3, init_scale=1.5)
    x = inputs(model)
    f0 = model(x).detach()
    (rho0,), (v,) = gl.log_scale(model), gl.path_norm(model)
    rho0, v = rho0.detach(), v.detach()
    lam, t_end = 0.7, 1.5
    flowed = penalty_flow(gl.rescale(model, torch.ones(6, dtype=torch.float64)), lam, t_end, 3000)
    (rho_t,) = gl.log_scale(flowed)
    closed = gl.relaxation(rho0, v, lam, t_end)
    err = (rho_t.detach() - closed).abs().max().item()
    fchange = (flowed(x) - f0).abs().max().item()
    report(f"relaxation: RK4 vs closed form max |Δρ| = {err:.2e}; max |Δf| along the flow = {fchange:.2e}")
    assert err < 1e-10
    assert fchange < 1e-10
    torch.testing.assert_close(gl.path_norm(flowed)[0].detach(), v, rtol=1e-10, atol=0)
    assert (rho_t.abs() < rho0.abs()).all()  # relaxation toward balance


def test_relaxation_formula_limits():
    rho0 = torch.tensor([-2.0, 0.0, 0.5, 3.0], dtype=torch.float64)
    v = torch.tensor([1.0, 2.0, 0.5, 0.1], dtype=torch.float64)
    torch.testing.assert_close(gl.relaxation(rho0, v, 0.3, 0.0), rho0)
    assert gl.relaxation(rho0, v, 0.3, 1e3).abs().max() < 1e-12
    # near balance the decay rate is 4λ‖v‖
    small = gl.relaxation(torch.full((4,), 1e-6, dtype=torch.float64), v, 0.3, 2.0)
    torch.testing.assert_close(small, 1e-6 * torch.exp(-4 * 0.3 * v * 2.0), rtol=1e-9, atol=0)
    torch.testing.assert_close(gl.relaxation_rate(v, 0.3), 4 * 0.3 * v)
    # δ = 2‖v‖ sinh ρ along the closed form decays monotonically
    t = torch.linspace(0, 5, 50, dtype=torch.float64)[:, None]
    d = gl.imbalance_from_log_scale(gl.relaxation(rho0, v, 0.3, t), v).abs()
    assert (d[1:] <= d[:-1] + 1e-15).all()


def test_discrete_penalty_step_changes_v_only_at_second_order():
    """u ← (1 − ηλδ)u, a ← (1 + ηλδ)a, so v ← (1 − (ηλδ)²) v."""
    model = gl.two_layer(2, 5, seed=1, init_scale=2.0)
    lam, lr = 0.3, 0.05
    (d,), (v0,) = [t.detach() for t in gl.imbalance(model)], [t.detach() for t in gl.path_norm(model)]
    g = torch.autograd.grad(gl.gauge_penalty(model, lam), list(model.parameters()), allow_unused=True)
    with torch.no_grad():
        for p, gp in zip(model.parameters(), g):
            if gp is not None:
                p.sub_(lr * gp)
    (v1,) = gl.path_norm(model)
    torch.testing.assert_close(v1.detach(), v0 * (1 - (lr * lam * d) ** 2), rtol=1e-13, atol=0)


def test_upper_limit_on_lambda():
    """Penalty-only GD near balance: δ is multiplied per step by ≈ 1 − 2ηλ(‖u‖² + ‖a‖²).

    Below λ = 1/(η·max(‖u‖²+‖a‖²)) it relaxes; above, the imbalance mode overshoots and grows,
    and the function is no longer preserved.
    """
    model = gl.two_layer(1, 1, seed=0, rho0=0.02, init_scale=3.0)
    lr = 0.1
    limit = gl.lambda_upper_limit(model, lr)
    S = 1 / (lr * limit)
    x = torch.zeros(1, 1, dtype=torch.float64)
    y = model(x).detach()  # zero data gradient at the start: the penalty alone acts
    d0 = gl.imbalance(model)[0].item()
    for frac in (0.2, 0.8, 1.2):
        r = gl.train(model, x, y, steps=1, lr=lr, lam=frac * limit)
        factor = r.delta[1].item() / d0
        assert factor == pytest.approx(1 - 2 * frac, abs=1e-3), frac
        assert factor == pytest.approx(1 - 2 * lr * frac * limit * S, abs=1e-3)
    below = gl.train(model, x, y, steps=30, lr=lr, lam=0.8 * limit)
    above = gl.train(model, x, y, steps=5, lr=lr, lam=1.2 * limit)
    assert below.delta[-1].abs().item() < 1e-3 * abs(d0)
    assert above.delta[-1].abs().item() > 4 * abs(d0)


@given(models(max_depth=3), st.floats(0.01, 1.0))
def test_stiffness_and_lambda_limit_are_the_max_over_every_neuron(model, lr):
    """penalty_stiffness = max_j (‖u_j‖² + ‖a_j‖²) over all neurons of all layers (brute force from the
    Linear weights), and λ_limit = 1 / (η · that max)."""
    from gaugelab.penalty import penalty_stiffness

    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    per_neuron = []
    for inc, out in zip(linears[:-1], linears[1:]):
        for j in range(inc.out_features):
            u2 = float((inc.weight[j] ** 2).sum()) + (
                float(inc.bias[j] ** 2) if inc.bias is not None else 0.0
            )
            per_neuron.append(u2 + float((out.weight[:, j] ** 2).sum()))
    assert float(penalty_stiffness(model)) == pytest.approx(max(per_neuron), rel=1e-12)
    assert gl.lambda_upper_limit(model, lr) == pytest.approx(1 / (lr * max(per_neuron)), rel=1e-12)


def test_stiffness_is_set_by_the_stiffest_neuron_of_a_wide_deep_net():
    """Not the mean, the first layer or the first neuron: make one neuron of the last hidden layer
    much stiffer than the rest and the stiffness follows it."""
    from gaugelab.penalty import penalty_stiffness

    model = gl.mlp([2, 7, 6, 1], seed=0)
    base = float(penalty_stiffness(model))
    with torch.no_grad():
        model[2].weight[4].mul_(10.0)  # neuron 4 of hidden layer 1: ‖u_4‖² grows 100×
    u2 = float((model[2].weight[4] ** 2).sum() + model[2].bias[4] ** 2)
    expected = u2 + float((model[4].weight[:, 4] ** 2).sum())
    assert expected > 5 * base
    assert float(penalty_stiffness(model)) == pytest.approx(expected, rel=1e-12)
