"""The fused two-layer trainer: each member is gl.train's run (1e-10), divergence alike, no work after it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gaugelab as gl
from gaugelab import fused
from gaugelab.ensemble import ensemble_train, fused_unsupported

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")

TOL = 1e-10


def _data(d: int, k: int, seed: int = 0, n: int = 12):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(n, k, generator=gen, dtype=torch.float64)
    xv = torch.randn(7, d, generator=gen, dtype=torch.float64)
    yv = torch.randn(7, k, generator=gen, dtype=torch.float64)
    return x, y, xv, yv


def _member(d, m, k, activation, bias, kind, seed, rho0):
    model = gl.mlp([d, m, k], activation=activation, bias=bias, seed=seed, rho0=rho0)
    with torch.no_grad():
        if kind == "dead":  # u_j = 0 for two neurons (ρ undefined there), a_j = 0 for another
            model[0].weight[: min(2, m)] = 0.0
            if bias:
                model[0].bias[: min(2, m)] = 0.0
            model[2].weight[:, m - 1] = 0.0
        elif kind == "zero":  # the zero network: every parameter 0
            for p in model.parameters():
                p.zero_()
        elif kind == "silent" and bias:  # every ReLU off on every input: z_j = −1
            model[0].weight.zero_()
            model[0].bias.fill_(-1.0)
    return model


def _close(a, b, what):
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    assert a.shape == b.shape, what
    assert torch.equal(a.isnan(), b.isnan()), what
    err = float(((a - b).abs() / (1 + b.abs())).nan_to_num(0.0).max()) if a.numel() else 0.0
    assert err <= TOL, f"{what}: relative deviation {err:.2e}"
    return err


def compare_with_train(ens, i, model, x, y, xv, yv, steps, record_every, lr, lam, mu):
    """Member i of ``ens`` against gl.train's run; returns the largest relative deviation."""
    run = gl.train(
        model, x, y, steps=steps, lr=lr, lam=lam, weight_decay=mu, optimizer="gd",
        record_every=record_every, x_val=xv, y_val=yv,
    )  # fmt: skip
    assert bool(ens.diverged[i]) == run.diverged, f"member {i}: diverged flag"
    assert int(ens.diverged_step[i]) == (run.diverged_step if run.diverged else -1), f"member {i}: step"
    n = run.steps.numel()
    assert ens.recorded[i].tolist() == [j < n for j in range(ens.steps.numel())]
    assert torch.equal(ens.steps[:n], run.steps)
    dev = [
        _close(ens.loss[i, :n], run.loss, "loss"),
        _close(ens.delta[i, :n], run.delta, "delta"),
        _close(ens.val_mse[i, :n], run.val_mse, "val_mse"),
    ]
    assert ens.loss[i, n:].isnan().all() and ens.delta[i, n:].isnan().all()
    for (name, a), b in zip(ens.model(i).named_parameters(), run.model.parameters()):
        dev.append(_close(a.detach(), b.detach(), name))
    return max(dev)


architectures = st.tuples(
    st.integers(1, 3),  # d
    st.integers(1, 6),  # m
    st.integers(1, 2),  # k
    st.sampled_from(["relu", "leaky_relu", "identity"]),
    st.booleans(),  # bias
)
member_settings = st.tuples(
    st.sampled_from(["random", "random", "dead", "zero", "silent"]),
    st.integers(0, 10_000),  # seed
    st.sampled_from([None, -1.0, 0.0, 1.5]),  # rho0
    st.sampled_from([0.01, 0.1, 0.5, 2.0, 8.0, 50.0]),  # lr: 8 and 50 mostly diverge
    st.sampled_from([0.0, 0.2, 1.0, 30.0]),  # lam: 30 makes the penalty itself unstable at large lr
    st.sampled_from([0.0, 0.01, 0.3]),  # weight decay
)


