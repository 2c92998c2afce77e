"""The batched momentum / minibatch-SGD trainer: member by member the same run as gl.train."""

from __future__ import annotations

import pytest
import torch

import gaugelab as gl
from gaugelab.ensemble_optim import ensemble_train_optim

DATA = gl.toy_regression(n_train=24, n_val=31, seed=2)
KW = dict(steps=40, record_every=5, x_val=DATA.x_val, y_val=DATA.y_val)


@pytest.mark.parametrize("optimizer, batch_size", [("momentum", None), ("sgd", 8), ("momentum", 6)])
def test_each_member_equals_gl_train(optimizer, batch_size):
    configs = [
        (0, 2.0, 0.0, 0.05, 0.0),
        (1, 0.0, 0.2, 0.1, 0.01),
        (2, -1.0, 1.0, 0.02, 0.0),
        (3, 2.0, 0.0, 3.0, 0.0),
    ]
    models = [gl.two_layer(1, 8, seed=s, rho0=r) for s, r, *_ in configs]
    ens = ensemble_train_optim(
        models,
        DATA.x_train,
        DATA.y_train,
        optimizer=optimizer,
        batch_size=batch_size,
        momentum=0.8,
        lr=[c[3] for c in configs],
        lam=[c[2] for c in configs],
        weight_decay=[c[4] for c in configs],
        seed=[c[0] + 10 for c in configs],
        **KW,
    )
    for i, (s, _, lam, lr, mu) in enumerate(configs):
        run = gl.train(
            models[i],
            DATA.x_train,
            DATA.y_train,
            optimizer=optimizer,
            batch_size=batch_size,
            momentum=0.8,
            lr=lr,
            lam=lam,
            weight_decay=mu,
            seed=s + 10,
            **KW,
        )
        assert bool(ens.diverged[i]) == run.diverged
        assert int(ens.diverged_step[i]) == (run.diverged_step if run.diverged else -1)
        k = run.steps.numel()
        torch.testing.assert_close(ens.loss[i, :k], run.loss, rtol=0, atol=1e-10)
        torch.testing.assert_close(ens.delta[i, :k], run.delta, rtol=0, atol=1e-10)
        torch.testing.assert_close(ens.val_mse[i, :k], run.val_mse, rtol=0, atol=1e-10)
        for a, b in zip(ens.model(i).parameters(), run.model.parameters()):
            torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=1e-10)
    assert bool(ens.diverged[3]) and not bool(ens.diverged[:3].any())


def test_gd_and_the_trajectory_match_gl_train():
    models = [gl.two_layer(1, 8, seed=s, rho0=2.0) for s in range(2)]
    ens = ensemble_train_optim(
        models, DATA.x_train, DATA.y_train, optimizer="gd", lr=[0.1, 5.0], steps=12, trajectory=6
    )
    traj = ens.config["trajectory"]
    for i, lr in enumerate([0.1, 5.0]):
        snaps = []
        run = gl.train(
            models[i],
            DATA.x_train,
            DATA.y_train,
            lr=lr,
            steps=12,
            before_step=lambda t, m, o, snaps=snaps: snaps.append(
                torch.cat([q.detach().reshape(-1) for q in m.parameters()])
            ),
        )
        assert bool(ens.diverged[i]) == run.diverged
        last = min(run.diverged_step if run.diverged else 13, 7)
        torch.testing.assert_close(traj[i, :last], torch.stack(snaps[:last]), rtol=0, atol=1e-10)
        assert torch.isnan(traj[i, last:]).all()
    assert bool(ens.diverged[1]) and not bool(ens.diverged[0])


def test_the_minibatch_seed_matters_and_adam_is_refused():
    models = [gl.two_layer(1, 8, seed=0, rho0=1.0)] * 2
    ens = ensemble_train_optim(
        models, DATA.x_train, DATA.y_train, optimizer="sgd", batch_size=8, lr=0.1, seed=[0, 1], steps=20
    )
    assert not torch.allclose(ens.final_params["0.weight"][0], ens.final_params["0.weight"][1])
    with pytest.raises(ValueError, match="^optimizer:"):
        ensemble_train_optim(models, DATA.x_train, DATA.y_train, optimizer="adam", lr=0.1)
