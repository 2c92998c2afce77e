"""THEORY §3: Euler's identity, conserved imbalance, and the exact per-step drift of GD."""

from __future__ import annotations

import pytest
import torch
from conftest import flat_grad, inputs, models, targets
from hypothesis import given
from hypothesis import strategies as st

import gaugelab as gl


def neuron_grads(model, x, y):
    """Per hidden layer, (‖g_u‖², ‖g_a‖²) of the training loss at the model's point."""
    loss = gl.half_mse(model(x), y)
    params = list(model.parameters())
    grads = dict(zip(params, torch.autograd.grad(loss, params)))
    out = []
    for layer in gl.hidden_layers(model):
        gu = grads[layer.incoming.weight]
        if layer.incoming.bias is not None:
            gu = torch.cat([gu, grads[layer.incoming.bias][:, None]], dim=1)
        ga = grads[layer.outgoing.weight].T
        out.append(((gu**2).sum(1), (ga**2).sum(1)))
    return out


@given(models())
def test_euler_identity_gradient_orthogonal_to_orbits(model):
    """u_j·∇_{u_j}L = a_j·∇_{a_j}L, i.e. ⟨∇L, ξ_j⟩ = 0 for every hidden neuron."""
    x, y = inputs(model), targets(model)
    g = flat_grad(model, gl.half_mse(model(x), y))
    xi = gl.orbit_generators(model)
    scale = g.norm() * xi.norm(dim=1)
    assert ((xi @ g).abs() <= 1e-12 * (1 + scale)).all()


@given(models(), st.sampled_from([1e-3, 1e-2, 5e-2]), st.sampled_from([0.0, 0.1, 1.0]))
def test_one_step_drift_is_exact(model, lr, mu):
    """δ ← (1 − ημ)² δ + η² (‖g_u‖² − ‖g_a‖²) for one step of GD with weight decay μ, to 1e-12."""
    x, y = inputs(model), targets(model)
    d0 = gl.flat(gl.imbalance(model)).detach()
    g2 = neuron_grads(model, x, y)
    drift = torch.cat([gu - ga for gu, ga in g2])
    result = gl.train(model, x, y, steps=1, lr=lr, weight_decay=mu)
    d1 = result.delta[-1]
    predicted = (1 - lr * mu) ** 2 * d0 + lr**2 * drift
    size = 1 + d0.abs() + (lr**2 * torch.cat([gu + ga for gu, ga in g2]))
    assert ((d1 - predicted).abs() <= 1e-12 * size).all(), (d1 - predicted).abs().max()


def test_halving_the_step_quarters_the_drift(report):
    model = gl.two_layer(1, 16, seed=0)
    data = gl.toy_regression(seed=0)
    d0 = gl.flat(gl.imbalance(model)).detach()
    drifts = []
    for lr in (0.2, 0.1, 0.05):
        d1 = gl.train(model, data.x_train, data.y_train, steps=1, lr=lr).delta[-1]
        drifts.append((d1 - d0).abs().sum().item())
    ratios = [drifts[0] / drifts[1], drifts[1] / drifts[2]]
    report(f"one-step scale drift ratio when halving η: {ratios[0]:.12f}, {ratios[1]:.12f} (theory: 4)")
    assert ratios == pytest.approx([4.0, 4.0], rel=1e-9)


def test_gradient_flow_conserves_imbalance_as_the_step_shrinks(report):
    """Integrating to the same time t = 2 with smaller steps: the total drift shrinks like η."""
    model = gl.two_layer(1, 16, seed=1)
    data = gl.toy_regression(seed=1)
    drift = {}
    for lr in (0.04, 0.02, 0.01):
        r = gl.train(model, data.x_train, data.y_train, steps=int(round(2 / lr)), lr=lr)
        drift[lr] = (r.delta[-1] - r.delta[0]).abs().max().item()
        assert (r.loss[-1] < r.loss[0]).item()
    report(f"max |Δδ| at t=2 for η = 0.04, 0.02, 0.01: {[f'{v:.3e}' for v in drift.values()]}")
    assert drift[0.02] / drift[0.01] == pytest.approx(2.0, rel=0.1)
    assert drift[0.04] / drift[0.02] == pytest.approx(2.0, rel=0.1)


def test_weight_decay_balances_and_shrinks():
    """μ > 0 alone (zero data gradient) drives δ → 0 like (1 − ημ)^{2t} and shrinks ‖v‖: f changes."""
    model = gl.two_layer(1, 4, seed=0, rho0=1.0)
    x = torch.zeros(1, 1, dtype=torch.float64)
    y = model(x).detach()
    r = gl.train(model, x, y, steps=50, lr=0.1, weight_decay=0.2)
    ratio = r.delta[-1] / r.delta[0]
    # data gradient is ~0 only at the start; check the decay law on the first step exactly
    first = r.delta[1] / r.delta[0]
    torch.testing.assert_close(first, torch.full_like(first, (1 - 0.02) ** 2), rtol=0, atol=1e-12)
    assert (ratio.abs() < 0.5).all()
    v0 = gl.flat(gl.path_norm(model)).detach()
    v1 = gl.flat(gl.path_norm(r.model)).detach()
    assert (v1 < v0).all()