@settings(max_examples=30)
@given(
    architectures, st.lists(member_settings, min_size=1, max_size=5), st.integers(0, 30), st.integers(1, 7)
)
def test_every_member_is_gl_train_s_run(arch, members, steps, record_every):
    """Losses, δ, validation MSE, final parameters, divergence flag and step as gl.train (1e-10)."""
    d, m, k, activation, bias = arch
    x, y, xv, yv = _data(d, k)
    models = [_member(d, m, k, activation, bias, kind, s, r) for kind, s, r, *_ in members]
    lr, lam, mu = ([c[i] for c in members] for i in (3, 4, 5))
    ens = ensemble_train(
        models, x, y, lr=lr, lam=lam, weight_decay=mu, steps=steps, record_every=record_every,
        x_val=xv, y_val=yv, backend="fused",
    )  # fmt: skip
    assert ens.config["backend"] == "fused"
    for i in range(len(models)):
        compare_with_train(ens, i, models[i], x, y, xv, yv, steps, record_every, lr[i], lam[i], mu[i])


@pytest.mark.parametrize("n", [1, 7, 12])
@pytest.mark.parametrize("d, k", [(1, 1), (2, 1), (1, 2)])
def test_an_odd_number_of_samples_agrees_too(n, d, k):
    """Samples go through the kernel two at a time; with n odd the last one goes alone (its own
    code path, for d = k = 1 a separate branch): every n and shape agrees with gl.train."""
    x, y, xv, yv = _data(d, k, seed=n, n=n)
    models = [_member(d, 5, k, "relu", True, "fresh", s, r) for s, r in ((0, 0.0), (1, 1.5))]
    ens = ensemble_train(
        models, x, y, lr=[0.05, 0.2], lam=[0.0, 0.3], steps=8, x_val=xv, y_val=yv, backend="fused"
    )
    for i, model in enumerate(models):
        compare_with_train(ens, i, model, x, y, xv, yv, 8, 1, [0.05, 0.2][i], [0.0, 0.3][i], 0.0)


def test_a_broad_fixed_grid_agrees_and_reports_its_largest_deviation(report):
    """The default protocol's kind of sweep (width 32, 1-D data) across the edge of stability."""
    data = gl.toy_regression(n_train=40, n_val=31, seed=1)
    grid = [
        (r, s, lam, lr)
        for r in (2.0, 0.0)
        for s in range(3)
        for lam in (0.0, 0.2, 5.0)
        for lr in (0.1, 0.7, 2.5)
    ]
    models = [gl.two_layer(1, 32, seed=s, rho0=r) for r, s, _, _ in grid]
    kw = dict(steps=60, record_every=10, x_val=data.x_val, y_val=data.y_val)
    ens = ensemble_train(
        models, data.x_train, data.y_train, lr=[c[3] for c in grid], lam=[c[2] for c in grid], **kw
    )
    assert ens.config["backend"] == "fused"
    assert 0 < int(ens.diverged.sum()) < len(grid)
    xs = (data.x_train, data.y_train, data.x_val, data.y_val, 60, 10)
    dev = torch.tensor(
        [compare_with_train(ens, i, models[i], *xs, lr, lam, 0.0) for i, (_, _, lam, lr) in enumerate(grid)]
    )
    stable, unstable = float(dev[~ens.diverged].max()), float(dev[ens.diverged].max())
    report(
        f"fused vs gl.train, {len(grid)} members: largest relative deviation {stable:.1e} over the stable "
        f"ones, {unstable:.1e} over the {int(ens.diverged.sum())} that diverge (before they do); "
        f"divergence flags and steps identical"
    )


