"""Bad input gets a ValueError or TypeError that names the argument and what was expected."""

from __future__ import annotations

import math

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


# ------------------------------------------------------------------------------------------------
# Issue 14 §3: each case of the bad-input list names the argument and what was expected
# ------------------------------------------------------------------------------------------------
NAN_X = torch.tensor([[0.0, 1.0], [float("nan"), 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=F64)
INF_Y = torch.tensor([[0.0], [float("inf")], [1.0], [0.0]], dtype=F64)


@pytest.mark.parametrize(
    "x, y, name",
    [
        (NAN_X, Y, "x"),
        (X, INF_Y, "y"),
        (X, -INF_Y, "y"),
        (torch.zeros(0, 2, dtype=F64), torch.zeros(0, 1, dtype=F64), "x"),
    ],
    ids=["nan-x", "inf-y", "neg-inf-y", "empty"],
)
def test_non_finite_or_empty_training_data_names_the_data(model, x, y, name):
    expected = r"expected at least one input row" if x.shape[0] == 0 else r"expected finite values"
    with pytest.raises(ValueError, match=rf"^{name}: {expected}"):
        gl.train(model, x, y, steps=1)
    from gaugelab.ensemble import ensemble_train

    with pytest.raises(ValueError, match=rf"^{name}: {expected}"):
        ensemble_train([model], x, y, lr=0.1, steps=1)


def test_non_finite_validation_data_is_named(model):
    with pytest.raises(ValueError, match=r"^x_val: expected finite values"):
        gl.train(model, X, Y, steps=1, x_val=NAN_X, y_val=Y)
    with pytest.raises(ValueError, match=r"^y_val: expected finite values"):
        gl.train(model, X, Y, steps=1, x_val=X, y_val=INF_Y)


def test_x_val_without_y_val_is_refused(model):
    with pytest.raises(ValueError, match=r"^x_val: given without y_val"):
        gl.train(model, X, Y, steps=1, x_val=X)
    with pytest.raises(ValueError, match=r"^y_val: given without x_val"):
        gl.train(model, X, Y, steps=1, y_val=Y)
    from gaugelab.ensemble import ensemble_train

    with pytest.raises(ValueError, match=r"^x_val: given without y_val"):
        ensemble_train([model], X, Y, lr=0.1, steps=1, x_val=X)


@pytest.mark.parametrize("rho0", [1500.0, -1500.0, 800.0, 178.0, 1e308])
def test_rho0_beyond_the_representable_range(rho0):
    with pytest.raises(ValueError, match=r"^rho0: expected \|rho0\| <= 177 for torch.float64"):
        gl.two_layer(rho0=rho0)
    with pytest.raises(ValueError, match=r"^rho0: expected \|rho0\| <= 22 for torch.float32"):
        gl.two_layer(rho0=rho0 / 8, dtype=torch.float32)


@pytest.mark.parametrize("rho0", [177.0, -177.0])
def test_rho0_at_the_limit_gives_finite_coordinates(rho0):
    """Documented acceptance: up to the limit every quantity the course computes stays finite."""
    m = gl.two_layer(1, 8, seed=0, rho0=rho0)
    torch.testing.assert_close(gl.log_scale(m)[0], torch.full((8,), rho0, dtype=F64))
    assert torch.isfinite(gl.imbalance(m)[0]).all()
    assert torch.isfinite(gl.gauge_penalty(m, 1.0))
    data = gl.toy_regression(n_train=16)
    assert math.isfinite(gl.top_hessian_eigenvalue(m, data.x_train, data.y_train, iters=20))


@pytest.mark.parametrize(
    "call",
    [
        lambda: gl.mlp([2, 3.5, 1]),
        lambda: gl.mlp([2.0, 3, 1]),
        lambda: gl.two_layer(width=2.5),
        lambda: gl.two_layer(d_in="2"),
    ],
    ids=["hidden-3.5", "d_in-2.0", "width-2.5", "d_in-str"],
)
def test_non_integer_widths_are_refused_not_truncated(call):
    with pytest.raises(ValueError, match=r"^widths: expected a list of integers"):
        call()


def test_numpy_integer_widths_and_seeds_are_accepted():
    import numpy as np

    a = gl.mlp([np.int64(2), np.int32(3), 1], seed=np.int64(4))
    b = gl.mlp([2, 3, 1], seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("seed", [1.5, 2.0, -1, "0", None])
def test_non_integer_or_negative_seeds_are_refused(model, seed):
    for call in (
        lambda: gl.two_layer(seed=seed),
        lambda: gl.toy_regression(seed=seed),
        lambda: gl.teacher_student(seed=seed),
        lambda: gl.random_scales(model, seed=seed),
        lambda: gl.train(model, X, Y, steps=1, seed=seed),
        lambda: gl.top_hessian_eigenvalue(model, X, Y, seed=seed),
    ):
        with pytest.raises(ValueError, match=r"^seed: expected an integer >= 0"):
            call()


def test_model_on_the_meta_device():
    meta = gl.two_layer(2, 3).to("meta")
    for call in (
        lambda: gl.imbalance(meta),
        lambda: gl.train(meta, X, Y, steps=1),
        lambda: gl.balance(meta),
        lambda: gl.top_hessian_eigenvalue(meta, X, Y),
    ):
        with pytest.raises(ValueError, match=r"^model: its parameters are on the 'meta' device"):
            call()


@pytest.mark.parametrize(
    "layer", [nn.Conv1d(2, 3, 1), nn.BatchNorm1d(3), nn.LayerNorm(3)], ids=lambda m: type(m).__name__
)
def test_weighted_layers_other_than_linear_are_not_told_to_use_relu(layer):
    net = nn.Sequential(nn.Linear(2, 3), layer, nn.Linear(3, 1)).double()
    name = type(layer).__name__
    with pytest.raises(
        TypeError, match=rf"^model: layer 1 \({name}\) has weights but is not an nn.Linear"
    ) as e:
        gl.imbalance(net)
    assert "use nn.ReLU" not in str(e.value)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.5), (-0.1, 0.9), (0.9,), "fast"])
