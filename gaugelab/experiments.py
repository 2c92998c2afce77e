"""The source paper's experiments under GaugeLab's protocol, as functions returning tidy results.

Paper: R. Carmo Terin (2026), *Scale redundancy and soft gauge fixing in positively homogeneous
neural networks*, arXiv:2602.14729. Its figures 2–5 and tables 1–2, with our constants
(:mod:`gaugelab.protocol`; the paper's are unknown):

- :func:`lambda_sweep`   fig. 3: final validation MSE against λ (mean ± std over seeds) at η = lr_ref;
- :func:`stability_map`  the (η, λ) grid behind fig. 4: which (seed, η, λ) runs diverge;
- :func:`lr_stress_test` fig. 4: baseline (λ = 0) vs gauge-fixed (λ = lam_fix): fraction of seeds
  stable and final validation MSE against η, and the stable range of each arm;
- :func:`scale_drift`    mean_j |δ_j(t)| over training, both arms (THEORY §3's O(η²) drift);
- :func:`invariance_check` fig. 5: Δ_inv over random neuron-wise rescalings (THEORY §6).

Every experiment runs both initial-imbalance settings of the protocol (ρ0 and the balanced
contrast), so the results show where soft gauge fixing helps and where it does not.
Training goes through :func:`gaugelab.ensemble.ensemble_train` (one batched program; identical
per member to :func:`gaugelab.train`). Statistics over seeds use only the seeds that did not
diverge; the number of those is always reported beside them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, vmap

from gaugelab.ensemble import EnsembleResult, ensemble_train
from gaugelab.gauge import invariance_error, random_scales
from gaugelab.penalty import penalty_stiffness
from gaugelab.protocol import DEFAULT, PAPER_INVARIANCE, Protocol


def _check_protocol(protocol) -> Protocol:
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol: expected a gaugelab.protocol.Protocol, got {type(protocol).__name__}")
    return protocol


def seed_stats(values: torch.Tensor, ok: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, sample std (n − 1; 0 for one value) and count over the last axis, where ``ok`` is True.

    Entries with no ``ok`` value get NaN mean and std (mask them with the count, never plot them).
    """
    ok = ok & torch.isfinite(values)
    n = ok.sum(-1)
    v = torch.where(ok, values, torch.zeros_like(values))
    mean = v.sum(-1) / n.clamp(min=1)
    var = torch.where(ok, (values - mean[..., None]) ** 2, torch.zeros_like(values)).sum(-1)
    std = torch.sqrt(var / (n - 1).clamp(min=1))
    nan = torch.full_like(mean, float("nan"))
    return torch.where(n > 0, mean, nan), torch.where(n > 0, std, nan), n


def _models(protocol: Protocol, configs: list[tuple]) -> list[nn.Module]:
    """One initial model per config (rho0, seed, ...): built once per (seed, rho0), shared."""
    cache: dict[tuple[float, int], nn.Module] = {}
    out = []
    for rho0, seed, *_ in configs:
        if (rho0, seed) not in cache:
            cache[(rho0, seed)] = protocol.model(seed, rho0)
        out.append(cache[(rho0, seed)])
    return out


class _Stiffness(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self):
        return penalty_stiffness(self.model)


def _stiffness(result: EnsembleResult) -> torch.Tensor:
    """max_j (‖u_j‖² + ‖a_j‖²) per member (gaugelab.penalty.penalty_stiffness under vmap)."""
    module = _Stiffness(result.template)
    params = {f"model.{k}": v for k, v in result.final_params.items()}
    return vmap(lambda q: functional_call(module, q, ()))(params)


@dataclass
class Runs:
    """Trained (ρ0, seed, λ, η) configurations: ``result`` member ``index[config]`` is that run."""

    protocol: Protocol
    result: EnsembleResult
    index: dict[tuple[float, int, float, float], int]

    def select(self, configs) -> torch.Tensor:
        missing = [c for c in configs if c not in self.index]
        if missing:
            raise ValueError(f"runs: configuration(s) {missing[:3]} (rho0, seed, lam, lr) were not run")
        return torch.tensor([self.index[c] for c in configs], dtype=torch.long)