def test_fused_and_vmap_paths_agree_with_weight_decay():
    x, y, xv, yv = _data(2, 1, seed=4)
    models = [gl.two_layer(2, 5, seed=s, rho0=1.0) for s in range(4)]
    kw = dict(lr=[0.05, 0.1, 0.2, 9.0], lam=[0.0, 0.5, 0.0, 0.2], weight_decay=[0.0, 0.1, 0.02, 0.1])
    kw.update(steps=30, record_every=3, x_val=xv, y_val=yv)
    a = ensemble_train(models, x, y, backend="fused", **kw)
    b = ensemble_train(models, x, y, backend="vmap", **kw)
    assert (a.config["backend"], b.config["backend"]) == ("fused", "vmap")
    assert torch.equal(a.diverged_step, b.diverged_step) and bool(a.diverged[3])
    assert torch.equal(a.weight_decay, b.weight_decay)
    for k in a.final_params:
        torch.testing.assert_close(a.final_params[k], b.final_params[k], rtol=TOL, atol=TOL)
    torch.testing.assert_close(a.loss, b.loss, rtol=TOL, atol=TOL, equal_nan=True)
    # weight decay acts: the same run without it ends elsewhere
    c = ensemble_train(models, x, y, **{**kw, "weight_decay": 0.0})
    assert not torch.allclose(c.final_params["0.weight"][1], a.final_params["0.weight"][1])


def test_the_path_is_chosen_automatically_and_can_be_forced():
    x, y, _, _ = _data(1, 1)
    kw = dict(lr=0.1, steps=3)
    two = [gl.two_layer(1, 4, seed=s) for s in range(2)]
    assert ensemble_train(two, x, y, **kw).config["backend"] == "fused"
    assert ensemble_train(two, x, y, backend="vmap", **kw).config["backend"] == "vmap"
    deep = [gl.mlp([1, 4, 3, 1], seed=s) for s in range(2)]
    res = ensemble_train(deep, x, y, **kw)
    assert (
        res.config["backend"] == "vmap"
        and "Sequential(Linear, activation, Linear)" in res.config["backend_reason"]
    )
    f32 = [gl.two_layer(1, 4, seed=s, dtype=torch.float32) for s in range(2)]
    assert ensemble_train(f32, x, y, **kw).config["backend"] == "vmap"
    assert "cuda" in fused_unsupported(two[0], torch.float64, torch.device("cuda"))
    assert fused_unsupported(two[0], torch.float64, torch.device("cpu")) is None
    with pytest.raises(ValueError, match="^backend: the fused trainer does not apply here: .*Sequential"):
        ensemble_train(deep, x, y, backend="fused", **kw)
    with pytest.raises(ValueError, match="^backend: expected one of"):
        ensemble_train(two, x, y, backend="numba", **kw)
    with pytest.raises(ValueError, match="^weight_decay:"):
        ensemble_train(two, x, y, weight_decay=-0.1, **kw)
    mixed = [gl.two_layer(1, 4, seed=0), gl.two_layer(1, 4, seed=1, activation="leaky_relu")]
    with pytest.raises(ValueError, match="^models: member 1 has activations"):
        ensemble_train(mixed, x, y, **kw)


def _flat(models):
    return np.stack([torch.nn.utils.parameters_to_vector(m.parameters()).detach().numpy() for m in models])


def _run(models, x, y, xv, yv, **kw):
    base = dict(width=models[0][0].out_features, has_b1=True, has_b2=True, is_relu=True, slope=0.0)
    base.update(steps=40, record_steps=list(range(0, 41, 5)), divergence_factor=1e4, threads=1)
    base.update(kw)
    b = len(models)
    lr = base.pop("lr", np.linspace(0.05, 6.0, b))
    out = fused.run(_flat(models), x.numpy(), y.numpy(), xv.numpy(), yv.numpy(), lr=lr,
                    lam=np.full(b, 0.2), mu=np.zeros(b), **base)  # fmt: skip
    return out