def test_adam_betas_out_of_range(model, betas):
    from gaugelab import optim

    kind = TypeError if isinstance(betas, str) or len(betas) != 2 else ValueError
    with pytest.raises(kind, match=r"^betas: expected two numbers \(beta1, beta2\) in \[0, 1\)"):
        gl.train(model, X, Y, steps=1, optimizer="adam", betas=betas)
    with pytest.raises(kind, match=r"^betas: expected two numbers"):
        optim.adam(0.01, betas=betas)


def test_optimizer_factories_check_their_arguments():
    from gaugelab import optim

    with pytest.raises(ValueError, match=r"^lr: expected a positive finite number"):
        optim.sgd(-1.0)
    with pytest.raises(ValueError, match=r"^momentum: expected a number in \[0, 1\)"):
        optim.path_sgd(0.1, momentum=1.0)
    with pytest.raises(TypeError, match=r"^momentum: expected a number"):
        optim.PathSGD(gl.two_layer(2, 3), lr=0.1, momentum="high")


@pytest.mark.parametrize("low, high", [(-1000.0, 1000.0), (-200.0, 0.0), (0.0, 178.0)])
def test_random_scales_with_huge_ranges(model, low, high):
    with pytest.raises(ValueError, match=r"^low, high: expected log-scales within ±177 for torch.float64"):
        gl.random_scales(model, low, high)


def test_random_scales_arguments(model):
    with pytest.raises(ValueError, match=r"^low, high: expected low <= high"):
        gl.random_scales(model, 1.0, -1.0)
    with pytest.raises(TypeError, match=r"^low: expected a finite number"):
        gl.random_scales(model, "a", 1.0)
    with pytest.raises(ValueError, match=r"^high: expected a finite number"):
        gl.random_scales(model, 0.0, float("nan"))
    # documented acceptance: the widest range gives finite positive scales and an exact gauge
    (alpha,) = gl.random_scales(model, -177.0, 177.0)
    assert torch.isfinite(alpha).all() and (alpha > 0).all()


def test_rescale_refuses_scales_that_overflow_the_weights():
    big = gl.two_layer(2, 3)
    with torch.no_grad():
        for p in big.parameters():
            p.fill_(1e10)
    before = [p.detach().clone() for p in big.parameters()]
    for alpha in (1e300, 1e-300):
        scales = torch.tensor([1.0, alpha, 1.0], dtype=F64)
        with pytest.raises(ValueError, match=r"^scales: the rescaled weights overflow or underflow"):
            gl.rescale_(big, scales)
        assert all(torch.equal(p, q) for p, q in zip(big.parameters(), before)), "model changed"


def test_invariance_error_on_empty_x(model):
    with pytest.raises(ValueError, match=r"^x: expected at least one input row, got shape \(0, 2\)"):
        gl.invariance_error(model, torch.ones(3, dtype=F64), torch.zeros(0, 2, dtype=F64))
    with pytest.raises(ValueError, match=r"^x: expected finite values"):
        gl.invariance_error(model, torch.ones(3, dtype=F64), NAN_X)


