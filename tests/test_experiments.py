"""The reproduction protocol, the success criterion, the paired statistics and every verdict (small sizes)."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

import gaugelab as gl
from gaugelab import experiments as ex
from gaugelab.ensemble import ensemble_train
from gaugelab.penalty import penalty_stiffness
from gaugelab.protocol import DEFAULT, PAPER_INVARIANCE, RATIONALE, Protocol, quick

TINY = dataclasses.replace(
    quick(),
    name="tiny",
    n_seeds=3,
    steps=60,
    record_every=10,
    width=8,
    lam_grid=(0.0, 0.2, 1.0, 50.0),
    lr_grid=(0.1, 0.7, 3.0),
    map_lr_grid=(0.1, 0.7, 3.0),
    map_lam_grid=(0.0, 0.2),
    drift_lrs=(0.1, 0.7),
    mechanism_lrs=(0.1, 0.7),
    mechanism_steps=6,
    mechanism_seeds=2,
    invariance_samples=20,
    n_boot=2000,
)


@pytest.fixture(scope="module")
def tiny():
    """One reproduction at TINY size, shared by the tests that only read it."""
    return ex.reproduce(TINY)


# -- protocol --------------------------------------------------------------------------------
def test_every_protocol_constant_has_a_reason():
    names = [f.name for f in dataclasses.fields(Protocol) if f.name != "name"]
    missing = [n for n in names if not RATIONALE.get(n)]
    assert not missing, f"constants without a written reason: {missing}"
    p = DEFAULT
    assert p.n_seeds >= 10 and 0.0 in p.lam_grid and p.lam_fix == 0.2 and p.optimizer == "gd"
    assert p.lr_ref == min(p.lr_grid) and p.arms[0] == "baseline" and len(p.arms) == 4
    m = p.model(3)
    torch.testing.assert_close(gl.log_scale(m)[0], torch.full((p.width,), p.rho0, dtype=torch.float64))
    # rho0=None keeps PyTorch's default initialisation unmoved: not all ρ_j equal
    assert gl.log_scale(p.model(3, None))[0].std() > 0.1


def test_the_verdict_tolerances_are_the_documented_ones():
    """A tolerance changed in the code (e.g. doubled) must also change its written reason."""
    assert DEFAULT.fit_tau == 0.1 and "90 %" in RATIONALE["fit_tau"]
    assert DEFAULT.flat_tol == 1.0 and "within 1 seed std" in RATIONALE["flat_tol"]
    assert DEFAULT.invariance_tol == 1e-14 and "1e-14" in RATIONALE["invariance_tol"]
    assert DEFAULT.ci == 0.95 and "95 %" in RATIONALE["n_boot"]


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(n_seeds=0), "^n_seeds:"),
        (dict(optimizer="adam"), "^optimizer:"),
        (dict(lam_grid=(0.2, 0.1)), "^lam_grid:"),
        (dict(lam_grid=(0.1, 0.2)), "^lam_grid, map_lam_grid:"),
        (dict(lam_fix=0.3), "^lam_fix:"),
        (dict(drift_lrs=(0.123,)), "^drift_lrs:"),
        (dict(target="tan"), "^target:"),
        (dict(fit_tau=0.0), "^fit_tau:"),
        (dict(fit_tau=1.5), "^fit_tau:"),
        (dict(weight_decay=-1.0), "^weight_decay:"),
        (dict(arms=("gauge_fixed", "baseline")), "^arms:"),
        (dict(mechanism_lrs=(0.123,)), "^mechanism_lrs:"),
        (dict(lr_ref=0.2), "^lr_ref:"),
        (dict(regime_targets=("tan",)), "^regime_targets:"),
    ],
)
def test_bad_protocols_are_refused_naming_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(DEFAULT, **change)


def test_experiment_functions_refuse_a_non_protocol():
    with pytest.raises(TypeError, match="^protocol:"):
        ex.lambda_sweep({"steps": 3})


def test_regime_cells_change_one_factor_at_a_time():
    cells = DEFAULT.regime_cells()
    factors = {f for f, _, _ in cells}
    assert factors == {"ρ0", "width", "target", "optimizer"}
    for _factor, _value, p in cells:
        assert p.n_seeds == DEFAULT.regime_seeds >= 5
        changed = {
            f.name for f in dataclasses.fields(Protocol) if getattr(p, f.name) != getattr(DEFAULT, f.name)
        }
        assert changed <= {"name", "n_seeds", "rho0", "rho0_contrast", "width", "target", "optimizer"}
    assert (
        None in [v for f, v, _ in cells if f == "ρ0"] and len([1 for f, _, _ in cells if f == "target"]) >= 3
    )
    assert DEFAULT.lr_grid_for("momentum")[0] == pytest.approx(DEFAULT.lr_grid[0] * 1.9)


# -- statistics ------------------------------------------------------------------------------
def test_seed_stats_by_hand():
    v = torch.tensor([[1.0, 2.0, 3.0, float("nan")], [5.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    ok = torch.tensor([[True, True, True, False], [True, False, False, False]])
    mean, std, n = ex.seed_stats(v, ok)
    assert n.tolist() == [3, 1] and mean.tolist() == [2.0, 5.0]
    assert std[0].item() == pytest.approx(1.0) and std[1].item() == 0.0
    mean, std, n = ex.seed_stats(v, torch.zeros_like(ok))
    assert n.tolist() == [0, 0] and torch.isnan(mean).all()
    # a NaN that is marked ok (a run that ended without a number) is not counted as a seed
    mean, std, n = ex.seed_stats(v, torch.ones_like(ok))
    assert n.tolist() == [3, 4] and mean[0].item() == 2.0


def test_seed_edges_stop_at_the_first_failure_of_each_seed():
    ok = torch.tensor([[True, True, False], [True, False, True], [True, True, True], [False, True, True]])
    # seed 0: ok at 0.1, 0.2, 0.3, fails at 0.4 → 0.3; seed 1: fails at 0.2 → 0.1 (later successes
    # do not count); seed 2: fails at 0.1 → 0
    assert ex.seed_edges(ok, [0.1, 0.2, 0.3, 0.4]).tolist() == [0.3, 0.1, 0.0]
    div = torch.tensor([[False, False], [False, False], [True, False], [False, False]])
    assert ex.stable_range(div, [0.1, 0.2, 0.3, 0.4]) == 0.2
    assert ex.stable_range(torch.ones(2, 2, dtype=torch.bool), [0.1, 0.2]) == 0.0


def test_bootstrap_interval_and_paired_directions():
    mean, lo, hi = ex.bootstrap_ci([2.0, 2.0, 2.0])
    assert (mean, lo, hi) == (2.0, 2.0, 2.0)
    mean, lo, hi = ex.bootstrap_ci([1.0, 2.0, 3.0, 4.0], n_boot=4000)
    assert mean == 2.5 and 1.0 <= lo < 2.5 < hi <= 4.0
    assert ex.bootstrap_ci([1.0, 2.0, 3.0, 4.0], n_boot=4000) == (mean, lo, hi)  # fixed generator
    assert all(math.isnan(v) for v in ex.bootstrap_ci([float("nan")]))
    wider = ex.paired([0.5, 0.6, 0.7], [0.4, 0.4, 0.4])
    assert wider.direction == "above" and (wider.n_above, wider.n_equal, wider.n_below) == (3, 0, 0)
    assert ex.verdict_widening(wider) == "wider"
    mixed = ex.paired([0.5, 0.3, 0.4], [0.4, 0.4, 0.4])
    assert mixed.direction == "same" and (mixed.n_above, mixed.n_equal, mixed.n_below) == (1, 1, 1)
    narrower = ex.paired([0.3, 0.3, 0.2], [0.4, 0.4, 0.4])
    assert ex.verdict_widening(narrower) == "narrower" and narrower.high < 0
    # NaN pairs (a seed missing in one arm) are dropped, not counted
    assert ex.paired([0.5, float("nan")], [0.4, 0.4]).n == 1


def test_the_fitted_criterion_by_hand():
    y = torch.tensor([[0.0], [2.0], [4.0]], dtype=torch.float64)
    assert ex.constant_loss(y) == pytest.approx(0.5 * (4 + 0 + 4) / 3)
    l_const, l_best = 1.0, 0.01
    thr = ex.fit_threshold(l_best, l_const, 0.1)
    assert thr == pytest.approx(0.01 + 0.1 * 0.99)
    assert 0.05 <= thr and not 0.2 <= thr  # a run at 0.2 (a fifth of the constant's loss) is not fitted
    assert ex.fit_threshold(l_best, l_const, 1.0) == l_const


def test_final_diagnostics_count_dead_neurons_and_detect_a_constant_function():
    p = dataclasses.replace(TINY, width=4)
    model = p.model(0, 0.0)
    with torch.no_grad():
        model[0].weight[:2] = 1.0
        model[0].bias[:2] = -10.0  # neurons 0, 1: u·x̃ = x − 10 < 0 on [−2, 2]: dead
    flat_model = p.model(1, 0.0)
    with torch.no_grad():
        flat_model[2].weight.zero_()  # every a_j = 0: f ≡ c, every neuron dead
    res = ensemble_train([model, flat_model], p.dataset().x_train, p.dataset().y_train, lr=1e-6, steps=0)
    fin = ex.final_diagnostics(p, res)
    assert fin["dead"].tolist()[0] >= 2 and fin["dead"].tolist()[1] == 4
    assert fin["constant"].tolist() == [False, True] and fin["collapsed"].tolist() == [False, True]
    data = p.dataset()
    inside = data.x_val[:, 0].abs() <= 2
    with torch.no_grad():
        f = model(data.x_val)
    assert float(fin["val_interp"][0]) == pytest.approx(float(((f[inside] - data.y_val[inside]) ** 2).mean()))
    assert float(fin["val_extrap"][0]) == pytest.approx(
        float(((f[~inside] - data.y_val[~inside]) ** 2).mean())
    )
    ((nu, na),) = gl.neuron_norms(model)
    assert float(fin["tanh_half_rho"][0]) == pytest.approx(
        float(torch.tanh(torch.log(nu / na) / 2).abs().mean().detach())
    )


@pytest.mark.parametrize("rho0", [2.0, -2.0, 3.0, None])
def test_balancing_any_start_gives_the_protocols_balanced_network(rho0):
    """Why the balanced-init arm may reuse the ρ0 = 0 runs: gl.balance(start) is that network."""
    for seed in range(3):
        a, b = gl.balance(DEFAULT.model(seed, rho0)), DEFAULT.model(seed, 0.0)
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-12)
        assert float(gl.flat(gl.imbalance(a)).abs().max().detach()) < 1e-12


def test_sharpness_batch_equals_top_hessian_eigenvalue():
    data = TINY.dataset()
    models = [TINY.model(s, r) for s in range(2) for r in (2.0, 0.0, None)]
    thetas = torch.stack([torch.cat([q.detach().reshape(-1) for q in m.parameters()]) for m in models])
    for lam in (0.0, 0.2):
        got = ex.sharpness_batch(models[0], thetas, data.x_train, data.y_train, lam)
        want = torch.tensor(
            [gl.top_hessian_eigenvalue(m, data.x_train, data.y_train, lam=lam) for m in models]
        )
        torch.testing.assert_close(got, want.to(got.dtype), rtol=1e-6, atol=0)


# -- the experiments -------------------------------------------------------------------------
def test_lambda_sweep_uses_the_lambda_zero_column_for_the_trained_limit(tiny):
    sw = tiny.lambda_sweep
    runs = ex.run_configs(TINY, ex.lambda_sweep_configs(TINY))
    for r, rho0 in enumerate(TINY.rho0s):
        s = [
            float(penalty_stiffness(runs.result.model(runs.index[(rho0, seed, 0.0, TINY.lr_ref)])))
            for seed in TINY.seeds
        ]
        want = 1.0 / (TINY.lr_ref * torch.tensor(s).median())
        assert math.isfinite(float(sw.lam_limit_trained[r]))
        assert float(sw.lam_limit_trained[r]) == pytest.approx(float(want), rel=1e-7)
    # the limit at initialisation: 1/(η · median over seeds of max_j(‖u_j‖² + ‖a_j‖²)) at the start
    for r, rho0 in enumerate(TINY.rho0s):
        s0 = torch.tensor(
            [float(penalty_stiffness(TINY.model(seed, rho0))) for seed in TINY.seeds], dtype=torch.float64
        )
        assert float(sw.lam_limit0[r]) == pytest.approx(1.0 / (TINY.lr_ref * float(s0.median())), rel=1e-12)
    # λ = 50 at η = 0.1 is past the upper limit of the imbalanced start: every seed diverges
    assert sw.lam_limit0[0] < 50 and sw.diverged[0, -1].all()
    assert torch.isnan(sw.val_mse[sw.diverged]).all() and torch.isfinite(sw.val_mse[~sw.diverged]).all()
    run = gl.train(
        TINY.model(0),
        TINY.dataset().x_train,
        TINY.dataset().y_train,
        steps=TINY.steps,
        lr=TINY.lr_ref,
        x_val=TINY.dataset().x_val,
        y_val=TINY.dataset().y_val,
    )
    assert sw.val_mse[0, 0, 0].item() == pytest.approx(run.val_mse[-1].item(), abs=1e-10)


def test_stress_test_edges_pairs_and_both_criteria_agree_with_the_flags(tiny):
    st = tiny.stress_test
    assert st.diverged.shape == (2, 4, 3, 3) and st.arms == list(TINY.arms)
    assert st.diverged[:, :, 2].all()  # η = 3 diverges for every arm and start
    for crit, ok in (("fitted", st.fitted), ("stable", ~st.diverged)):
        torch.testing.assert_close(st.edges[crit], ex.seed_edges(ok, st.lrs))
        for r in range(2):
            for a, arm in enumerate(st.arms[1:], start=1):
                torch.testing.assert_close(
                    st.pairs[crit][(r, arm)].diffs, st.edges[crit][r, a] - st.edges[crit][r, 0]
                )
    assert (st.fitted <= ~st.diverged).all()  # fitted implies stable
    assert (st.edges["fitted"] <= st.edges["stable"]).all()
    # the fitted threshold: a run at the constant predictor's loss never counts
    thr = ex.fit_threshold(st.l_best, st.l_const, st.tau)
    assert (thr < st.l_const).all()
    # balanced-init is the ρ0 = 0 network (gl.balance of the same init): at ρ0 = 0 the baseline itself
    ib = st.arm("balanced_init")
    torch.testing.assert_close(st.final_loss[1, ib], st.final_loss[1, 0], equal_nan=True)
    torch.testing.assert_close(st.final_loss[0, ib], st.final_loss[1, 0], equal_nan=True)
    assert st.tanh_half_rho.shape == st.final_loss.shape
    assert st.tau_edges.shape == (len(TINY.fit_tau_grid), 2, 4, 3)
    assert (st.tau_edges[1:] >= st.tau_edges[:-1]).all()  # a looser τ never narrows an edge


def test_scale_drift_measures_are_what_they_say(tiny):
    dr = tiny.scale_drift
    res_runs = ex.run_configs(TINY, ex.stress_configs(TINY, lrs=TINY.drift_lrs))
    i = res_runs.index[(2.0, 0, 0.0, 0.1)]
    delta = res_runs.result.delta[i]
    r_idx = int((res_runs.result.steps == dr.t_relax).nonzero())
    assert float(dr.late_drift[0, 0, 0, 0]) == pytest.approx(float((delta[-1] - delta[r_idx]).abs().mean()))
    assert dr.remaining_start[1, 0].abs().max() < 1e-12  # ρ0 = 0: balanced start
    assert (dr.tanh_start[0, 0] - math.tanh(1.0)).abs().max() < 1e-12  # ρ0 = 2: tanh(ρ/2) = tanh 1
    assert (dr.tanh_start[0, dr.arms.index("balanced_init")] < 1e-12).all()
    assert (dr.remaining_end[0, 1] < 0.7 * dr.remaining_end[0, 0]).all()  # the penalty relaxes the start


def test_mechanism_points_are_the_sharpness_of_the_runs(tiny):
    mech = tiny.mechanism
    data = TINY.dataset()
    for r, rho0 in enumerate(TINY.rho0s):
        want = gl.top_hessian_eigenvalue(TINY.model(0, rho0), data.x_train, data.y_train)
        assert float(mech.sharpness[r, 0, 0, 0, 0]) == pytest.approx(want, rel=1e-6)
        assert float(mech.sharpness_init[r, 0, 0]) == pytest.approx(want, rel=1e-6)
    assert mech.steps.tolist() == list(range(TINY.mechanism_steps + 1))
    assert torch.isfinite(mech.sharpness_ref_end[:, 0]).all()


def test_invariance_check_is_at_machine_precision_and_reports_the_paper():
    inv = ex.invariance_check(TINY)
    assert inv.errors.numel() == 20 and inv.paper == PAPER_INVARIANCE
    assert inv.relative.max() < 1e-14 and inv.errors.min() >= 0


# -- claims: every verdict computed once -----------------------------------------------------
def _claim(rows, claim_start, setting):
    hits = [c for c in rows if c["claim"].startswith(claim_start) and c["setting"].startswith(setting)]
    assert hits, (claim_start, setting)
    return hits[0]


def _with_pair(st, r, arm, pair, crit="fitted"):
    pairs = {c: dict(v) for c, v in st.pairs.items()}
    pairs[crit][(r, arm)] = pair
    return dataclasses.replace(st, pairs=pairs)


def test_fig4_claim_follows_the_paired_interval_under_the_fitted_criterion(tiny):
    st = tiny.stress_test
    wider = ex.paired([0.5, 0.6, 0.7], [0.4, 0.4, 0.4])
    narrower = ex.paired([0.3, 0.3, 0.2], [0.4, 0.4, 0.4])
    res = dataclasses.replace(
        tiny, stress_test=_with_pair(_with_pair(st, 0, "gauge_fixed", wider), 1, "gauge_fixed", narrower)
    )
    rows = ex.claims(res)
    assert _claim(rows, "fig. 4", "ρ0 = 2")["verdict"] == "holds"
    assert _claim(rows, "fig. 4", "ρ0 = 0")["verdict"] == "does not hold"
    assert _claim(rows, "fig. 4", "overall")["verdict"] == "holds only when ρ0 = 2"
    # the divergence-only criterion is reported beside it, and does not decide the headline
    res = dataclasses.replace(
        tiny,
        stress_test=_with_pair(_with_pair(st, 0, "gauge_fixed", narrower), 0, "gauge_fixed", wider, "stable"),
    )
    row = _claim(ex.claims(res), "fig. 4", "ρ0 = 2")
    assert row["verdict"] == "does not hold" and row["divergence_only"]["verdict"] == "holds"


def test_fig5_claim_fails_above_its_tolerance(tiny):
    inv = tiny.invariance
    bad = dataclasses.replace(inv, relative=inv.relative.clone().fill_(1.5 * DEFAULT.invariance_tol))
    assert (
        _claim(ex.claims(dataclasses.replace(tiny, invariance=bad)), "fig. 5", "overall")["verdict"]
        == "does not hold"
    )
    good = dataclasses.replace(inv, relative=inv.relative.clone().fill_(0.5 * DEFAULT.invariance_tol))
    assert (
        _claim(ex.claims(dataclasses.replace(tiny, invariance=good)), "fig. 5", "overall")["verdict"]
        == "holds"
    )


def _flat_sweep(sw, r, change_in_std):
    """A λ sweep with a flat interpolation val MSE except at λ = 0.2, moved by ``change_in_std`` seed stds."""
    i0 = sw.lams.index(0.0)
    base = sw.val_interp[r, i0].clone()
    vi = sw.val_interp.clone()
    for i in range(len(sw.lams)):
        vi[r, i] = base
    std = float(base[torch.isfinite(base)].std())
    i_move = sw.lams.index(0.2)
    vi[r, i_move] = base + change_in_std * std
    fitted = sw.fitted.clone()
    fitted[r, : len(sw.lams) - 1] = True  # every seed fitted below λ = 50
    mean, sd, n = ex.seed_stats(vi, fitted)
    lm, ls, _ = ex.seed_stats(sw.final_loss, fitted)
    em, es, _ = ex.seed_stats(sw.val_extrap, fitted)
    flat = list(sw.flat)
    flat[r] = dict(
        limit=5.0, rows=[(lam, ex.paired(vi[r, sw.lams.index(lam)], vi[r, i0])) for lam in (0.2, 1.0)]
    )
    return dataclasses.replace(
        sw,
        val_interp=vi,
        fitted=fitted,
        interp_mean=mean,
        interp_std=sd,
        n_fitted=n,
        flat=flat,
        loss_mean=lm,
        loss_std=ls,
        extrap_mean=em,
        extrap_std=es,
    )


def test_fig3_claim_holds_within_one_seed_std_and_fails_past_it(tiny):
    sw = tiny.lambda_sweep
    for change, verdict in ((0.5, "holds"), (1.5, "does not hold"), (-1.5, "does not hold")):
        res = dataclasses.replace(tiny, lambda_sweep=_flat_sweep(sw, 0, change))
        assert _claim(ex.claims(res), "fig. 3", "ρ0 = 2")["verdict"] == verdict, change
    # a λ of the range without any fitted seed is a failure, said in words
    swm = _flat_sweep(sw, 0, 0.0)
    fitted = swm.fitted.clone()
    fitted[0, swm.lams.index(1.0)] = False
    mean, sd, n = ex.seed_stats(swm.val_interp, fitted)
    swm = dataclasses.replace(swm, fitted=fitted, interp_mean=mean, interp_std=sd, n_fitted=n)
    row = _claim(ex.claims(dataclasses.replace(tiny, lambda_sweep=swm)), "fig. 3", "ρ0 = 2")
    assert row["verdict"] == "does not hold" and "no seed fitted at λ = 1" in row["evidence"]


def test_drift_claim_needs_a_paired_interval_below_zero(tiny):
    dr = tiny.scale_drift
    pairs = dict(dr.pairs)
    pairs[(0, 0, "vs_balanced")] = ex.paired([0.1, 0.1, 0.2], [0.5, 0.6, 0.7])
    pairs[(1, 0, "vs_balanced")] = ex.paired([0.5, 0.1, 0.7], [0.5, 0.6, 0.1])
    rows = ex.claims(dataclasses.replace(tiny, scale_drift=dataclasses.replace(dr, pairs=pairs)))
    assert _claim(rows, "scale drift", "ρ0 = 2, η = 0.1")["verdict"] == "holds"
    assert _claim(rows, "scale drift", "ρ0 = 0, η = 0.1")["verdict"] == "does not hold"
    assert _claim(rows, "scale drift", "overall")["verdict"].startswith(
        ("holds only when ρ0 = 2, η = 0.1", "holds")
    )


def test_small_verdict_rules_by_hand():
    assert ex.verdict_flat(1.0, [0.9, -1.0], 1.0) and not ex.verdict_flat(1.0, [1.1], 1.0)
    assert not ex.verdict_flat(1.0, [], 1.0)
    assert ex.verdict_collapse(1.0, 0.4) and not ex.verdict_collapse(1.0, 0.6)
    assert not ex.verdict_collapse(1.0, 0.5)  # 'below half': exactly half is no collapse
    assert ex.verdict_invariance(1e-16, 1e-14) and not ex.verdict_invariance(2e-14, 1e-14)
    assert ex.overall([("a", True), ("b", True)]) == "holds"
    assert ex.overall([("a", False), ("b", False)]) == "does not hold"
    assert ex.overall([("a", True), ("b", False), ("c", True)]) == "holds only when a; c"


def test_no_published_number_is_nan_or_none(tiny):
    rows = ex.claims(tiny)
    assert {c["verdict"] for c in rows} <= {"holds", "does not hold"} | {
        c["verdict"] for c in rows if c["verdict"].startswith("holds only when")
    }
    for c in rows:
        text = c["evidence"] + c["setting"]
        assert "nan" not in text.lower().replace("nanc", "") and "None" not in text and "inf" not in text, c
    with pytest.raises(ValueError, match="^claims:"):
        ex._n(float("nan"))
    d = ex.results_dict(tiny)
    json.dumps(d, allow_nan=False)
    assert all(v is not None for v in d["lambda_sweep"]["lam_limit_trained"])
    assert all(v is not None for row in d["stress_test"]["stable_lr"] for v in row)


def test_reproduce_is_bit_identical_on_rerun(tiny):
    b = ex.reproduce(TINY)
    for name in ("final_loss", "diverged", "val_interp"):
        x, y = getattr(tiny.stress_test, name), getattr(b.stress_test, name)
        assert torch.equal(x.double().nan_to_num(-7.0), y.double().nan_to_num(-7.0)), name
    da, db = ex.results_dict(tiny), ex.results_dict(b)
    da.pop("timings_seconds"), db.pop("timings_seconds")
    assert da == db


def test_regime_map_cells_follow_their_paired_intervals():
    from gaugelab.regimes import regime_map

    p = dataclasses.replace(
        TINY,
        regime_rho0s=(0.0, 2.0, None),
        regime_widths=(8, 4),
        regime_targets=("sin", "abs"),
        regime_optimizers=("gd", "momentum", "sgd"),
        regime_seeds=5,
        batch_size=16,
    )
    reg = regime_map(p)
    assert [(c.factor, c.value) for c in reg.cells] == [
        ("ρ0", 0.0),
        ("ρ0", 2.0),
        ("ρ0", None),
        ("width", 8),
        ("width", 4),
        ("target", "sin"),
        ("target", "abs"),
        ("optimizer", "gd"),
        ("optimizer", "momentum"),
        ("optimizer", "sgd"),
    ]
    for c in reg.cells:
        assert c.edges["fitted"].shape == (2, 5)
        torch.testing.assert_close(c.pairs["fitted"].diffs, c.edges["fitted"][1] - c.edges["fitted"][0])
        assert c.verdict["fitted"] == ex.verdict_widening(c.pairs["fitted"])
    assert reg.cell("width", 8).is_default and not reg.cell("width", 4).is_default
    assert reg.cell("optimizer", "momentum").lrs[0] == pytest.approx(0.19)
    res = ex.reproduce(
        dataclasses.replace(
            p, regime_rho0s=(2.0, 3.0), regime_widths=(8,), regime_targets=("sin",), regime_optimizers=("gd",)
        ),
        regimes=True,
    )
    rows = ex.claims(res)
    assert any(c["setting"] == "regime map: ρ0 = 3" for c in rows)
    assert next(c for c in rows if c["setting"] == "regime map: ρ0 = 3")["where"] == "ρ0 = 3 (regime map)"
