"""ensemble_train against its documented rules, with hand-written references (for any implementation).

Member b: θ_b ← θ_b − η_b ∇(L + R_{λ_b}); at step t, before the update, a member whose parameters or
loss are not finite, or whose loss exceeds divergence_factor × max(L(θ_0), L_0, 1e-12), is marked
diverged at t, keeps θ_{t−1} and leaves the batch while the others go on.
"""

from __future__ import annotations

import math

import pytest
import torch
from reference_loops import factors_around_each_record, gd_losses

import gaugelab as gl
from gaugelab.ensemble import ensemble_train

DATA = gl.toy_regression(n_train=24, seed=3)
X, Y = DATA.x_train, DATA.y_train

START = {
    "fresh": lambda: (gl.two_layer(1, 8, seed=0), Y, [1.5, 2.5]),
    "large-output": lambda: (gl.two_layer(1, 8, seed=0, init_scale=4.0), Y, [1.0, 1.5]),
    "trained": lambda: (gl.train(gl.two_layer(1, 8, seed=0), X, Y, steps=300, lr=0.1).model, Y, [1.0, 2.5]),
    "tiny": lambda: (gl.two_layer(1, 8, seed=0, init_scale=1e-7), Y * 1e-7, [2.5]),
}


@pytest.mark.parametrize("backend", ["fused", "vmap"])  # the two-layer fast path and the general one
@pytest.mark.parametrize("start", sorted(START))
def test_divergence_step_follows_the_documented_threshold(start, backend):
    model, y, lrs = START[start]()
    checked = 0
    for lr in lrs:
        losses = gd_losses(model, X, y, lr, 0.0, 30)
        for factor, step in factors_around_each_record(losses, y)[:6]:
            ens = ensemble_train(
                [model, model], X, y, lr=[lr, 1e-3], steps=30, divergence_factor=factor, backend=backend
            )
            assert int(ens.diverged_step[0]) == (-1 if step is None else step), (lr, factor)
            assert not bool(ens.diverged[1])  # the slow twin never diverges
            if step is not None:
                assert ens.recorded[0].tolist() == (ens.steps < step).tolist()
                torch.testing.assert_close(
                    ens.loss[0, :step], torch.tensor(losses[:step], dtype=torch.float64)
                )
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("lam", [0.0, 0.4])
def test_each_member_follows_gradient_descent_on_loss_plus_its_penalty(lam):
    models = [gl.two_layer(1, 6, seed=s, rho0=r) for s, r in [(0, 1.0), (1, -0.5), (2, 0.0)]]
    lrs = [0.05, 0.2, 0.5]
    lams = [lam, 2 * lam, 0.0]
    ens = ensemble_train(models, X, Y, lr=lrs, lam=lams, steps=20)
    for b, (m, lr, la) in enumerate(zip(models, lrs, lams)):
        ref = gd_losses(m, X, Y, lr, la, 20)
        torch.testing.assert_close(
            ens.loss[b], torch.tensor(ref, dtype=torch.float64), rtol=1e-10, atol=1e-13
        )


def test_a_diverged_member_keeps_its_last_finite_parameters():
    model = gl.two_layer(1, 8, seed=0)
    losses = gd_losses(model, X, Y, 2.5, 0.0, 30)
    step = next(t for t, v in enumerate(losses) if not math.isfinite(v) or v > 10 * losses[0])
    ens = ensemble_train([model], X, Y, lr=2.5, steps=30, divergence_factor=10.0)
    assert int(ens.diverged_step[0]) == step
    ref = gl.train(model, X, Y, steps=step - 1, lr=2.5, divergence_factor=1e300).model
    for a, b in zip(ens.model(0).parameters(), ref.parameters()):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-10, atol=1e-13)
    assert float(ens.final_loss[0]) == pytest.approx(losses[step - 1], rel=1e-10)
