"""THEORY §2: gauge-adapted coordinates, their identities, the chart; §1: counting gauge directions."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import inputs, models
from hypothesis import given
from hypothesis import strategies as st
from torch.func import functional_call, jacrev

import gaugelab as gl


@given(models())
def test_identities_delta_sinh_and_pythagoras(model):
    """δ = 2‖v‖ sinh ρ and (‖u‖² + ‖a‖²)² = δ² + 4‖v‖², for every neuron of every layer."""
    for (nu, na), delta, rho, v in zip(
        gl.neuron_norms(model), gl.imbalance(model), gl.log_scale(model), gl.path_norm(model)
    ):
        delta, rho, v = delta.detach(), rho.detach(), v.detach()
        torch.testing.assert_close(gl.imbalance_from_log_scale(rho, v), delta, rtol=1e-12, atol=1e-14)
        lhs = (nu.detach() ** 2 + na.detach() ** 2) ** 2
        torch.testing.assert_close(lhs, delta**2 + 4 * v**2, rtol=1e-12, atol=1e-14)


def test_imbalance_matches_its_definition_on_a_hand_built_net():
    net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.ReLU(), torch.nn.Linear(1, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[3.0, 0.0]])), net[0].bias.copy_(torch.tensor([4.0]))
        net[2].weight.copy_(torch.tensor([[2.0]]))
    # u = (3, 0, 4): ‖u‖² = 25; a = 2: ‖a‖² = 4.
    assert gl.imbalance(net)[0].item() == pytest.approx(21.0, abs=1e-14)
    assert gl.log_scale(net)[0].item() == pytest.approx(math.log(2.5), abs=1e-14)
    assert gl.path_norm(net)[0].item() == pytest.approx(10.0, abs=1e-14)
    coords = gl.gauge_coordinates(net)
    torch.testing.assert_close(coords.v[0, 0], torch.tensor([6.0, 0.0, 8.0], dtype=torch.float64))


@given(
    st.integers(1, 4),
    st.integers(1, 8),
    st.integers(1, 3),
    st.booleans(),
    st.sampled_from(["relu", "leaky_relu", "identity"]),
    st.integers(0, 10_000),
    st.booleans(),
)
def test_chart_round_trip(d_in, width, d_out, bias, activation, seed, out_bias):
    """θ → (v, ρ, â, c) → θ is exact to ~1e-15 relative, and the rebuilt net is the same function."""
    model = gl.two_layer(d_in, width, d_out, activation=activation, bias=bias, seed=seed)
    if not out_bias:
        model[2] = torch.nn.Linear(width, d_out, bias=False, dtype=torch.float64)
    coords = gl.gauge_coordinates(model)
    back = gl.from_gauge_coordinates(coords)
    for p, q in zip(model.parameters(), back.parameters()):
        assert torch.allclose(p, q, rtol=1e-14, atol=1e-15 * p.abs().max().item())
    assert isinstance(back[1], type(model[1]))
    x = inputs(model)
    torch.testing.assert_close(back(x), model(x), rtol=1e-13, atol=1e-15)
    again = gl.gauge_coordinates(back)
    torch.testing.assert_close(again.v, coords.v, rtol=1e-14, atol=1e-16)
    torch.testing.assert_close(again.rho, coords.rho, rtol=0, atol=1e-13)


def test_chart_moves_along_the_orbit_when_only_rho_changes():
    model = gl.two_layer(3, 6, 2, seed=4)
    coords = gl.gauge_coordinates(model)
    s = torch.linspace(-1, 1, 6, dtype=torch.float64)
    coords.rho = coords.rho + 2 * s
    moved = gl.from_gauge_coordinates(coords)
    expected = gl.rescale(model, torch.exp(s))
    for p, q in zip(moved.parameters(), expected.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-13, atol=1e-15)


def test_log_scale_refuses_a_dead_neuron_and_masks_it_on_request():
    model = gl.two_layer(2, 4, seed=0)
    with torch.no_grad():
        model[2].weight[:, 1] = 0.0
    with pytest.raises(ValueError, match=r"neurons \[1\]"):
        gl.log_scale(model)
    (rho,) = gl.log_scale(model, on_degenerate="nan")
    assert torch.isnan(rho[1]) and torch.isfinite(rho[[0, 2, 3]]).all()
    assert gl.degenerate_neurons(model)[0].tolist() == [False, True, False, False]


def test_chart_refuses_deep_nets():
    with pytest.raises(ValueError, match="two-layer"):
        gl.gauge_coordinates(gl.mlp([2, 3, 3, 1]))


@given(models(), st.integers(0, 100))
def test_output_jacobian_has_one_zero_singular_value_per_hidden_neuron(model, seed):
    """On generic data the output Jacobian J (N·k × D) annihilates every orbit generator ξ_j,
    and for a ReLU/leaky net with enough data it has exactly H zero singular values."""
    x = inputs(model, n=64, seed=seed)
    names = [n for n, _ in model.named_parameters()]
    theta = {n: p.detach() for n, p in model.named_parameters()}
    jac = jacrev(lambda th: functional_call(model, th, (x,)))(theta)
    J = torch.cat([jac[n].reshape(x.shape[0] * gl.nets.output_width(model), -1) for n in names], dim=1)
    xi = gl.orbit_generators(model)
    assert xi.shape == (sum(gl.hidden_widths(model)), J.shape[1])
    assert (J @ xi.T).abs().max() <= 1e-12 * max(1.0, J.abs().max().item() * xi.abs().max().item())
    # Generators are independent (rank H) wherever no neuron is degenerate.
    if not any(m.any() for m in gl.degenerate_neurons(model)):
        assert torch.linalg.matrix_rank(xi).item() == xi.shape[0]


def test_counting_zero_singular_values_on_a_generic_two_layer_net():
    model = gl.two_layer(2, 5, 1, seed=7)
    x = 4 * inputs(model, n=200, seed=3)
    # "Generic": every neuron is active on some inputs and inactive on others (a neuron active
    # everywhere would add a redundancy with the output bias; one active on too few points
    # would lose rank).
    active = (model[0](x) > 0).double().mean(0)
    assert ((active > 0.1) & (active < 0.9)).all(), active
    names = [n for n, _ in model.named_parameters()]
    theta = {n: p.detach() for n, p in model.named_parameters()}
    jac = jacrev(lambda th: functional_call(model, th, (x,)))(theta)
    J = torch.cat([jac[n].reshape(200, -1) for n in names], dim=1)
    sv = torch.linalg.svdvals(J)
    D, H = J.shape[1], 5
    assert D == 21
    zero = sv < 1e-10 * sv[0]
    assert int(zero.sum()) == H, sv


def test_neuron_vectors_and_norms_are_values_to_read_without_warnings():
    """Issue 10: official solutions do float(...) / .numpy() on these; torch warns (or raises) on
    tensors that require grad. They are detached; δ, ρ, ‖v‖ stay differentiable for losses."""
    import warnings

    model = gl.two_layer(2, 5, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ((u, a),) = gl.neuron_vectors(model)
        ((nu, na),) = gl.neuron_norms(model)
        float((a[0] ** 2).sum())
        float(1 / (0.05 * (nu**2 + na**2).max()))
        nu.numpy(), u.numpy()
    for t in (u, a, nu, na):
        assert not t.requires_grad
    torch.testing.assert_close(u, torch.cat([model[0].weight, model[0].bias[:, None]], 1).detach())
    torch.testing.assert_close(a, model[2].weight.T.detach())
    for quantity in (gl.imbalance, gl.log_scale, gl.path_norm):
        (q,) = quantity(model)
        assert q.requires_grad, quantity.__name__
        (g,) = torch.autograd.grad(q.sum(), [model[2].weight])
        assert g.abs().sum() > 0
