"""gl.train against its documented rules, with hand-written references (for any implementation).

The rules (gaugelab.train's docstrings): the objective is L + R_λ + (μ/2)‖θ‖² (weight decay through
the optimizer) for every optimizer and every batch size; "gd"/"sgd" are torch SGD, "momentum" heavy
ball with ``momentum``, "adam" torch Adam with ``betas``; a step whose training loss is not finite or
exceeds ``divergence_factor`` × max(L(θ_0), L_0, 1e-12) stops the run, reported at that step.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_loops import factors_around_each_record, gd_losses, half_mse, penalty

import gaugelab as gl

DATA = gl.toy_regression(n_train=24, seed=3)
X, Y = DATA.x_train, DATA.y_train


def reference_run(model, optimizer: str, lr, steps, *, lam=0.0, wd=0.0, momentum=0.9, betas=(0.9, 0.999)):
    """Full-batch torch loop on L + R_λ + (wd/2)‖θ‖² with the optimizer's own weight_decay at 0."""
    model = copy.deepcopy(model)
    params = list(model.parameters())
    if optimizer in ("gd", "sgd"):
        opt = torch.optim.SGD(params, lr=lr)
    elif optimizer == "momentum":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    else:
        opt = torch.optim.Adam(params, lr=lr, betas=betas)
    losses = []
    for t in range(steps + 1):
        loss = half_mse(model(X), Y)
        losses.append(float(loss.detach()))
        if t == steps:
            break
        total = loss + penalty(model, lam) + wd / 2 * sum((p**2).sum() for p in params)
        opt.zero_grad()
        total.backward()
        opt.step()
    return model, torch.tensor(losses, dtype=torch.float64)


@settings(max_examples=12)
@given(
    optimizer=st.sampled_from(["gd", "sgd", "momentum", "adam"]),
    wd=st.sampled_from([0.0, 0.05, 0.3]),
    lam=st.sampled_from([0.0, 0.2, 1.0]),
    momentum=st.sampled_from([0.5, 0.9]),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
    seed=st.integers(0, 50),
)
def test_every_optimizer_minimises_loss_plus_penalty_plus_weight_decay(
    optimizer, wd, lam, momentum, betas, seed
):
    """Weight decay and the penalty are never dropped, momentum and betas never ignored."""
    model = gl.two_layer(1, 6, seed=seed, rho0=1.0)
    lr = 0.01 if optimizer == "adam" else 0.05
    kw = dict(lam=lam, wd=wd, momentum=momentum, betas=betas)
    ref_model, ref_loss = reference_run(model, optimizer, lr, 15, **kw)
    run = gl.train(
        model,
        X,
        Y,
        steps=15,
        lr=lr,
        optimizer=optimizer,
        lam=lam,
        weight_decay=wd,
        momentum=momentum,
        betas=betas,
    )
    assert not run.diverged
    torch.testing.assert_close(run.loss, ref_loss, rtol=1e-10, atol=1e-13)
    for p, q in zip(run.model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-10, atol=1e-13)


def test_weight_decay_shrinks_a_model_that_has_nothing_to_fit():
    """With y = f(x) at the start and λ = 0 the gradient is pure weight decay at step 0: every
    optimizer moves θ against θ (momentum and Adam included)."""
    model = gl.two_layer(1, 6, seed=0)
    y = model(X).detach()
    for optimizer in ("gd", "momentum", "adam"):
        run = gl.train(model, X, y, steps=1, lr=0.01, optimizer=optimizer, weight_decay=0.5)
        for p, q in zip(model.parameters(), run.model.parameters()):
            moved = (q - p).detach()
            assert (moved * p.detach() <= 0).all() and (moved.abs() > 0).any(), optimizer


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [None, 5])
def test_the_penalty_acts_under_every_optimizer_and_batch_size(optimizer, batch_size):
    """Start with y = f_θ(x): every minibatch's data gradient is 0 at step 0, so the first step is
    the penalty's alone, whatever batches are drawn: ∇_u R = λ δ_j u_j, ∇_a R = −λ δ_j a_j.
    GD/SGD/momentum move by −η∇R; Adam's first step is −η ∇R/(|∇R| + ε) (torch's ε = 1e-8)."""
    model = gl.two_layer(1, 6, seed=1, rho0=1.2)
    y = model(X).detach()
    lam, lr = 0.3, 0.01
    run = gl.train(model, X, y, steps=1, lr=lr, optimizer=optimizer, lam=lam, batch_size=batch_size)
    params = list(model.parameters())
    grads = torch.autograd.grad(penalty(model, lam), params, allow_unused=True)
    for p, q, g in zip(params, run.model.parameters(), grads):
        g = torch.zeros_like(p) if g is None else g
        expected = -lr * (g / (g.abs() + 1e-8) if optimizer == "adam" else g)
        torch.testing.assert_close((q - p).detach(), expected, rtol=1e-6, atol=1e-14)
    assert (run.delta[1].abs() < run.delta[0].abs()).all()