@pytest.mark.parametrize("arg", ["rho0", "v_norm", "t"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_relaxation_with_nan_or_inf(arg, bad):
    kwargs = dict(rho0=torch.tensor([0.5, -1.0]), v_norm=torch.tensor([1.0, 2.0]), t=torch.tensor([0.0, 1.0]))
    kwargs[arg] = torch.tensor([1.0, bad])
    with pytest.raises(ValueError, match=rf"^{arg}: expected finite values, got 1 NaN/inf entry"):
        gl.relaxation(kwargs["rho0"], kwargs["v_norm"], 0.1, kwargs["t"])
    with pytest.raises(TypeError, match=r"^t: expected numbers"):
        gl.relaxation(0.5, 1.0, 0.1, "soon")


def test_relaxation_is_finite_for_large_log_scales():
    """The plain 2 artanh(tanh(ρ0/2) e^{-k}) is inf at ρ0 = 40, t = 0; ours stays exact."""
    rho0 = torch.tensor([40.0, -40.0, 300.0, -700.0], dtype=F64)
    torch.testing.assert_close(gl.relaxation(rho0, torch.ones(4), 0.1, 0.0), rho0, rtol=1e-15, atol=0)
    out = gl.relaxation(rho0, torch.ones(4), 0.1, torch.tensor([[1e-3], [1.0]]))
    assert torch.isfinite(out).all() and (out.abs() < rho0.abs()).all()
    assert (torch.sign(out) == torch.sign(rho0)).all()


def test_top_hessian_eigenvalue_with_nan_input(model):
    with pytest.raises(ValueError, match=r"^x: expected finite values"):
        gl.top_hessian_eigenvalue(model, NAN_X, Y)
    with pytest.raises(ValueError, match=r"^y: expected finite values"):
        gl.top_hessian_eigenvalue(model, X, INF_Y)
    broken = gl.two_layer(2, 3)
    with torch.no_grad():
        broken[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"^model: parameter '0.weight' holds NaN or inf"):
        gl.top_hessian_eigenvalue(broken, X, Y)
    huge = gl.two_layer(2, 3, init_scale=1e120)
    with pytest.raises(ValueError, match=r"^model: the Hessian-vector products overflow"):
        gl.top_hessian_eigenvalue(huge, torch.ones(4, 2, dtype=F64), Y)


def test_max_stable_lr_where_lambda_max_is_zero():
    """Documented: at θ = 0 of a net without biases the Hessian is 0 and no step is limited."""
    m = gl.two_layer(2, 3, bias=False)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    x = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    y = torch.randn(6, 1, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert gl.top_hessian_eigenvalue(m, x, y) == 0.0
    assert gl.max_stable_lr(m, x, y) == float("inf")
    # with biases the output bias has curvature 1: η_max = 2
    assert gl.max_stable_lr(gl.two_layer(2, 3, init_scale=1e-30), x, y) == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize("normalize", [True, False])
def test_teleport_with_a_huge_step_blames_lr(model, normalize):
    from gaugelab.teleport import teleport

    x = torch.randn(8, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    y = torch.randn(8, 1, dtype=F64, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match=r"^lr: .*lr=1000") as e:
        teleport(model, x, y, objective="grad_norm", maximize=True, lr=1e3, normalize=normalize, max_step=1e3)
    assert "scales" not in str(e.value)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_train=0), "n_train"),
        (dict(n_val=0), "n_val"),
        (dict(n_train=2.5), "n_train"),
        (dict(d_in=0), "d_in"),
        (dict(teacher_width=0), "teacher_width"),
        (dict(d_out=-1), "d_out"),
    ],
)
def test_teacher_student_sizes(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected a positive integer"):
        gl.teacher_student(**kwargs)


def test_toy_regression_ranges():
    with pytest.raises(ValueError, match=r"^train_range: expected low < high"):
        gl.toy_regression(train_range=(2.0, -2.0))
    with pytest.raises(ValueError, match=r"^val_range: expected a finite number"):
        gl.toy_regression(val_range=(-3.0, float("inf")))
    with pytest.raises(TypeError, match=r"^train_range: expected a pair"):
        gl.toy_regression(train_range=1.0)


def test_balance_arguments(model):
    with pytest.raises(ValueError, match=r"^tol: expected a positive finite number"):
        gl.balance(model, tol=0.0)
    with pytest.raises(ValueError, match=r"^max_sweeps: expected a positive integer"):
        gl.balance(model, max_sweeps=0)


def test_init_scale_and_dtype_of_the_builders():
    with pytest.raises(ValueError, match=r"^init_scale: expected a positive finite number"):
        gl.two_layer(init_scale=float("inf"))
    with pytest.raises(TypeError, match=r"^dtype: expected a floating-point torch dtype"):
        gl.two_layer(dtype=torch.int64)


def test_linear_layers_whose_widths_do_not_chain():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)).double()
    with pytest.raises(
        ValueError, match=r"^model: layer 2 \(Linear\) expects 4 inputs but the previous Linear gives 3"
    ):
        gl.imbalance(net)
