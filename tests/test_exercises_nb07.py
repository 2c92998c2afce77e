"""Notebook 07's exercises: right answers pass, trivial or wrong ones are rejected with a hint."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch

import gaugelab as gl
from gaugelab import experiments as ex
from gaugelab.exercises import get, verify
from gaugelab.protocol import quick

P = dataclasses.replace(
    quick(),
    n_seeds=3,
    steps=60,
    width=8,
    lam_grid=(0.0, 0.2, 1.0),
    lr_grid=(0.1, 0.7, 3.0),
    drift_lrs=(0.1, 0.7),
    mechanism_lrs=(0.1,),
)


@pytest.fixture(scope="module")
def stress():
    return ex.lr_stress_test(P, ex.run_configs(P, ex.stress_configs(P)))


def test_every_nb07_exercise_has_a_hint():
    for name in ("07.upper_limit", "07.both_edges", "07.val_change"):
        assert get(name).hint


def test_upper_limit_by_hand():
    model = P.model(1, 2.0)
    ((nu, na),) = gl.neuron_norms(model)
    right = float(1 / (0.4 * (nu**2 + na**2).max().detach()))
    assert verify("07.upper_limit", right, model=model, lr=0.4).ok
    for wrong in (0.0, 1.0, 2 * right, float(1 / (0.4 * (nu**2 + na**2).mean().detach()))):
        v = verify("07.upper_limit", wrong, model=model, lr=0.4)
        assert not v.ok and "Hint" in v.message
    assert verify("07.upper_limit", ..., model=model, lr=0.4).status == "not attempted"


def test_both_edges_rejects_constants_and_one_criterion(stress):
    st = stress
    fitted, diverged = st.fitted[0, 0], st.diverged[0, 0]
    right = torch.cat([ex.seed_edges(fitted, st.lrs), ex.seed_edges(~diverged, st.lrs)]).tolist()
    assert verify("07.both_edges", right, fitted=fitted, diverged=diverged, lrs=st.lrs).ok
    for wrong in ([0.0] * len(right), [0.7] * len(right), right[: len(right) // 2] * 2):
        v = verify("07.both_edges", wrong, fitted=fitted, diverged=diverged, lrs=st.lrs)
        assert not v.ok and "Hint" in v.message, wrong


def test_val_change_needs_both_parts():
    # a hand-built sweep: the exercise reads only these fields
    sw = SimpleNamespace(
        rho0s=[2.0, 0.0],
        lams=[0.0, 0.2, 1.0],
        interp_mean=torch.tensor([[0.004, 0.005, 0.007], [0.005, 0.005, 0.005]], dtype=torch.float64),
        extrap_mean=torch.tensor([[1.1, 1.0, 0.9], [0.9, 0.9, 0.9]], dtype=torch.float64),
    )
    interp, extrap = 0.007 / 0.004 - 1, 0.9 / 1.1 - 1
    assert verify("07.val_change", [interp, extrap], sweep=sw, rho0=2.0, lam=1.0).ok
    for wrong in ([0.0, 0.0], [interp, interp], [extrap, interp], [0.1, -0.1], [0.75, -0.2]):
        v = verify("07.val_change", wrong, sweep=sw, rho0=2.0, lam=1.0)
        assert not v.ok and "Hint" in v.message, wrong


def test_the_explorer_verdict_uses_the_fitted_threshold():
    runs = ex.run_configs(P, [(2.0, s, lam, lr) for s in P.seeds for lam in (0.0, 0.2) for lr in P.lr_grid])
    thr = ex.runs_fit_threshold(runs, 2.0, 0.0)
    losses = [float(runs.result.final_loss[runs.index[(2.0, s, 0.0, 0.1)]]) for s in P.seeds]
    assert thr == pytest.approx(
        float(ex.fit_threshold(min(losses), ex.constant_loss(P.dataset().y_train), P.fit_tau))
    )
    assert ex.runs_fit_threshold(runs, 0.0, 0.0) is None  # no such runs
    from gaugelab.widgets.stability_explorer import explorer_state

    state = explorer_state(runs, 0.7, 0.2, 2.0, seed=0)
    for arm in (state.baseline, state.gauge):
        if arm.diverged:
            assert arm.verdict.startswith("diverged")
        else:
            assert arm.verdict == (
                "stable and fitted" if arm.final_loss <= arm.fit_threshold else "stable, not fitted"
            )