def test_results_do_not_depend_on_threads_lanes_or_the_other_members():
    x, y, xv, yv = _data(1, 1, seed=2)
    models = [gl.two_layer(1, 8, seed=s, rho0=1.0) for s in range(21)]
    ref = _run(models, x, y, xv, yv)
    assert 0 < (ref[4] >= 0).sum() < len(models)
    for kw in (dict(threads=2), dict(lanes=4), dict(lanes=3, threads=2), dict(lanes=64)):
        other = _run(models, x, y, xv, yv, **kw)
        for a, b in zip(ref, other):
            assert np.array_equal(a, b, equal_nan=True), kw
    perm = np.random.default_rng(0).permutation(len(models))
    shuffled = _run([models[i] for i in perm], x, y, xv, yv, lr=np.linspace(0.05, 6.0, 21)[perm])
    for a, b in zip(ref, shuffled):
        assert np.array_equal(a[perm], b, equal_nan=True)


def test_torch_thread_setting_gives_bit_identical_ensembles():
    data = gl.toy_regression(n_train=30, n_val=11, seed=2)
    models = [gl.two_layer(1, 16, seed=s, rho0=2.0) for s in range(12)]
    kw = dict(
        lr=np.linspace(0.1, 3.0, 12).tolist(),
        lam=0.2,
        steps=50,
        record_every=5,
        x_val=data.x_val,
        y_val=data.y_val,
    )
    before = torch.get_num_threads()
    try:
        runs = []
        for n in (1, 2):
            torch.set_num_threads(n)
            runs.append(ensemble_train(models, data.x_train, data.y_train, **kw))
    finally:
        torch.set_num_threads(before)
    a, b = runs
    assert (a.config["threads"], b.config["threads"]) == (1, 2)
    assert torch.equal(a.loss.nan_to_num(-1), b.loss.nan_to_num(-1))
    assert torch.equal(a.diverged_step, b.diverged_step)
    assert all(torch.equal(a.final_params[k], b.final_params[k]) for k in a.final_params)


def test_diverged_members_stop_costing_work():
    """A member that diverges at step t has had its loss evaluated t + 1 times, no more."""
    x, y, xv, yv = _data(1, 1, seed=3)
    models = [gl.two_layer(1, 8, seed=s, rho0=2.0) for s in range(40)]
    out = _run(models, x, y, xv, yv, steps=300, record_steps=[0, 300])
    div, passes = out[4], out[5]
    assert (div >= 0).sum() >= 10 and (div < 0).sum() >= 5
    assert np.array_equal(passes, np.where(div >= 0, div + 1, 301))


def test_zero_steps_and_no_validation_data():
    x, y, _, _ = _data(1, 1)
    models = [gl.two_layer(1, 4, seed=s) for s in range(3)]
    ens = ensemble_train(models, x, y, lr=0.1, steps=0)
    assert ens.val_mse is None and ens.final_val_mse is None and ens.steps.tolist() == [0]
    assert torch.equal(ens.final_params["0.weight"], torch.stack([m[0].weight for m in models]).detach())
    torch.testing.assert_close(ens.loss[:, 0], ens.final_loss, rtol=1e-14, atol=0)


def test_a_non_finite_start_is_refused():
    x, y, _, _ = _data(1, 1)
    bad = gl.two_layer(1, 4, seed=0)
    with torch.no_grad():
        bad[2].weight[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"^models: members \[1\]"):
        ensemble_train([gl.two_layer(1, 4, seed=1), bad], x, y, lr=0.1, steps=3)


def test_the_progress_bar_counts_every_member_step(monkeypatch):
    import gaugelab.ensemble as ensemble_module

    counted = []

    class Bar:
        def __init__(self, total, **kw):
            self.total, self.n = total, 0

        def update(self, k):
            self.n += k

        def close(self):
            counted.append((self.n, self.total))

    monkeypatch.setattr(ensemble_module, "tqdm", Bar)
    x, y, _, _ = _data(1, 1, seed=3)
    models = [gl.two_layer(1, 8, seed=s, rho0=2.0) for s in range(10)]
    for backend in ("fused", "vmap"):
        res = ensemble_train(models, x, y, lr=np.linspace(0.1, 8.0, 10).tolist(), steps=60, backend=backend)
        assert res.diverged.any() and not res.diverged.all()
    assert counted == [(600, 600), (600, 600)]
