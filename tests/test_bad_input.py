"""Bad input gets a ValueError or TypeError that names the argument and what was expected."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gaugelab as gl

F64 = torch.float64


@pytest.fixture
def model():
    return gl.two_layer(2, 3, seed=0)


X = torch.zeros(4, 2, dtype=F64)
Y = torch.zeros(4, 1, dtype=F64)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_scales(model, bad):
    scales = torch.tensor([1.0, bad, 2.0], dtype=F64)
    with pytest.raises(ValueError, match=r"scales: hidden layer 0 needs positive finite scales"):
        gl.rescale(model, scales)
    with pytest.raises(ValueError, match="scales"):
        gl.invariance_error(model, scales, X)


def test_wrong_number_of_scale_tensors():
    deep = gl.mlp([2, 3, 4, 1])
    with pytest.raises(ValueError, match=r"scales: expected 2 tensor\(s\), one per hidden layer, got 1"):
        gl.rescale(deep, [torch.ones(3, dtype=F64)])
    with pytest.raises(ValueError, match=r"scales: expected 2 tensor"):
        gl.rescale(deep, torch.ones(3, dtype=F64))  # a bare tensor only for one hidden layer


def test_wrong_length_of_scales(model):
    with pytest.raises(
        ValueError, match=r"hidden layer 0 has 3 neurons, so its scales must have shape \(3,\)"
    ):
        gl.rescale(model, torch.ones(4, dtype=F64))
    with pytest.raises(TypeError, match="scales: expected a list"):
        gl.rescale(model, "1,1,1")


@pytest.mark.parametrize("act", [nn.Tanh(), nn.GELU(), nn.Sigmoid(), nn.Softplus()])
def test_layer_without_the_symmetry_is_named(act):
    net = nn.Sequential(nn.Linear(2, 3), act, nn.Linear(3, 1)).double()
    name = type(act).__name__
    for call in (
        lambda: gl.imbalance(net),
        lambda: gl.rescale(net, torch.ones(3, dtype=F64)),
        lambda: gl.gauge_penalty(net, 0.1),
        lambda: gl.train(net, X, Y, steps=1),
        lambda: gl.balance(net),
    ):
        with pytest.raises(TypeError, match=rf"model: layer 1 \({name}\) is not positively homogeneous"):
            call()


def test_models_that_are_not_sequential_mlps():
    with pytest.raises(TypeError, match="model: expected a torch.nn.Sequential"):
        gl.imbalance(nn.Linear(2, 1))
    with pytest.raises(ValueError, match="at least two nn.Linear"):
        gl.imbalance(nn.Sequential(nn.Linear(2, 1)))


@pytest.mark.parametrize("lam", [-0.1, float("nan"), float("inf")])
def test_bad_lambda(model, lam):
    with pytest.raises(ValueError, match="lam: expected a non-negative finite number"):
        gl.gauge_penalty(model, lam)
    with pytest.raises(ValueError, match="lam: expected a non-negative"):
        gl.train(model, X, Y, steps=1, lam=lam)
    with pytest.raises(ValueError, match="lam"):
        gl.relaxation(0.1, 1.0, lam, 1.0)


@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate(model, lr):
    with pytest.raises(ValueError, match="lr: expected a positive finite number"):
        gl.train(model, X, Y, steps=1, lr=lr)


def test_x_of_the_wrong_width(model):
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\) for this model, got \(4, 3\)"):
        gl.invariance_error(model, torch.ones(3, dtype=F64), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\)"):
        gl.train(model, torch.zeros(4, 3), Y, steps=1)
    with pytest.raises(ValueError, match=r"y: expected shape \(4, 1\)"):
        gl.train(model, X, torch.zeros(5, 1), steps=1)
    with pytest.raises(ValueError, match=r"x: expected shape"):
        gl.top_hessian_eigenvalue(model, torch.zeros(4, 5), Y)


def test_other_training_arguments(model):
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        gl.train(model, X, Y, optimizer="lbfgs")
    with pytest.raises(ValueError, match="steps: expected an integer >= 0"):
        gl.train(model, X, Y, steps=-1)
    with pytest.raises(ValueError, match="weight_decay"):
        gl.train(model, X, Y, weight_decay=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        gl.train(model, X, Y, optimizer="momentum", momentum=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        gl.train(model, X, Y, batch_size=0)
    with pytest.raises(TypeError, match="lr: expected a positive finite number"):
        gl.train(model, X, Y, lr="fast")


def test_builders_and_data(model):
    with pytest.raises(ValueError, match="widths"):
        gl.mlp([2, 1])
    with pytest.raises(ValueError, match="activation: expected one of"):
        gl.two_layer(activation="tanh")
    with pytest.raises(ValueError, match="rho0"):
        gl.two_layer(rho0=float("nan"))
    with pytest.raises(ValueError, match="target"):
        gl.toy_regression(target="nope")
    with pytest.raises(ValueError, match="noise"):
        gl.toy_regression(noise=-1)
    with pytest.raises(ValueError, match="t: expected times >= 0"):
        gl.relaxation(0.1, 1.0, 0.1, -1.0)
