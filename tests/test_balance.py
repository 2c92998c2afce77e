"""THEORY §2: the hard gauge fix is δ = 0, the same function and the smallest ‖θ‖² on the orbit."""

from __future__ import annotations

import pytest
import torch
from conftest import inputs, models
from hypothesis import given

import gaugelab as gl


def sq_norm(model) -> float:
    return sum(float((p.detach() ** 2).sum()) for p in model.parameters())


@given(models())
def test_balance_gives_delta_zero_same_function_smallest_norm(model):
    balanced = gl.balance(model)
    x = inputs(model)
    torch.testing.assert_close(balanced(x), model(x), rtol=1e-11, atol=1e-13)
    live = [~m for m in gl.degenerate_neurons(model)]
    for delta, (nu, na), ok in zip(gl.imbalance(balanced), gl.neuron_norms(balanced), live):
        assert (delta.detach()[ok].abs() <= 1e-10 * (nu**2 + na**2).detach()[ok]).all()
    best = sq_norm(balanced)
    for seed in range(30):
        other = gl.rescale(balanced, gl.random_scales(balanced, -1, 1, seed=seed))
        assert sq_norm(other) >= best * (1 - 1e-12)


def test_balance_is_the_closed_form_for_two_layers():
    model = gl.two_layer(3, 7, 2, seed=5)
    ((nu, na),) = gl.neuron_norms(model)
    balanced = gl.balance(model)
    # At the balanced point ‖u_j‖ = ‖a_j‖ = √‖v_j‖, so ‖θ‖² = 2 Σ_j ‖v_j‖ + ‖c‖².
    expected = 2 * float((nu * na).sum().detach()) + float((model[2].bias.detach() ** 2).sum())
    assert abs(sq_norm(balanced) - expected) < 1e-12 * expected
    ((nb, ab),) = gl.neuron_norms(balanced)
    torch.testing.assert_close(nb, ab, rtol=1e-14, atol=0)


def test_balance_minimises_norm_along_every_single_neuron_direction():
    """A first-order check on a deep net: d‖θ‖²/ds_j = 2 δ_j = 0 at the balanced point."""
    model = gl.mlp([3, 5, 4, 2], seed=2, init_scale=2.0)
    balanced = gl.balance(model)
    base = sq_norm(balanced)
    for layer, width in enumerate(gl.hidden_widths(balanced)):
        for j in range(width):
            for s in (-1e-3, 1e-3):
                scales = [torch.ones(w, dtype=torch.float64) for w in gl.hidden_widths(balanced)]
                scales[layer][j] = torch.exp(torch.tensor(s))
                assert sq_norm(gl.rescale(balanced, scales)) >= base


def test_rho0_builder_sets_the_initial_log_scale():
    model = gl.two_layer(1, 10, seed=0, rho0=1.5)
    torch.testing.assert_close(gl.log_scale(model)[0], torch.full((10,), 1.5, dtype=torch.float64))
    balanced = gl.two_layer(1, 10, seed=0, rho0=0.0)
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)[:, None]
    torch.testing.assert_close(model(x), balanced(x), rtol=1e-12, atol=1e-14)


def _with_dead_neuron(widths, layer: int, j: int, side: str, seed: int = 0):
    model = gl.mlp(widths, seed=seed)
    h = gl.hidden_layers(model)[layer]
    with torch.no_grad():
        if side == "in":
            h.incoming.weight[j] = 0
            h.incoming.bias[j] = 0
        else:
            h.outgoing.weight[:, j] = 0
    return model


@pytest.mark.parametrize("side", ["in", "out"])
@pytest.mark.parametrize(
    "widths, layer, j", [([2, 4, 4, 1], 0, 1), ([2, 4, 5, 3, 1], 1, 3), ([3, 6, 2], 0, 5)]
)
def test_balance_masks_and_reports_degenerate_neurons(widths, layer, j, side):
    """Issue 10: a degenerate neuron (u_j = 0 or a_j = 0) has no balanced point; balance leaves it,
    balances every other neuron, stops by its rule (no 10 000 sweeps) and names the neuron."""
    model = _with_dead_neuron(widths, layer, j, side)
    x = inputs(model)
    with pytest.warns(gl.BalanceWarning, match=rf"hidden layer {layer} neurons \[{j}\]") as record:
        balanced = gl.balance(model, max_sweeps=2000)
    assert not any("not balanced after" in str(w.message) for w in record), "did not meet its stopping rule"
    torch.testing.assert_close(balanced(x), model(x), rtol=1e-11, atol=1e-13)
    dead = gl.degenerate_neurons(model)
    assert bool(dead[layer][j]) and sum(int(m.sum()) for m in dead) == 1
    for delta, (nu, na), d in zip(gl.imbalance(balanced), gl.neuron_norms(balanced), dead):
        ok = ~d
        assert (delta.detach()[ok].abs() <= 1e-12 * (nu**2 + na**2)[ok].max()).all()
    # the degenerate neuron is left exactly as it was
    before = gl.neuron_vectors(model)[layer]
    after = gl.neuron_vectors(balanced)[layer]
    assert torch.equal(before[0][j], after[0][j]) or torch.equal(before[1][j], after[1][j])


def test_balance_without_degenerate_neurons_warns_nothing():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gl.balance(gl.mlp([3, 5, 4, 2], seed=2))
        gl.balance(gl.two_layer(2, 6, seed=1))


def test_balance_reports_when_it_runs_out_of_sweeps():
    model = gl.mlp([3, 5, 4, 2], seed=2, init_scale=3.0)
    with pytest.warns(gl.BalanceWarning, match=r"not balanced after max_sweeps=1 sweeps: max_j \|δ_j\| = "):
        gl.balance(model, max_sweeps=1)


def test_balance_stopping_rule_is_relative_to_the_size_of_the_weights():
    """max_j |δ_j| ≤ tol · max_j (‖u_j‖² + ‖a_j‖²): a large deep net (weights ~ 1e3) is balanced to
    rounding relative to its size, without running out of sweeps."""
    import warnings

    model = gl.mlp([3, 5, 4, 2], seed=2, init_scale=1e3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        balanced = gl.balance(model)
    size = max(float((nu**2 + na**2).max()) for nu, na in gl.neuron_norms(balanced))
    worst = max(float(d.detach().abs().max()) for d in gl.imbalance(balanced))
    assert size > 1e5 and worst <= 1e-13 * size
