"""The training loop: optimizers, history, divergence reporting, seeds, float32."""

from __future__ import annotations

import math

import pytest
import torch

import gaugelab as gl

DATA = gl.toy_regression(seed=0)


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "adam"])
def test_every_optimizer_reduces_the_loss(optimizer):
    model = gl.two_layer(1, 16, seed=0)
    lr = 0.01 if optimizer == "adam" else 0.05
    r = gl.train(
        model,
        DATA.x_train,
        DATA.y_train,
        steps=300,
        lr=lr,
        optimizer=optimizer,
        x_val=DATA.x_val,
        y_val=DATA.y_val,
        record_every=50,
    )
    assert not r.diverged
    assert r.final_loss < 0.7 * r.loss[0].item()
    assert r.steps.tolist() == [0, 50, 100, 150, 200, 250, 300]
    assert r.delta.shape == (7, 16) and r.rho.shape == (7, 16) and r.val_mse.shape == (7,)
    assert r.function_change[0].item() == 0.0 and r.function_change[-1].item() > 0


def test_model_is_copied_unless_inplace():
    model = gl.two_layer(1, 4, seed=0)
    before = [p.clone() for p in model.parameters()]
    gl.train(model, DATA.x_train, DATA.y_train, steps=5, lr=0.1)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    r = gl.train(model, DATA.x_train, DATA.y_train, steps=5, lr=0.1, inplace=True)
    assert r.model is model and not torch.equal(model[0].weight, before[0])


def test_divergence_is_reported_with_its_step_and_never_raised():
    model = gl.two_layer(1, 16, seed=0, rho0=2.0)
    r = gl.train(model, DATA.x_train, DATA.y_train, steps=500, lr=5.0)
    assert r.diverged and r.diverged_step is not None and 0 < r.diverged_step <= 500
    assert r.reason
    assert "DIVERGED" in r.summary()
    for t in (r.loss, r.delta, r.function_change):
        assert torch.isfinite(t).all()
    assert all(torch.isfinite(p).all() for p in r.model.parameters())
    assert r.steps[-1].item() == r.diverged_step - 1


def test_nan_is_caught_as_divergence():
    model = gl.two_layer(1, 4, seed=0)
    r = gl.train(model, DATA.x_train, DATA.y_train, steps=50, lr=1e200)
    assert r.diverged


def test_sgd_is_reproducible_with_a_seed_and_differs_across_seeds():
    model = gl.two_layer(1, 8, seed=0)

    def run(seed):
        kw = dict(steps=40, lr=0.05, optimizer="sgd", batch_size=8, seed=seed)
        return gl.train(model, DATA.x_train, DATA.y_train, **kw).loss

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_soft_gauge_fixing_in_training_reduces_imbalance_and_keeps_fitting():
    model = gl.two_layer(1, 16, seed=0, rho0=1.5)
    base = gl.train(model, DATA.x_train, DATA.y_train, steps=400, lr=0.02)
    fixed = gl.train(model, DATA.x_train, DATA.y_train, steps=400, lr=0.02, lam=0.2)
    assert fixed.delta[-1].abs().mean() < 0.5 * base.delta[-1].abs().mean()
    assert fixed.final_loss < 0.7 * fixed.loss[0].item()


def test_penalty_works_in_a_plain_torch_loop():
    model = gl.mlp([1, 8, 8, 1], seed=1, init_scale=2.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    start = gl.flat(gl.imbalance(model)).abs().max().item()
    for _ in range(200):
        opt.zero_grad()
        loss = gl.half_mse(model(DATA.x_train), DATA.y_train) + gl.gauge_penalty(model, 0.5)
        loss.backward()
        opt.step()
    assert gl.flat(gl.imbalance(model)).abs().max().item() < 0.5 * start


def test_float32_models_are_accepted():
    """float32 is accepted (inputs cast to the model dtype); precision is then float32's."""
    model = gl.two_layer(1, 8, seed=0, dtype=torch.float32)
    assert model[0].weight.dtype == torch.float32
    err = gl.invariance_error(model, gl.random_scales(model, -3, 3), DATA.x_val, relative=True)
    assert err < 1e-5 and err > 1e-12
    r = gl.train(model, DATA.x_train, DATA.y_train, steps=20, lr=0.05)
    assert r.loss.dtype == torch.float32 and not r.diverged
    assert math.isfinite(gl.top_hessian_eigenvalue(model, DATA.x_train, DATA.y_train))
