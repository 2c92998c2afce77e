"""ensemble_train's weight decay: θ ← θ − η(∇(L + R_λ) + μθ), member by member the same run as gl.train."""

from __future__ import annotations

import pytest
import torch

import gaugelab as gl
from gaugelab.ensemble import ensemble_train

DATA = gl.toy_regression(n_train=24, n_val=31, seed=5)
KW = dict(steps=30, record_every=5, x_val=DATA.x_val, y_val=DATA.y_val)


def test_weight_decay_per_member_equals_gl_train():
    configs = [
        (0, 2.0, 0.0, 0.1, 0.08),
        (1, 0.0, 0.2, 0.3, 0.5),
        (2, -1.0, 0.0, 0.05, 0.0),
        (3, 2.0, 0.0, 6.0, 0.1),
    ]
    models = [gl.two_layer(1, 8, seed=s, rho0=r) for s, r, *_ in configs]
    ens = ensemble_train(
        models,
        DATA.x_train,
        DATA.y_train,
        lr=[c[3] for c in configs],
        lam=[c[2] for c in configs],
        weight_decay=[c[4] for c in configs],
        **KW,
    )
    for i, (_, _, lam, lr, mu) in enumerate(configs):
        run = gl.train(models[i], DATA.x_train, DATA.y_train, lr=lr, lam=lam, weight_decay=mu, **KW)
        assert bool(ens.diverged[i]) == run.diverged
        k = run.steps.numel()
        torch.testing.assert_close(ens.loss[i, :k], run.loss, rtol=0, atol=1e-10)
        torch.testing.assert_close(ens.delta[i, :k], run.delta, rtol=0, atol=1e-10)
        for a, b in zip(ens.model(i).parameters(), run.model.parameters()):
            torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=1e-10)
    assert bool(ens.diverged[3]) and not bool(ens.diverged[:3].any())


def test_weight_decay_changes_the_run_and_one_number_applies_to_all():
    models = [gl.two_layer(1, 8, seed=s, rho0=2.0) for s in range(2)]
    plain = ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.1, **KW)
    decayed = ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.1, weight_decay=0.2, **KW)
    # THEORY §3: with μ > 0 the imbalance contracts by (1 − ημ)² per step on top of the O(η²) drift
    assert (decayed.final_delta.abs().mean(-1) < 0.8 * plain.final_delta.abs().mean(-1)).all()
    per_member = ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.1, weight_decay=[0.2, 0.2], **KW)
    torch.testing.assert_close(per_member.final_delta, decayed.final_delta, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), [0.1, 0.2, 0.3]])
def test_bad_weight_decay_is_refused_naming_it(bad):
    models = [gl.two_layer(1, 4, seed=s) for s in range(2)]
    with pytest.raises(ValueError, match="^weight_decay:"):
        ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.1, weight_decay=bad, steps=2)
