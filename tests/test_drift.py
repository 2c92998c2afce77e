"""gaugelab.drift: the exact one-step change of δ_j under GD and its sign (THEORY §3, §5).

The predictions are checked against what ``gl.train`` actually does in one step (torch's SGD
update), not against a second copy of the formula.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gaugelab as gl
from gaugelab import drift


@pytest.fixture(scope="module")
def data():
    return gl.toy_regression(n_train=32, seed=0)


def measured_step(model, x, y, lr, weight_decay=0.0):
    return gl.train(model, x, y, steps=1, lr=lr, weight_decay=weight_decay).delta[-1]


@pytest.mark.parametrize("lr, mu", [(0.1, 0.0), (0.4, 0.0), (0.1, 0.5)])
@pytest.mark.parametrize("sizes", [[1, 12, 1], [1, 6, 5, 1], [2, 7, 3]])
def test_one_step_imbalance_is_what_gl_train_does(data, sizes, lr, mu):
    model = gl.mlp(sizes, seed=1, init_scale=1.3)
    g = torch.Generator().manual_seed(0)
    x = data.x_train if sizes[0] == 1 else torch.randn(32, sizes[0], dtype=torch.float64, generator=g)
    y = data.y_train if sizes[-1] == 1 else torch.randn(32, sizes[-1], dtype=torch.float64, generator=g)
    predicted = gl.flat(drift.one_step_imbalance(model, x, y, lr, weight_decay=mu))
    measured = measured_step(model, x, y, lr, mu)
    change = (measured - gl.flat(gl.imbalance(model)).detach()).abs().max()
    assert change > 1e-6  # the step really moves δ, so the comparison means something
    assert torch.allclose(predicted, measured, rtol=0, atol=1e-14 * (1 + float(measured.abs().max())))


def test_drift_term_is_second_order_in_the_step(data):
    model = gl.two_layer(1, 10, seed=2)
    d0 = gl.flat(gl.imbalance(model)).detach()
    term = gl.flat(drift.drift_term(model, data.x_train, data.y_train))
    for lr in (0.05, 0.2):
        change = measured_step(model, data.x_train, data.y_train, lr) - d0
        assert torch.allclose(change / lr**2, term, rtol=1e-9, atol=1e-12)


ACTIVATIONS = [(nn.ReLU(), True), (nn.LeakyReLU(0.2), True), (nn.Identity(), True), (nn.ReLU(), False)]


@pytest.mark.parametrize("activation, bias", ACTIVATIONS)
def test_decomposition_equals_the_gradient_form(data, activation, bias):
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(1, 9, bias=bias, dtype=torch.float64), activation, nn.Linear(9, 1, dtype=torch.float64)
    )
    dec = drift.drift_decomposition(model, data.x_train, data.y_train)
    term = gl.flat(drift.drift_term(model, data.x_train, data.y_train))
    assert term.abs().max() > 1e-6
    assert torch.allclose(dec.term, term, rtol=1e-10, atol=1e-15)
    assert torch.allclose(dec.delta, gl.flat(gl.imbalance(model)).detach(), atol=1e-15)
    assert ((dec.sin2_phi >= -1e-15) & (dec.sin2_phi <= 1 + 1e-15)).all()


def test_residual_directions_give_both_gradients(data):
    """g_{u_j} = a_j s_j and g_{a_j} = u_j·s_j, each against autograd."""
    model = gl.two_layer(1, 8, seed=4)
    s = drift.residual_directions(model, data.x_train, data.y_train)
    ((g_u, g_a),) = drift.neuron_gradients(model, data.x_train, data.y_train)
    ((u, a),) = gl.neuron_vectors(model)
    assert torch.allclose(g_u, a.detach() * s, atol=1e-15)
    assert torch.allclose(g_a[:, 0], (u.detach() * s).sum(1), atol=1e-15)


def test_sign_of_the_drift_matches_the_measured_step(data):
    """Neurons with δ_j < 0 or δ_j > ‖u_j‖² sin²φ_j move toward balance, the others away."""
    model = gl.two_layer(1, 15, seed=0, rho0=0.0)
    log_alpha = torch.tensor([-0.4] * 5 + [0.02] * 5 + [1.5] * 5, dtype=torch.float64)
    model = gl.rescale(model, log_alpha.exp())  # δ_j < 0, δ_j slightly > 0, δ_j ≫ 0
    dec = drift.drift_decomposition(model, data.x_train, data.y_train)
    d0 = dec.delta
    d1 = measured_step(model, data.x_train, data.y_train, lr=0.05)
    moved_toward = d1.abs() < d0.abs()
    predicted_toward = (d0 < 0) | (d0 > dec.u_norm_sq * dec.sin2_phi)
    active = dec.term.abs() > 1e-12
    assert active.sum() >= 12
    assert torch.equal(moved_toward[active], predicted_toward[active])
    assert torch.equal(dec.toward_balance[active], predicted_toward[active])
    assert (d0[active] < 0).any() and (d0[active & predicted_toward] > 0).any()  # both ways toward
    assert (~predicted_toward[active]).any()  # and some pushed away


def test_a_balanced_neuron_is_pushed_to_positive_imbalance(data):
    model = gl.balance(gl.two_layer(1, 8, seed=5))
    dec = drift.drift_decomposition(model, data.x_train, data.y_train)
    moving = dec.s_norm_sq * dec.u_norm_sq * dec.sin2_phi > 1e-10
    assert moving.any()
    assert (dec.term[moving] > 0).all()


def test_decomposition_refuses_what_it_does_not_cover(data):
    with pytest.raises(ValueError, match="model: .*two-layer"):
        drift.drift_decomposition(gl.mlp([1, 4, 4, 1]), data.x_train, data.y_train)
    y2 = torch.zeros(32, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="model: .*one output"):
        drift.drift_decomposition(gl.two_layer(1, 4, 2), data.x_train, y2)
    with pytest.raises(ValueError, match="lr"):
        drift.one_step_imbalance(gl.two_layer(1, 4), data.x_train, data.y_train, lr=-1.0)