def _key(config) -> tuple[float, int, float, float]:
    rho0, seed, lam, lr = config
    return (float(rho0), int(seed), float(lam), float(lr))


def run_configs(
    protocol: Protocol, configs, *, device=None, progress: bool = False, desc: str = "training"
) -> Runs:
    """Train each distinct (ρ0, seed, λ, η) of ``configs`` once, all in one ensemble program."""
    p = _check_protocol(protocol)
    unique = list(dict.fromkeys(_key(c) for c in configs))
    data = p.dataset()
    res = ensemble_train(
        _models(p, unique),
        data.x_train,
        data.y_train,
        lr=[c[3] for c in unique],
        lam=[c[2] for c in unique],
        steps=p.steps,
        record_every=p.record_every,
        x_val=data.x_val,
        y_val=data.y_val,
        divergence_factor=p.divergence_factor,
        device=device,
        progress=progress,
        desc=desc,
    )
    return Runs(p, res, {c: i for i, c in enumerate(unique)})


def lambda_sweep_configs(protocol: Protocol) -> list[tuple]:
    """(ρ0, seed, λ, η) of the λ sweep: rho0s × lam_grid × seeds at η = lr_ref."""
    p = protocol
    return [_key((r, s, lam, p.lr_ref)) for r in p.rho0s for lam in p.lam_grid for s in p.seeds]


def stability_map_configs(protocol: Protocol, lams=None, lrs=None) -> list[tuple]:
    """(ρ0, seed, λ, η) of the stability map: rho0s × lams × lrs × seeds."""
    p = protocol
    lams = p.map_lam_grid if lams is None else lams
    lrs = p.lr_grid if lrs is None else lrs
    return [_key((r, s, lam, lr)) for r in p.rho0s for lam in lams for lr in lrs for s in p.seeds]


def _pick(result: EnsembleResult, sel: torch.Tensor, shape) -> dict[str, torch.Tensor]:
    """Final quantities of members ``sel`` reshaped to ``shape``, NaN where they diverged."""
    div = result.diverged[sel].reshape(shape)
    nan = torch.tensor(float("nan"), dtype=result.final_loss.dtype)
    return {
        "diverged": div,
        "diverged_step": result.diverged_step[sel].reshape(shape),
        "val_mse": torch.where(div, nan, result.final_val_mse[sel].reshape(shape)),
        "final_loss": torch.where(div, nan, result.final_loss[sel].reshape(shape)),
        "mean_abs_delta": torch.where(div, nan, result.final_delta[sel].abs().mean(-1).reshape(shape)),
    }


# ---------------------------------------------------------------------------------------------
@dataclass
class LambdaSweep:
    """Fig. 3. Axes of every (n_rho0, n_lam, n_seed) tensor: rho0s × lams × seeds.

    val_mse, final_loss, mean_abs_delta: at the end of training (NaN where the run diverged);
    diverged: bool; val_mean / val_std / n_stable: (n_rho0, n_lam) over the stable seeds;
    stiffness0: (n_rho0, n_seed) max_j(‖u_j‖² + ‖a_j‖²) at initialisation; lam_limit0: (n_rho0,)
    the upper limit 1/(η · median stiffness0) at η = lr (THEORY §4); lam_limit_trained: (n_rho0,)
    the same with the median stiffness of the trained baseline (λ = 0) nets, which is larger (the
    neurons grow while fitting), so this limit is lower; example_model: the trained baseline (λ = 0)
    network of the first seed at rho0s[0].
    """

    lr: float
    lams: list[float]
    rho0s: list[float]
    seeds: list[int]
    val_mse: torch.Tensor
    final_loss: torch.Tensor
    mean_abs_delta: torch.Tensor
    diverged: torch.Tensor
    val_mean: torch.Tensor
    val_std: torch.Tensor
    n_stable: torch.Tensor
    stiffness0: torch.Tensor
    lam_limit0: torch.Tensor
    lam_limit_trained: torch.Tensor
    example_model: nn.Module = field(repr=False)


