"""The ensemble trainer: per member the same run as gl.train; divergence flagged and masked."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gaugelab as gl
from gaugelab.ensemble import ensemble_train

DATA = gl.toy_regression(n_train=24, n_val=31, seed=3)
KW = dict(steps=25, record_every=5, x_val=DATA.x_val, y_val=DATA.y_val)


def _compare(ens, i, run, tol=1e-10):
    # to 1e-10, and relatively to 1e-12 where values are large (a diverging run's δ reaches 1e13,
    # where one ulp is 0.002: no absolute tolerance can hold there)
    assert bool(ens.diverged[i]) == run.diverged
    assert int(ens.diverged_step[i]) == (run.diverged_step if run.diverged else -1)
    k = run.steps.numel()
    assert int(ens.recorded[i].sum()) == k and bool(ens.recorded[i, :k].all())
    torch.testing.assert_close(ens.loss[i, :k], run.loss, rtol=1e-12, atol=tol)
    torch.testing.assert_close(ens.delta[i, :k], run.delta, rtol=1e-12, atol=tol)
    torch.testing.assert_close(ens.val_mse[i, :k], run.val_mse, rtol=1e-12, atol=tol)
    for a, b in zip(ens.model(i).parameters(), run.model.parameters()):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=tol)


@settings(max_examples=8)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1000),
            st.sampled_from([0.0, 2.0, -1.0]),
            st.sampled_from([0.0, 0.2, 1.0, 30.0]),
            st.sampled_from([0.01, 0.1, 0.5, 4.0]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_each_member_equals_a_single_run_of_train(configs):
    """Same losses, δ, validation MSE, final parameters and divergence step as gl.train (1e-10)."""
    models = [gl.two_layer(1, 8, seed=s, rho0=r) for s, r, _, _ in configs]
    ens = ensemble_train(
        models, DATA.x_train, DATA.y_train, lr=[c[3] for c in configs], lam=[c[2] for c in configs], **KW
    )
    for i, (_, _, lam, lr) in enumerate(configs):
        run = gl.train(models[i], DATA.x_train, DATA.y_train, lr=lr, lam=lam, optimizer="gd", **KW)
        _compare(ens, i, run)


def test_deep_members_equal_single_runs_too():
    models = [gl.mlp([1, 6, 5, 1], seed=s, init_scale=1.5) for s in range(3)]
    ens = ensemble_train(models, DATA.x_train, DATA.y_train, lr=[0.05, 0.2, 3.0], lam=0.3, **KW)
    for i, lr in enumerate([0.05, 0.2, 3.0]):
        _compare(ens, i, gl.train(models[i], DATA.x_train, DATA.y_train, lr=lr, lam=0.3, **KW))
    assert bool(ens.diverged[2]) and not bool(ens.diverged[0])


def test_divergence_is_flagged_masked_and_does_not_disturb_the_others():
    good = [gl.two_layer(1, 16, seed=s) for s in range(3)]
    bad = gl.two_layer(1, 16, seed=9, rho0=2.0)
    models = [good[0], bad, good[1], good[2]]
    lrs = [0.1, 20.0, 0.1, 0.1]
    ens = ensemble_train(models, DATA.x_train, DATA.y_train, lr=lrs, lam=0.2, **KW)
    assert ens.diverged.tolist() == [False, True, False, False]
    t = int(ens.diverged_step[1])
    assert 0 < t <= KW["steps"]
    rec = ens.recorded[1]
    assert rec.tolist() == (ens.steps < t).tolist()
    assert torch.isnan(ens.loss[1, ~rec]).all() and torch.isfinite(ens.loss[1, rec]).all()
    assert torch.isfinite(ens.final_loss).all()
    assert all(torch.isfinite(p).all() for p in ens.final_params.values())
    alone = ensemble_train(good, DATA.x_train, DATA.y_train, lr=0.1, lam=0.2, **KW)
    for j, i in enumerate([0, 2, 3]):
        assert ens.recorded[i].all()
        torch.testing.assert_close(ens.loss[i], alone.loss[j], rtol=0, atol=1e-12)
        torch.testing.assert_close(ens.final_delta[i], alone.final_delta[j], rtol=0, atol=1e-12)


def test_same_inputs_give_bit_identical_results():
    models = [gl.two_layer(1, 8, seed=s, rho0=1.0) for s in range(4)]
    a = ensemble_train(models, DATA.x_train, DATA.y_train, lr=[0.1, 0.5, 1.0, 5.0], lam=0.2, **KW)
    b = ensemble_train(models, DATA.x_train, DATA.y_train, lr=[0.1, 0.5, 1.0, 5.0], lam=0.2, **KW)
    assert torch.equal(a.loss.nan_to_num(-1.0), b.loss.nan_to_num(-1.0))
    assert all(torch.equal(a.final_params[k], b.final_params[k]) for k in a.final_params)


def test_chunks_and_device_argument_give_the_same_result():
    models = [gl.two_layer(1, 8, seed=s) for s in range(5)]
    a = ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.2, **KW)
    b = ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.2, chunk_size=2, device="cpu", **KW)
    torch.testing.assert_close(a.final_delta, b.final_delta, rtol=0, atol=1e-13)
    assert b.config["device"] == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_device_runs():
    models = [gl.two_layer(1, 8, seed=s) for s in range(3)]
    ens = ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.1, device="cuda", **KW)
    assert ens.final_loss.device.type == "cpu"


def test_models_are_not_modified():
    models = [gl.two_layer(1, 8, seed=0)]
    before = [p.clone() for p in models[0].parameters()]
    ensemble_train(models, DATA.x_train, DATA.y_train, lr=0.1, **KW)
    assert all(torch.equal(p, q) for p, q in zip(models[0].parameters(), before))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=-0.1), "^lr:"),
        (dict(lr=[0.1, 0.2, 0.3]), "^lr:"),
        (dict(lr=0.1, lam=-1.0), "^lam:"),
        (dict(lr=0.1, steps=-1), "^steps:"),
        (dict(lr=0.1, record_every=0), "^record_every:"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    models = [gl.two_layer(1, 8, seed=s) for s in range(2)]
    with pytest.raises(ValueError, match=match):
        ensemble_train(models, DATA.x_train, DATA.y_train, **kwargs)


def test_mixed_architectures_and_empty_lists_are_refused():
    with pytest.raises(ValueError, match="^models:"):
        ensemble_train([gl.two_layer(1, 8), gl.two_layer(1, 9)], DATA.x_train, DATA.y_train, lr=0.1)
    with pytest.raises(ValueError, match="^models:"):
        ensemble_train([], DATA.x_train, DATA.y_train, lr=0.1)
