"""The reproduction protocol and the experiment functions (small sizes)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import gaugelab as gl
from gaugelab import experiments as ex
from gaugelab.protocol import DEFAULT, PAPER_INVARIANCE, RATIONALE, Protocol, quick

TINY = dataclasses.replace(
    quick(),
    name="tiny",
    n_seeds=2,
    steps=40,
    width=8,
    lam_grid=(0.0, 0.2, 50.0),
    lr_grid=(0.1, 0.7, 3.0),
    map_lam_grid=(0.0, 0.2),
    drift_lrs=(0.1, 0.7),
    invariance_samples=20,
)


def test_default_protocol_states_every_value_with_a_reason():
    p = DEFAULT
    assert p.n_seeds >= 10 and 0.0 in p.lam_grid and p.lam_fix == 0.2 and p.optimizer == "gd"
    assert p.rho0 != p.rho0_contrast
    names = {f.name for f in dataclasses.fields(Protocol)}
    for field, value, _why in p.table():
        assert field in names and value != ""
    missing = [
        n
        for n in ("target", "n_train", "noise", "width", "rho0", "steps", "lr_grid", "lam_grid")
        if n not in RATIONALE
    ]
    assert not missing
    assert p.dataset().x_train.shape == (p.n_train, 1)
    m = p.model(3)
    torch.testing.assert_close(gl.log_scale(m)[0], torch.full((p.width,), p.rho0, dtype=torch.float64))


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(n_seeds=0), "^n_seeds:"),
        (dict(optimizer="adam"), "^optimizer:"),
        (dict(lam_grid=(0.2, 0.1)), "^lam_grid:"),
        (dict(lam_grid=(0.1, 0.2)), "^lam_grid, map_lam_grid:"),
        (dict(lam_fix=0.3), "^lam_fix:"),
        (dict(drift_lrs=(0.123,)), "^drift_lrs:"),
        (dict(drift_metric="x"), "^drift_metric:"),
        (dict(target="tan"), "^target:"),
    ],
)
def test_bad_protocols_are_refused_naming_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(DEFAULT, **change)


def test_experiment_functions_refuse_a_non_protocol():
    with pytest.raises(TypeError, match="^protocol:"):
        ex.lambda_sweep({"steps": 3})


def test_seed_stats_by_hand():
    v = torch.tensor([[1.0, 2.0, 3.0, float("nan")], [5.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    ok = torch.tensor([[True, True, True, False], [True, False, False, False]])
    mean, std, n = ex.seed_stats(v, ok)
    assert n.tolist() == [3, 1]
    assert mean.tolist() == [2.0, 5.0]
    assert std[0].item() == pytest.approx(1.0) and std[1].item() == 0.0
    mean, std, n = ex.seed_stats(v, torch.zeros_like(ok))
    assert n.tolist() == [0, 0] and torch.isnan(mean).all()


def test_stable_range_stops_at_the_first_unstable_step():
    div = torch.tensor([[False, False], [False, False], [True, False], [False, False]])
    assert ex.stable_range(div, [0.1, 0.2, 0.3, 0.4]) == 0.2
    assert ex.stable_range(torch.ones(2, 2, dtype=torch.bool), [0.1, 0.2]) == 0.0


def test_lambda_sweep_shapes_stats_and_the_upper_limit():
    sw = ex.lambda_sweep(TINY)
    assert sw.val_mse.shape == (2, 3, 2) and sw.diverged.shape == (2, 3, 2)
    # λ = 50 at η = 0.1 is past the upper limit 1/(η S) for the imbalanced start: every seed diverges
    assert sw.lam_limit0[0] < 50 and sw.diverged[0, 2].all()
    assert not sw.diverged[:, :2].any()
    assert torch.isnan(sw.val_mse[sw.diverged]).all() and torch.isfinite(sw.val_mse[~sw.diverged]).all()
    torch.testing.assert_close(sw.val_mean[:, :2], sw.val_mse[:, :2].mean(-1))
    run = gl.train(
        TINY.model(0, TINY.rho0),
        *(TINY.dataset().x_train, TINY.dataset().y_train),
        steps=TINY.steps,
        lr=TINY.lr_ref,
        x_val=TINY.dataset().x_val,
        y_val=TINY.dataset().y_val,
    )
    assert sw.val_mse[0, 0, 0].item() == pytest.approx(run.val_mse[-1].item(), abs=1e-10)


def test_stability_map_stress_test_and_drift_agree_with_each_other():
    smap = ex.stability_map(TINY)
    assert smap.diverged.shape == (2, 2, 3, 2)
    assert smap.diverged[:, :, 2].all()  # η = 3 diverges for every arm and start
    st = ex.lr_stress_test(TINY, smap)
    assert st.stable_lr.shape == (2, 2)
    assert (st.stable_lr <= 0.7).all() and (st.stable_lr >= 0.1).all()
    assert st.widens == [bool(st.stable_lr[r, 1] > st.stable_lr[r, 0]) for r in range(2)]
    dr = ex.scale_drift(TINY, smap)
    assert dr.mean.shape == (2, 2, 2, smap.steps.numel())
    # the drift metric at t = 0 is the initial mean |δ|: 2‖v‖ sinh ρ0 averaged, 0 for ρ0 = 0
    assert dr.mean[1, :, :, 0].abs().max() < 1e-12
    assert dr.mean[0, :, :, 0].min() > 0.01
    # soft gauge fixing relaxes the imbalanced start: final mean|δ| well below the baseline's
    assert (dr.final_mean[0, 1] < 0.5 * dr.final_mean[0, 0]).all()
    lim = smap.lam_limit()
    assert lim.shape == (2, 3) and (lim[0] < lim[1]).all()  # imbalanced start: stiffer, lower limit


def test_invariance_check_is_at_machine_precision_and_reports_the_paper():
    inv = ex.invariance_check(TINY)
    assert inv.errors.numel() == 20 and inv.paper == PAPER_INVARIANCE
    assert inv.relative.max() < 1e-14 and inv.errors.min() >= 0
    s = inv.stats()
    assert s["min"] <= s["median"] <= s["max"]


def test_reproduce_is_bit_identical_on_rerun_and_json_ready():
    a = ex.reproduce(TINY)
    b = ex.reproduce(TINY)
    for name in ("val_mse", "diverged_step", "drift", "stiffness"):
        x, y = getattr(a.stability_map, name), getattr(b.stability_map, name)
        assert torch.equal(x.nan_to_num(-7.0), y.nan_to_num(-7.0)), name
    assert torch.equal(a.lambda_sweep.val_mse.nan_to_num(-7.0), b.lambda_sweep.val_mse.nan_to_num(-7.0))
    da, db = ex.results_dict(a), ex.results_dict(b)
    da.pop("timings_seconds"), db.pop("timings_seconds")
    assert da == db
    import json

    text = json.dumps(da, allow_nan=False)
    assert "claims" in json.loads(text)
    assert all(isinstance(c["holds"], bool) for c in da["claims"])
    assert not math.isnan(da["stress_test"]["stable_lr"][0][0])