def lambda_sweep(
    protocol: Protocol = DEFAULT, *, runs: Runs | None = None, device=None, progress: bool = False
) -> LambdaSweep:
    """Train every (ρ0, λ ∈ lam_grid, seed) at η = lr_ref; final validation MSE against λ (fig. 3).

    ``runs``: reuse trained configurations (from :func:`run_configs`) instead of training.
    """
    p = _check_protocol(protocol)
    configs = lambda_sweep_configs(p)
    if runs is None:
        runs = run_configs(p, configs, device=device, progress=progress, desc="λ sweep")
    sel = runs.select(configs)
    shape = (len(p.rho0s), len(p.lam_grid), p.n_seeds)
    got = _pick(runs.result, sel, shape)
    mean, std, n = seed_stats(got["val_mse"], ~got["diverged"])
    s0 = torch.stack([penalty_stiffness(p.model(s, r)) for r in p.rho0s for s in p.seeds]).reshape(
        len(p.rho0s), p.n_seeds
    )
    nan = torch.tensor(float("nan"), dtype=torch.float64)
    trained = torch.where(got["diverged"], nan, _stiffness(runs.result)[sel].reshape(shape))
    return LambdaSweep(
        lr=p.lr_ref,
        lams=list(p.lam_grid),
        rho0s=list(p.rho0s),
        seeds=p.seeds,
        val_mse=got["val_mse"],
        final_loss=got["final_loss"],
        mean_abs_delta=got["mean_abs_delta"],
        diverged=got["diverged"],
        val_mean=mean,
        val_std=std,
        n_stable=n,
        stiffness0=s0,
        lam_limit0=1.0 / (p.lr_ref * s0.median(dim=1).values),
        lam_limit_trained=1.0 / (p.lr_ref * torch.nanmedian(trained[:, p.lam_grid.index(0.0)], dim=1).values),
        example_model=runs.result.model(int(sel[0])),
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class StabilityMap:
    """Every (ρ0, λ, η, seed) run; (n_rho0, n_lam, n_lr, n_seed) tensors: rho0s × lams × lrs × seeds.

    diverged / diverged_step (−1 if stable); val_mse, final_loss, mean_abs_delta, stiffness: at
    the end (NaN where diverged); steps: (R,) record steps; drift, drift_from_start:
    (n_rho0, n_lam, n_lr, n_seed, R) mean_j |δ_j(t)| and mean_j |δ_j(t) − δ_j(0)| (NaN after a
    divergence); stiffness0: (n_rho0, n_seed) max_j(‖u_j‖² + ‖a_j‖²) at initialisation.
    """

    lams: list[float]
    lrs: list[float]
    rho0s: list[float]
    seeds: list[int]
    steps: torch.Tensor
    diverged: torch.Tensor
    diverged_step: torch.Tensor
    val_mse: torch.Tensor
    final_loss: torch.Tensor
    mean_abs_delta: torch.Tensor
    stiffness: torch.Tensor
    drift: torch.Tensor
    drift_from_start: torch.Tensor
    stiffness0: torch.Tensor

    def fraction_stable(self) -> torch.Tensor:
        """(n_rho0, n_lam, n_lr): fraction of seeds that never diverged."""
        return (~self.diverged).double().mean(-1)

    def lam_limit(self, lrs=None, which: str = "init") -> torch.Tensor:
        """(n_rho0, n_lr) the upper limit on λ, 1/(η S), THEORY §4.

        S = median over seeds of max_j(‖u_j‖² + ‖a_j‖²): at initialisation (``which="init"``) or
        at the end of the stable baseline runs at the smallest η (``which="trained"``), which is
        larger (the neurons grow while fitting), so the limit there is lower.
        """
        lrs = torch.tensor(self.lrs if lrs is None else list(lrs), dtype=torch.float64)
        if which == "init":
            s = self.stiffness0.median(dim=1).values
        elif which == "trained":
            i0 = self.lams.index(0.0)
            s = torch.stack([torch.nanmedian(self.stiffness[r, i0, 0]) for r in range(len(self.rho0s))])
        else:
            raise ValueError(f"which: expected 'init' or 'trained', got {which!r}")
        return 1.0 / (lrs[None, :] * s[:, None])


def stability_map(
    protocol: Protocol = DEFAULT,
    *,
    lams=None,
    lrs=None,
    runs: Runs | None = None,
    device=None,
    progress: bool = False,
) -> StabilityMap:
    """Train every (ρ0, λ, η, seed) of map_lam_grid × lr_grid (or the ``lams`` / ``lrs`` given).

    ``runs``: reuse trained configurations (from :func:`run_configs`) instead of training.
    """
    p = _check_protocol(protocol)
    lams = [float(v) for v in (p.map_lam_grid if lams is None else lams)]
    lrs = [float(v) for v in (p.lr_grid if lrs is None else lrs)]
    configs = stability_map_configs(p, lams, lrs)
    if runs is None:
        runs = run_configs(p, configs, device=device, progress=progress, desc="stability map")
    sel = runs.select(configs)
    res = runs.result
    shape = (len(p.rho0s), len(lams), len(lrs), p.n_seeds)
    got = _pick(res, sel, shape)
    nan = torch.tensor(float("nan"), dtype=res.final_loss.dtype)
    n_rec = res.steps.numel()
    s0 = torch.stack([penalty_stiffness(p.model(s, r)) for r in p.rho0s for s in p.seeds])
    return StabilityMap(
        lams=lams,
        lrs=lrs,
        rho0s=list(p.rho0s),
        seeds=p.seeds,
        steps=res.steps,
        diverged=got["diverged"],
        diverged_step=got["diverged_step"],
        val_mse=got["val_mse"],
        final_loss=got["final_loss"],
        mean_abs_delta=got["mean_abs_delta"],
        stiffness=torch.where(got["diverged"], nan, _stiffness(res)[sel].reshape(shape)),
        drift=res.mean_abs_delta()[sel].reshape(*shape, n_rec),
        drift_from_start=res.drift_from_start()[sel].reshape(*shape, n_rec),
        stiffness0=s0.reshape(len(p.rho0s), p.n_seeds),
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class StressTest:
    """Fig. 4. Axes of the (n_rho0, 2, n_lr) tensors: rho0s × arms (baseline λ = 0, gauge-fixed) × lrs.

    fraction_stable; val_mean / val_std / n_stable: final validation MSE over the stable seeds;
    stable_lr: (n_rho0, 2) the largest η of the grid at which all seeds, and all seeds at every
    smaller η, are stable (0 if none); widens: per ρ0, True iff the gauge-fixed arm's stable_lr
    exceeds the baseline's.
    """

    lrs: list[float]
    rho0s: list[float]
    lams: tuple[float, float]
    arms: tuple[str, str]
    n_seeds: int
    fraction_stable: torch.Tensor
    val_mean: torch.Tensor
    val_std: torch.Tensor
    n_stable: torch.Tensor
    stable_lr: torch.Tensor
    widens: list[bool]


def stable_range(diverged: torch.Tensor, lrs) -> float:
    """Largest η of ``lrs`` such that no seed diverged at it or at any smaller η (0.0 if none).

    ``diverged``: (n_lr, n_seed) bool, rows in the order of increasing ``lrs``.
    """
    best = 0.0
    for i, lr in enumerate(lrs):
        if diverged[i].any():
            break
        best = float(lr)
    return best


def lr_stress_test(
    protocol: Protocol = DEFAULT, smap: StabilityMap | None = None, *, device=None, progress: bool = False
) -> StressTest:
    """Baseline (λ = 0) vs gauge-fixed (λ = lam_fix) over lr_grid, from ``smap`` or a new map."""
    p = _check_protocol(protocol)
    lams = (0.0, p.lam_fix)
    if smap is None:
        smap = stability_map(p, lams=sorted(set(lams)), device=device, progress=progress)
    for lam in lams:
        if lam not in smap.lams:
            raise ValueError(f"smap: expected a map that includes λ = {lam}, got λ in {smap.lams}")
    sel = [smap.lams.index(lam) for lam in lams]
    div = smap.diverged[:, sel]
    mean, std, n = seed_stats(smap.val_mse[:, sel], ~div)
    stable = torch.tensor(
        [[stable_range(div[r, a], smap.lrs) for a in range(2)] for r in range(len(smap.rho0s))],
        dtype=torch.float64,
    )
    return StressTest(
        lrs=list(smap.lrs),
        rho0s=list(smap.rho0s),
        lams=lams,
        arms=("baseline (λ = 0)", f"gauge-fixed (λ = {p.lam_fix:g})"),
        n_seeds=len(smap.seeds),
        fraction_stable=(~div).double().mean(-1),
        val_mean=mean,
        val_std=std,
        n_stable=n,
        stable_lr=stable,
        widens=[bool(stable[r, 1] > stable[r, 0]) for r in range(len(smap.rho0s))],
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class ScaleDrift:
    """Scale drift over training. Axes of the (n_rho0, 2, n_lr, R) tensors: rho0s × arms × lrs × steps.

    mean / std: over the stable seeds of the protocol's drift metric (mean_j |δ_j(t)| or
    mean_j |δ_j(t) − δ_j(0)|); n_stable: (n_rho0, 2, n_lr) seeds used; final_mean: (n_rho0, 2, n_lr).
    """

    metric: str
    steps: torch.Tensor
    lrs: list[float]
    rho0s: list[float]
    lams: tuple[float, float]
    arms: tuple[str, str]
    mean: torch.Tensor
    std: torch.Tensor
    n_stable: torch.Tensor
    final_mean: torch.Tensor


def scale_drift(
    protocol: Protocol = DEFAULT, smap: StabilityMap | None = None, *, device=None, progress: bool = False
) -> ScaleDrift:
    """The drift metric over training at each η of drift_lrs, baseline vs gauge-fixed."""
    p = _check_protocol(protocol)
    lams = (0.0, p.lam_fix)
    if smap is None:
        smap = stability_map(p, lams=sorted(set(lams)), lrs=p.drift_lrs, device=device, progress=progress)
    li = [smap.lams.index(lam) for lam in lams]
    ri = [smap.lrs.index(lr) for lr in p.drift_lrs]
    curves = smap.drift if p.drift_metric == "mean_abs_delta" else smap.drift_from_start
    curves = curves[:, li][:, :, ri]  # (n_rho0, 2, n_lr, n_seed, R)
    ok = (~smap.diverged[:, li][:, :, ri])[..., None].expand_as(curves)
    mean, std, _ = seed_stats(curves.movedim(3, -1), ok.movedim(3, -1))
    n = (~smap.diverged[:, li][:, :, ri]).sum(-1)
    return ScaleDrift(
        metric=p.drift_metric,
        steps=smap.steps,
        lrs=list(p.drift_lrs),
        rho0s=list(smap.rho0s),
        lams=lams,
        arms=("baseline (λ = 0)", f"gauge-fixed (λ = {p.lam_fix:g})"),
        mean=mean,
        std=std,
        n_stable=n,
        final_mean=mean[..., -1],
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class Invariance:
    """Fig. 5: Δ_inv(θ, α) = (1/N) Σ_n |f_{α·θ}(x_n) − f_θ(x_n)| for ``n`` random gauge elements α.

    errors / relative: (n,) absolute and relative (÷ mean |f_θ|) errors; stats: min/median/max of
    each, beside the paper's (PAPER_INVARIANCE); log_alpha: the range of log α_j ~ U[low, high].
    """

    errors: torch.Tensor
    relative: torch.Tensor
    log_alpha: tuple[float, float]
    n_inputs: int
    model_description: str
    paper: tuple[float, float, float] = PAPER_INVARIANCE

    def stats(self, relative: bool = False) -> dict[str, float]:
        e = self.relative if relative else self.errors
        return {"min": float(e.min()), "median": float(e.median()), "max": float(e.max())}


def invariance_check(
    protocol: Protocol = DEFAULT, model: nn.Module | None = None, *, description: str | None = None
) -> Invariance:
    """Δ_inv over ``invariance_samples`` random rescalings (seeds 0, 1, ...) on the validation grid.

    ``model`` defaults to the protocol's initial network (seed 0, ρ0); pass a trained one to test it.
    """
    p = _check_protocol(protocol)
    if model is None:
        model = p.model(p.seeds[0], p.rho0)
        description = description or f"initial network, seed {p.seeds[0]}, ρ0 = {p.rho0:g}"
    x = p.dataset().x_val
    lo, hi = p.invariance_log_alpha
    abs_err, rel_err = [], []
    for k in range(p.invariance_samples):
        alpha = random_scales(model, lo, hi, seed=k)
        abs_err.append(invariance_error(model, alpha, x))
        rel_err.append(invariance_error(model, alpha, x, relative=True))
    return Invariance(
        errors=torch.tensor(abs_err, dtype=torch.float64),
        relative=torch.tensor(rel_err, dtype=torch.float64),
        log_alpha=(lo, hi),
        n_inputs=x.shape[0],
        model_description=description or "given network",
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class Results:
    """Everything ``python -m gaugelab reproduce`` computes, plus wall-clock timings (seconds)."""

    protocol: Protocol
    lambda_sweep: LambdaSweep
    stability_map: StabilityMap
    stress_test: StressTest
    scale_drift: ScaleDrift
    invariance: Invariance
    timings: dict[str, float] = field(default_factory=dict)


def reproduce(protocol: Protocol = DEFAULT, *, device=None, progress: bool = False) -> Results:
    """Run every experiment of the protocol: λ sweep, stability map (→ stress test, drift), invariance."""
    p = _check_protocol(protocol)
    timings = {}
    t0 = time.perf_counter()
    configs = lambda_sweep_configs(p) + stability_map_configs(p)
    runs = run_configs(p, configs, device=device, progress=progress, desc="λ sweep + stability map")
    timings["training"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sweep = lambda_sweep(p, runs=runs)
    smap = stability_map(p, runs=runs)
    stress = lr_stress_test(p, smap)
    drift = scale_drift(p, smap)
    inv = invariance_check(
        p,
        sweep.example_model,
        description=f"trained baseline network (seed {p.seeds[0]}, ρ0 = {p.rho0:g}, η = {p.lr_ref:g}, "
        f"{p.steps} GD steps)",
    )
    timings["analysis"] = time.perf_counter() - t0
    return Results(p, sweep, smap, stress, drift, inv, timings)


# ---------------------------------------------------------------------------------------------
def _jsonable(v):
    if isinstance(v, torch.Tensor):
        v = v.tolist()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def results_dict(results: Results) -> dict:
    """Every number of ``results`` as JSON-ready Python (NaN → None; axes named in ``*_axes``)."""
    out = {"protocol": _jsonable(results.protocol.as_dict())}
    for name in ("lambda_sweep", "stability_map", "stress_test", "scale_drift"):
        obj = getattr(results, name)
        out[name] = {
            f.name: _jsonable(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not isinstance(getattr(obj, f.name), nn.Module)
        }
    out["stability_map"]["fraction_stable"] = _jsonable(results.stability_map.fraction_stable())
    out["stability_map"]["lam_limit_init"] = _jsonable(results.stability_map.lam_limit(which="init"))
    out["stability_map"]["lam_limit_trained"] = _jsonable(results.stability_map.lam_limit(which="trained"))
    inv = results.invariance
    out["invariance"] = {
        "errors": _jsonable(inv.errors),
        "relative": _jsonable(inv.relative),
        "stats": inv.stats(),
        "stats_relative": inv.stats(relative=True),
        "paper": dict(zip(("min", "median", "max"), inv.paper)),
        "log_alpha": list(inv.log_alpha),
        "n_inputs": inv.n_inputs,
        "model": inv.model_description,
    }
    out["axes"] = {
        "lambda_sweep": "rho0s x lams x seeds",
        "stability_map": "rho0s x lams x lrs x seeds (x record steps for drift curves)",
        "stress_test": "rho0s x arms x lrs",
        "scale_drift": "rho0s x arms x lrs x record steps",
    }
    out["claims"] = claims(results)
    out["timings_seconds"] = _jsonable(results.timings)
    return out


def claims(results: Results) -> list[dict]:
    """The paper's claims checked against our numbers: [{claim, setting, holds, evidence}]."""
    p, st, sw, dr, inv = (
        results.protocol,
        results.stress_test,
        results.lambda_sweep,
        results.scale_drift,
        results.invariance,
    )
    out = []
    s = inv.stats()
    out.append(
        dict(
            claim="fig. 5: gauge transformations leave f unchanged to machine precision",
            setting=f"{inv.errors.numel()} rescalings, log α ~ U[{inv.log_alpha[0]:g}, {inv.log_alpha[1]:g}]",
            holds=bool(inv.relative.max() < 1e-14),
            evidence=f"Δ_inv min {s['min']:.3g}, median {s['median']:.3g}, max {s['max']:.3g} "
            f"(relative max {float(inv.relative.max()):.3g}); paper {inv.paper[0]:.3g} / "
            f"{inv.paper[1]:.3g} / {inv.paper[2]:.3g}",
        )
    )
    for r, rho0 in enumerate(st.rho0s):
        b, g = float(st.stable_lr[r, 0]), float(st.stable_lr[r, 1])
        out.append(
            dict(
                claim=f"fig. 4: gauge fixing (λ = {p.lam_fix:g}) widens the stable learning-rate range",
                setting=f"ρ0 = {rho0:g}",
                holds=st.widens[r],
                evidence=f"all {st.n_seeds} seeds stable up to η = {b:g} (baseline) vs η = {g:g} "
                "(gauge-fixed)",
            )
        )
    i0 = sw.lams.index(0.0)
    for r, rho0 in enumerate(sw.rho0s):
        base, spread = float(sw.val_mean[r, i0]), float(sw.val_std[r, i0])
        lim = float(sw.lam_limit_trained[r])
        below = [i for i, lam in enumerate(sw.lams) if 0 < lam < lim]
        diffs = [float(sw.val_mean[r, i]) - base for i in below]
        worst = max(diffs, key=abs) if diffs else float("nan")
        n_div = int(sw.diverged[r].sum())
        out.append(
            dict(
                claim="fig. 3: validation error essentially unchanged across λ",
                setting=f"ρ0 = {rho0:g}, η = {sw.lr:g}, 0 < λ < {lim:.3g} (the upper limit "
                "1/(η max(‖u‖²+‖a‖²)) of the trained baseline nets)",
                holds=bool(abs(worst) <= spread),
                evidence=f"val MSE {base:.4g} ± {spread:.2g} (seed std) at λ = 0; largest change of the "
                f"mean in that range {worst:+.3g} ({worst / base:+.1%}); criterion: within one seed std; "
                f"over the whole λ grid {n_div} of {sw.diverged[r].numel()} runs diverged",
            )
        )
    for r, rho0 in enumerate(dr.rho0s):
        for k, lr in enumerate(dr.lrs):
            b, g = float(dr.final_mean[r, 0, k]), float(dr.final_mean[r, 1, k])
            out.append(
                dict(
                    claim="scale drift is suppressed by gauge fixing",
                    setting=f"ρ0 = {rho0:g}, η = {lr:g}",
                    holds=bool(g < b),
                    evidence=f"final {dr.metric} {b:.3g} (baseline) vs {g:.3g} (gauge-fixed)",
                )
            )
    return out