def test_minibatch_sgd_with_the_penalty_relaxes_the_imbalance():
    model = gl.two_layer(1, 8, seed=0, rho0=1.5)
    kw = dict(steps=300, lr=0.02, optimizer="sgd", batch_size=6, seed=0)
    free = gl.train(model, X, Y, **kw)
    fixed = gl.train(model, X, Y, lam=0.5, **kw)
    assert float(fixed.delta[-1].abs().mean()) < 0.2 * float(free.delta[-1].abs().mean())


START = {
    "fresh": lambda: (gl.two_layer(1, 8, seed=0), Y, [1.5, 2.5]),  # L(θ0) ≈ L_0
    "large-output": lambda: (gl.two_layer(1, 8, seed=0, init_scale=4.0), Y, [1.0]),  # L(θ0) ≫ L_0
    "trained": lambda: (  # L(θ0) < L_0: the zero predictor's loss sets the scale
        gl.train(gl.two_layer(1, 8, seed=0), X, Y, steps=300, lr=0.1).model,
        Y,
        [1.0, 2.5],
    ),
    "tiny": lambda: (gl.two_layer(1, 8, seed=0, init_scale=1e-7), Y * 1e-7, [2.5]),  # the 1e-12 floor
}


@pytest.mark.parametrize("start", sorted(START))
def test_divergence_step_follows_the_documented_threshold(start):
    model, y, lrs = START[start]()
    checked = 0
    for lr in lrs:
        losses = gd_losses(model, X, y, lr, 0.0, 30)
        for factor, step in factors_around_each_record(losses, y)[:6]:
            run = gl.train(model, X, y, steps=30, lr=lr, divergence_factor=factor)
            assert run.diverged == (step is not None), (lr, factor)
            assert run.diverged_step == step, (lr, factor)
            if step is not None:  # the last finite state is kept, recorded up to step − 1
                assert int(run.steps[-1]) == step - 1 and run.reason
                torch.testing.assert_close(run.loss, torch.tensor(losses[:step], dtype=torch.float64))
            checked += 1
    assert checked >= 4


def test_a_non_finite_loss_is_divergence_whatever_the_factor():
    model = gl.two_layer(1, 8, seed=0)
    run = gl.train(model, X, Y, steps=60, lr=40.0, divergence_factor=1e300)
    assert run.diverged and "non-finite" in run.reason
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


@pytest.mark.parametrize("batch_size", [23, 12, 1])
def test_each_sgd_step_uses_one_minibatch_of_batch_size_rows(batch_size):
    """y = f(x) except on row k: a minibatch of b rows without k has no gradient; with k its mean
    loss weighs row k by 1/b, so the step is (N/b) times the full-batch step. Never the full batch."""
    model = gl.two_layer(1, 6, seed=2)
    n, k, lr = X.shape[0], 5, 0.01
    y = model(X).detach().clone()
    y[k] += 1.0
    g_full = torch.autograd.grad(half_mse(model(X), y), list(model.parameters()))
    seen = set()
    for seed in range(300):
        if len(seen) == 2:
            break
        run = gl.train(model, X, y, steps=1, lr=lr, optimizer="sgd", batch_size=batch_size, seed=seed)
        moves = [(q - p).detach() for p, q in zip(model.parameters(), run.model.parameters())]
        if all(float(m.abs().max()) == 0.0 for m in moves):
            seen.add("without k")
            continue
        for m, g in zip(moves, g_full):
            torch.testing.assert_close(m, -lr * (n / batch_size) * g, rtol=1e-9, atol=1e-15)
        seen.add("with k")
    assert seen == {"with k", "without k"}


def test_the_last_step_is_always_recorded():
    run = gl.train(gl.two_layer(1, 4, seed=0), X, Y, steps=23, lr=0.05, record_every=5)
    assert run.steps.tolist() == [0, 5, 10, 15, 20, 23]
    assert float(run.loss[-1]) == pytest.approx(float(half_mse(run.model(X), Y).detach()), rel=1e-12)


def test_a_diverged_run_keeps_the_last_model_before_the_bad_step():
    """Diverged at step t: the result's model is θ_{t−1} (the last one whose loss passed the rule),
    computed here by a plain loop of t − 1 steps."""
    model = gl.two_layer(1, 8, seed=0)
    run = gl.train(model, X, Y, steps=30, lr=2.5, divergence_factor=10.0)
    assert run.diverged and run.diverged_step is not None and run.diverged_step >= 2
    ref_model, ref_loss = reference_run(model, "gd", 2.5, run.diverged_step - 1)
    for p, q in zip(run.model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(run.loss, ref_loss, rtol=1e-10, atol=1e-13)
