"""The source paper's experiments under GaugeLab's protocol, as functions returning tidy results.

Paper: R. Carmo Terin (2026), *Scale redundancy and soft gauge fixing in positively homogeneous
neural networks*, arXiv:2602.14729. Its figures 2–5 and tables 1–2, with our constants
(:mod:`gaugelab.protocol`, which also defines the success criterion, the arms and every verdict
rule; the paper's constants are unknown):

- :func:`lambda_sweep`   fig. 3: final training loss and validation MSE — split into interpolation
  (inside the training range) and extrapolation — against λ at η = lr_ref;
- :func:`lr_stress_test` fig. 4: the four arms (baseline, gauge-fixed, balanced at t = 0, weight
  decay) over lr_grid; per-seed edges under the *fitted and stable* criterion and under the
  divergence-only one, paired differences against the baseline with bootstrap intervals, and the
  edges against the fit threshold τ;
- :func:`stability_map`  the (η, λ) grid: which runs diverge or fit, and the upper limit on λ;
- :func:`scale_drift`    remaining imbalance, drift and the scale-free |tanh(ρ_j/2)|, per arm;
- :func:`mechanism`      sharpness λ_max(t) over the first steps and at the end against 2/η;
- :func:`invariance_check` fig. 5: Δ_inv over random neuron-wise rescalings (THEORY §6);
- :func:`claims`         every verdict, computed once here (the CLI and notebook 07 print it).

The regime map (the claim re-tested over ρ0, width, target and optimizer) is
:func:`gaugelab.regimes.regime_map`. Training goes through :func:`gaugelab.ensemble.ensemble_train`
(full-batch GD) or :func:`gaugelab.ensemble_optim.ensemble_train_optim` (momentum, minibatch SGD),
each member the same run as :func:`gaugelab.train`. Statistics over seeds use only the seeds that
qualify (stable, or fitted); their number is always reported beside them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, vmap

from gaugelab.coords import neuron_norms
from gaugelab.ensemble import EnsembleResult, ensemble_train
from gaugelab.gauge import balance, invariance_error, random_scales
from gaugelab.losses import half_mse, mse
from gaugelab.nets import hidden_layers
from gaugelab.penalty import penalty_stiffness
from gaugelab.protocol import DEFAULT, PAPER_INVARIANCE, Protocol
from gaugelab.sharpness import double_backward_hvp, flat_loss

CRITERIA = ("fitted", "stable")
CRITERION_TEXT = {
    "fitted": "fitted and stable: not diverged and final training loss ≤ L_best + τ (L_const − L_best)",
    "stable": "divergence only: not diverged within the step budget",
}
DIRECTION_WORDS = {"above": "wider", "same": "same", "below": "narrower"}


def _check_protocol(protocol) -> Protocol:
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol: expected a gaugelab.protocol.Protocol, got {type(protocol).__name__}")
    return protocol


def arm_label(protocol: Protocol, arm: str) -> str:
    """A readable name of ``arm`` with its constants."""
    return {
        "baseline": "baseline GD (λ = 0)",
        "gauge_fixed": f"gauge-fixed (λ = {protocol.lam_fix:g})",
        "balanced_init": "balanced at t = 0 (gl.balance)",
        "weight_decay": f"weight decay (μ = {protocol.weight_decay:g})",
    }[arm]


# ---------------------------------------------------------------------------------------------
# statistics
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


def bootstrap_ci(values, n_boot: int = 10_000, ci: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of the finite ``values`` and its percentile bootstrap interval.

    ``n_boot`` resamples (with replacement, a fixed generator ``seed``); NaNs when there is no value.
    """
    d = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    d = d[torch.isfinite(d)]
    if d.numel() == 0:
        return (math.nan, math.nan, math.nan)
    gen = torch.Generator().manual_seed(seed)
    means = d[torch.randint(d.numel(), (n_boot, d.numel()), generator=gen)].mean(1)
    q = torch.quantile(means, torch.tensor([(1 - ci) / 2, 1 - (1 - ci) / 2], dtype=torch.float64))
    return (float(d.mean()), float(q[0]), float(q[1]))


@dataclass
class Paired:
    """Per-seed differences arm − reference, their mean with a bootstrap interval, and the counts.

    direction: "above" when the whole interval lies above 0, "below" when below, else "same".
    """

    diffs: torch.Tensor
    mean: float
    low: float
    high: float
    n_above: int
    n_equal: int
    n_below: int

    @property
    def n(self) -> int:
        return self.n_above + self.n_equal + self.n_below

    @property
    def direction(self) -> str:
        if self.n == 0:
            return "none"
        if self.low > 0:
            return "above"
        if self.high < 0:
            return "below"
        return "same"

    def as_dict(self) -> dict:
        return dict(
            diffs=self.diffs.tolist(),
            mean=self.mean,
            low=self.low,
            high=self.high,
            n_above=self.n_above,
            n_equal=self.n_equal,
            n_below=self.n_below,
            direction=self.direction,
        )


def paired(values, reference, *, n_boot: int = 10_000, ci: float = 0.95, seed: int = 0) -> Paired:
    """:class:`Paired` statistics of ``values − reference`` over the seeds where both are finite."""
    a = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    b = torch.as_tensor(reference, dtype=torch.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"values, reference: expected one value per seed each, got {a.shape} and {b.shape}")
    d = (a - b)[torch.isfinite(a) & torch.isfinite(b)]
    mean, low, high = bootstrap_ci(d, n_boot, ci, seed)
    scale = max(float(a[torch.isfinite(a)].abs().max()) if torch.isfinite(a).any() else 0.0, 1e-300)
    tiny = 1e-12 * scale
    return Paired(
        d, mean, low, high, int((d > tiny).sum()), int((d.abs() <= tiny).sum()), int((d < -tiny).sum())
    )


def seed_edges(ok: torch.Tensor, lrs) -> torch.Tensor:
    """Per seed, the largest η of ``lrs`` with ``ok`` at it and at every smaller η (0.0 if none).

    ``ok``: (..., n_lr, n_seed) bool, the η axis in the order of increasing ``lrs``.
    """
    lrs = torch.as_tensor(list(lrs), dtype=torch.float64)
    run = ok.to(torch.long).cumprod(dim=-2).sum(dim=-2)  # how many leading η are all ok
    padded = torch.cat([torch.zeros(1, dtype=torch.float64), lrs])
    return padded[run]


def stable_range(diverged: torch.Tensor, lrs) -> float:
    """Largest η of ``lrs`` such that no seed diverged at it or at any smaller η (0.0 if none).

    ``diverged``: (n_lr, n_seed) bool, rows in the order of increasing ``lrs``. This is the minimum
    over seeds of :func:`seed_edges` under the divergence-only criterion.
    """
    return float(seed_edges(~torch.as_tensor(diverged), lrs).min())


def constant_loss(y: torch.Tensor) -> float:
    """L_const = (1/2N) Σ_n ‖y_n − ȳ‖²: the half MSE of the best constant predictor."""
    return float(half_mse(y.mean(0, keepdim=True).expand_as(y), y))


def fit_threshold(l_best, l_const: float, tau: float):
    """The fitted criterion's bound on the final loss: L_best + τ (L_const − L_best)."""
    return l_best + tau * (l_const - l_best)


# ---------------------------------------------------------------------------------------------
# training
def _key(config) -> tuple:
    rho0, seed, lam, lr, *arm = config
    rho0 = None if rho0 is None else float(rho0)
    key = (rho0, int(seed), float(lam), float(lr))
    if arm and arm[0] not in (None, "baseline", "gauge_fixed", "lam"):
        if arm[0] not in ("balanced_init", "weight_decay"):
            raise ValueError(f"configs: unknown arm {arm[0]!r}")
        return (*key, arm[0])
    return key


def arm_key(protocol: Protocol, arm: str, rho0, seed: int, lr: float) -> tuple:
    """The configuration key of ``arm`` at (ρ0, seed, η).

    (ρ0, seed, λ, η) for the baseline (λ = 0) and the gauge-fixed arm (λ = lam_fix); (ρ0, seed, 0,
    η, "weight_decay") for weight decay. The balanced-init arm is ``gl.balance`` of the start, which
    for every ρ0 (and the unmoved init) is, up to rounding, the protocol's ρ0 = 0 network (that one
    is built by balancing the same PyTorch initialisation; tested to 1e-12): its key is the ρ0 = 0
    baseline's, (0, seed, 0, η). A 5-tuple (ρ0, seed, 0, η, "balanced_init") trains gl.balance of
    the ρ0 start itself.
    """
    if arm == "baseline":
        return _key((rho0, seed, 0.0, lr))
    if arm == "balanced_init":
        return _key((0.0, seed, 0.0, lr))
    if arm == "gauge_fixed":
        return _key((rho0, seed, protocol.lam_fix, lr))
    if arm in ("balanced_init", "weight_decay"):
        return _key((rho0, seed, 0.0, lr, arm))
    raise ValueError(f"arm: expected one of {protocol.arms}, got {arm!r}")


@dataclass
class Runs:
    """Trained configurations: ``result`` member ``index[config]`` is that run.

    Keys: (ρ0, seed, λ, η) (the protocol's initial network, no weight decay) or (ρ0, seed, 0, η,
    arm) for the balanced-init and weight-decay arms (see :func:`arm_key`).
    """

    protocol: Protocol
    result: EnsembleResult
    index: dict[tuple, int]
    _final: dict | None = field(default=None, repr=False)

    def select(self, configs) -> torch.Tensor:
        keys = [_key(c) for c in configs]
        missing = [c for c in keys if c not in self.index]
        if missing:
            raise ValueError(
                f"runs: configuration(s) {missing[:3]} (rho0, seed, lam, lr[, arm]) were not run"
            )
        return torch.tensor([self.index[c] for c in keys], dtype=torch.long)

    def final(self) -> dict[str, torch.Tensor]:
        """Per member, at the last finite parameters: see :func:`final_diagnostics` (computed once)."""
        if self._final is None:
            self._final = final_diagnostics(self.protocol, self.result)
        return self._final


def _initial_model(protocol: Protocol, key: tuple) -> nn.Module:
    model = protocol.model(key[1], key[0])
    if len(key) == 5 and key[4] == "balanced_init":
        model = balance(model)
    return model


def initial_models(protocol: Protocol, configs) -> list[nn.Module]:
    """The initial network of each configuration (ρ0, seed, λ, η[, arm]) of ``configs``, in order;
    configurations sharing (ρ0, seed, balanced or not) share one module (built once)."""
    p = _check_protocol(protocol)
    cache: dict[tuple, nn.Module] = {}
    models = []
    for k in (_key(c) for c in configs):
        init = (k[0], k[1], len(k) == 5 and k[4] == "balanced_init")
        if init not in cache:
            cache[init] = _initial_model(p, k)
        models.append(cache[init])
    return models


def run_configs(
    protocol: Protocol, configs, *, device=None, progress: bool = False, desc: str = "training"
) -> Runs:
    """Train each distinct configuration of ``configs`` once, all in one batched program."""
    p = _check_protocol(protocol)
    unique = list(dict.fromkeys(_key(c) for c in configs))
    if not unique:
        raise ValueError("configs: expected at least one configuration")
    data = p.dataset()
    models = initial_models(p, unique)
    kw = dict(
        lr=[k[3] for k in unique],
        lam=[k[2] for k in unique],
        weight_decay=[p.weight_decay if len(k) == 5 and k[4] == "weight_decay" else 0.0 for k in unique],
        steps=p.steps,
        record_every=p.record_every,
        x_val=data.x_val,
        y_val=data.y_val,
        divergence_factor=p.divergence_factor,
    )
    if p.optimizer == "gd":
        res = ensemble_train(
            models, data.x_train, data.y_train, device=device, progress=progress, desc=desc, **kw
        )
    else:
        from gaugelab.ensemble_optim import ensemble_train_optim

        res = ensemble_train_optim(
            models,
            data.x_train,
            data.y_train,
            optimizer=p.optimizer,
            momentum=p.momentum,
            batch_size=p.batch_size if p.optimizer == "sgd" else None,
            seed=[k[1] for k in unique],
            **kw,
        )
    return Runs(p, res, {c: i for i, c in enumerate(unique)})


def runs_fit_threshold(runs: Runs, rho0, lam: float) -> float | None:
    """The fitted criterion's bound for the (ρ0, λ) runs of ``runs`` (initial networks of the protocol).

    L_best + τ (L_const − L_best) with L_best the smallest final loss of those runs, over their seeds,
    at their smallest η; None when there are none or all diverged there.
    """
    rho0 = None if rho0 is None else float(rho0)
    keys = [k for k in runs.index if len(k) == 4 and k[0] == rho0 and k[2] == float(lam)]
    if not keys:
        return None
    lr0 = min(k[3] for k in keys)
    res = runs.result
    losses = [
        float(res.final_loss[runs.index[k]])
        for k in keys
        if k[3] == lr0 and not bool(res.diverged[runs.index[k]])
    ]
    if not losses:
        return None
    p = runs.protocol
    return float(fit_threshold(min(losses), constant_loss(p.dataset().y_train), p.fit_tau))


class _Final(nn.Module):
    """(x_train, x_val) ↦ f on both, dead-neuron count, mean_j |tanh(ρ_j/2)|, max_j(‖u_j‖² + ‖a_j‖²)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x_train, x_val):
        (layer,) = hidden_layers(self.model)  # the protocol's two-layer nets
        pre = layer.incoming(x_train)  # (N, m) pre-activations u_j·x̃_n
        ((nu, na),) = neuron_norms(self.model)
        dead = ((pre <= 0).all(dim=0) | (na == 0)).sum()
        # tanh(ρ_j/2) = (‖u_j‖ − ‖a_j‖)/(‖u_j‖ + ‖a_j‖), ρ_j = log(‖u_j‖/‖a_j‖); 0 at a dead pair
        tanh_half = (nu - na) / torch.where(nu + na > 0, nu + na, torch.ones_like(nu))
        return (
            self.model(x_train),
            self.model(x_val),
            dead,
            tanh_half.abs().mean(),
            penalty_stiffness(self.model),
        )


def final_diagnostics(protocol: Protocol, result: EnsembleResult) -> dict[str, torch.Tensor]:
    """Per member at its last finite parameters: every number the verdicts read.

    final_loss, val_mse (whole grid), val_interp / val_extrap (validation points inside / outside the
    training range), dead (number of dead hidden neurons: no training input activates them, or
    a_j = 0), constant (Var_n f(x_n) ≤ constant_tol · Var_n y_n on the training inputs), collapsed
    (constant, or every neuron dead), tanh_half_rho (mean_j |tanh(ρ_j/2)|), stiffness
    (max_j(‖u_j‖² + ‖a_j‖²)), diverged.
    """
    data = protocol.dataset()
    module = _Final(result.template)
    params = {f"model.{k}": v for k, v in result.final_params.items()}
    with torch.no_grad():
        f_tr, f_val, dead, tanh_half, stiff = vmap(
            lambda q: functional_call(module, q, (data.x_train, data.x_val))
        )(params)
    lo, hi = protocol.train_range
    inside = (data.x_val[:, 0] >= lo) & (data.x_val[:, 0] <= hi)
    var_f = f_tr.var(dim=1, unbiased=False).sum(-1)
    var_y = float(data.y_train.var(dim=0, unbiased=False).sum())
    constant = var_f <= protocol.constant_tol * var_y
    width = hidden_layers(result.template)[0].width
    return dict(
        final_loss=result.final_loss,
        val_mse=mse(f_val, data.y_val),
        val_interp=mse(f_val[:, inside], data.y_val[inside]),
        val_extrap=mse(f_val[:, ~inside], data.y_val[~inside])
        if (~inside).any()
        else torch.full_like(var_f, math.nan),
        dead=dead,
        constant=constant,
        collapsed=constant | (dead == width),
        tanh_half_rho=tanh_half,
        stiffness=stiff,
        diverged=result.diverged,
    )


def _stiffness(result: EnsembleResult) -> torch.Tensor:
    """max_j (‖u_j‖² + ‖a_j‖²) per member (gaugelab.penalty.penalty_stiffness under vmap)."""
    module = _Final(result.template)
    params = {f"model.{k}": v for k, v in result.final_params.items()}
    x = torch.zeros(1, 1, dtype=result.final_loss.dtype)
    with torch.no_grad():
        return vmap(lambda q: functional_call(module, q, (x, x))[4])(params)


# ---------------------------------------------------------------------------------------------
# configurations
def lambda_sweep_configs(protocol: Protocol) -> list[tuple]:
    """(ρ0, seed, λ, η) of the λ sweep: rho0s × lam_grid × seeds at η = lr_ref."""
    p = protocol
    return [_key((r, s, lam, p.lr_ref)) for r in p.rho0s for lam in p.lam_grid for s in p.seeds]


def stability_map_configs(protocol: Protocol, lams=None, lrs=None) -> list[tuple]:
    """(ρ0, seed, λ, η) of the stability map: rho0s × lams × lrs × seeds (default map grids)."""
    p = protocol
    lams = p.map_lam_grid if lams is None else lams
    lrs = p.map_lr_grid if lrs is None else lrs
    return [_key((r, s, lam, lr)) for r in p.rho0s for lam in lams for lr in lrs for s in p.seeds]


def stress_configs(protocol: Protocol, rho0s=None, arms=None, lrs=None) -> list[tuple]:
    """Keys of the stress test: rho0s × arms × lrs × seeds (default: the protocol's)."""
    p = protocol
    rho0s = p.rho0s if rho0s is None else rho0s
    arms = p.arms if arms is None else arms
    lrs = p.lr_grid_for() if lrs is None else lrs
    return [arm_key(p, a, r, s, lr) for r in rho0s for a in arms for lr in lrs for s in p.seeds]


def _gather(runs: Runs, keys: list[tuple], shape) -> dict[str, torch.Tensor]:
    """Final diagnostics of the members ``keys`` reshaped to ``shape``, NaN where they diverged."""
    sel = runs.select(keys)
    fin = runs.final()
    div = fin["diverged"][sel].reshape(shape)
    out = {"diverged": div, "diverged_step": runs.result.diverged_step[sel].reshape(shape)}
    for name in ("final_loss", "val_mse", "val_interp", "val_extrap", "tanh_half_rho", "stiffness"):
        v = fin[name][sel].reshape(shape).to(torch.float64)
        out[name] = torch.where(div, torch.full_like(v, math.nan), v)
    out["dead"] = torch.where(div, -1, fin["dead"][sel].reshape(shape))
    out["collapsed"] = fin["collapsed"][sel].reshape(shape) & ~div
    out["mean_abs_delta"] = torch.where(
        div,
        torch.full(shape, math.nan, dtype=torch.float64),
        runs.result.final_delta[sel].abs().mean(-1).reshape(shape),
    )
    return out


# ---------------------------------------------------------------------------------------------
@dataclass
class LambdaSweep:
    """Fig. 3. Axes of every (n_rho0, n_lam, n_seed) tensor: rho0s × lams × seeds, at η = lr.

    final_loss, val_mse, val_interp (validation points inside the training range), val_extrap
    (outside it), mean_abs_delta: at the end (NaN where diverged); diverged; fitted (the protocol's
    criterion, L_best from λ = 0 at η = lr: the sweep runs one η); *_mean / *_std / n_fitted:
    (n_rho0, n_lam) over the fitted seeds; stiffness0: (n_rho0, n_seed) max_j(‖u_j‖² + ‖a_j‖²) at
    initialisation; lam_limit0: (n_rho0,) 1/(η · median stiffness0) (THEORY §4); lam_limit_trained:
    (n_rho0,) the same with the median stiffness of the trained λ = 0 runs (the neurons grow while
    fitting, so this limit is lower); flat: per ρ0, the paired interpolation-MSE differences
    λ − (λ = 0) for every λ in (0, lam_limit_trained); example_model: the trained λ = 0 network of
    the first seed at rho0s[0].
    """

    lr: float
    lams: list[float]
    rho0s: list
    seeds: list[int]
    l_const: float
    final_loss: torch.Tensor
    val_mse: torch.Tensor
    val_interp: torch.Tensor
    val_extrap: torch.Tensor
    mean_abs_delta: torch.Tensor
    diverged: torch.Tensor
    fitted: torch.Tensor
    loss_mean: torch.Tensor
    loss_std: torch.Tensor
    val_mean: torch.Tensor
    val_std: torch.Tensor
    interp_mean: torch.Tensor
    interp_std: torch.Tensor
    extrap_mean: torch.Tensor
    extrap_std: torch.Tensor
    n_fitted: torch.Tensor
    n_stable: torch.Tensor
    stiffness0: torch.Tensor
    lam_limit0: torch.Tensor
    lam_limit_trained: torch.Tensor
    flat: list[dict]
    example_model: nn.Module = field(repr=False)


def lambda_sweep(
    protocol: Protocol = DEFAULT, *, runs: Runs | None = None, device=None, progress: bool = False
) -> LambdaSweep:
    """Every (ρ0, λ ∈ lam_grid, seed) at η = lr_ref: loss and validation MSE against λ (fig. 3)."""
    p = _check_protocol(protocol)
    configs = lambda_sweep_configs(p)
    if runs is None:
        runs = run_configs(p, configs, device=device, progress=progress, desc="λ sweep")
    shape = (len(p.rho0s), len(p.lam_grid), p.n_seeds)
    got = _gather(runs, configs, shape)
    l_const = constant_loss(p.dataset().y_train)
    i0 = p.lam_grid.index(0.0)
    l_best = torch.stack(
        [torch.nan_to_num(got["final_loss"][r, i0], nan=math.inf).min() for r in range(shape[0])]
    )
    fitted = ~got["diverged"] & (
        got["final_loss"] <= fit_threshold(l_best, l_const, p.fit_tau)[:, None, None]
    )
    stats = {
        k: seed_stats(got[v], fitted)
        for k, v in (
            ("loss", "final_loss"),
            ("val", "val_mse"),
            ("interp", "val_interp"),
            ("extrap", "val_extrap"),
        )
    }
    s0 = torch.stack([penalty_stiffness(p.model(s, r)) for r in p.rho0s for s in p.seeds]).reshape(
        len(p.rho0s), p.n_seeds
    )
    trained_base = got["stiffness"][:, i0]  # (n_rho0, n_seed): the λ = 0 column
    lam_limit_trained = 1.0 / (p.lr_ref * torch.nanmedian(trained_base, dim=1).values)
    flat = []
    for r in range(shape[0]):
        lim = float(lam_limit_trained[r])
        ref = torch.where(fitted[r, i0], got["val_interp"][r, i0], math.nan)
        rows = []
        for i, lam in enumerate(p.lam_grid):
            if 0 < lam < lim:
                v = torch.where(fitted[r, i], got["val_interp"][r, i], math.nan)
                rows.append((lam, paired(v, ref, n_boot=p.n_boot, ci=p.ci)))
        flat.append(dict(limit=lim, rows=rows))
    sel0 = runs.select([_key((p.rho0s[0], p.seeds[0], 0.0, p.lr_ref))])
    return LambdaSweep(
        lr=p.lr_ref,
        lams=list(p.lam_grid),
        rho0s=list(p.rho0s),
        seeds=p.seeds,
        l_const=l_const,
        final_loss=got["final_loss"],
        val_mse=got["val_mse"],
        val_interp=got["val_interp"],
        val_extrap=got["val_extrap"],
        mean_abs_delta=got["mean_abs_delta"],
        diverged=got["diverged"],
        fitted=fitted,
        loss_mean=stats["loss"][0],
        loss_std=stats["loss"][1],
        val_mean=stats["val"][0],
        val_std=stats["val"][1],
        interp_mean=stats["interp"][0],
        interp_std=stats["interp"][1],
        extrap_mean=stats["extrap"][0],
        extrap_std=stats["extrap"][1],
        n_fitted=stats["val"][2],
        n_stable=(~got["diverged"]).sum(-1),
        stiffness0=s0,
        lam_limit0=1.0 / (p.lr_ref * s0.median(dim=1).values),
        lam_limit_trained=lam_limit_trained,
        flat=flat,
        example_model=runs.result.model(int(sel0[0])),
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class StressTest:
    """Fig. 4. Axes of the (n_rho0, n_arm, n_lr, n_seed) tensors: rho0s × arms × lrs × seeds.

    diverged, collapsed (bool), dead (count; −1 where diverged); final_loss, val_mse, val_interp,
    val_extrap, tanh_half_rho, mean_abs_delta (NaN where diverged); l_const: the constant
    predictor's loss; l_best: (n_rho0, n_arm) the arm's smallest final loss at the smallest η;
    fitted: the protocol's criterion at τ = tau. edges[criterion]: (n_rho0, n_arm, n_seed) per-seed
    edges, criterion "fitted" or "stable" (divergence only); fraction[criterion]: (n_rho0, n_arm,
    n_lr) fraction of seeds; pairs[criterion][(r, arm)]: :class:`Paired` edge(arm) − edge(baseline)
    for every arm but the baseline, and ("gauge_fixed − balanced_init") under key (r, "vs_balanced");
    val_pairs[(r, arm)]: paired interpolation val MSE at η = lr_ref (fitted seeds), arm − baseline;
    taus / tau_edges: (n_tau, n_rho0, n_arm, n_seed) the fitted edges for every τ of fit_tau_grid,
    tau_pairs[k][(r, arm)] their paired statistics; stable_lr: (n_rho0, n_arm) the all-seed
    divergence-only range (the earlier report's number).
    """

    lrs: list[float]
    rho0s: list
    arms: list[str]
    labels: list[str]
    seeds: list[int]
    tau: float
    l_const: float
    l_best: torch.Tensor
    diverged: torch.Tensor
    collapsed: torch.Tensor
    dead: torch.Tensor
    final_loss: torch.Tensor
    val_mse: torch.Tensor
    val_interp: torch.Tensor
    val_extrap: torch.Tensor
    tanh_half_rho: torch.Tensor
    mean_abs_delta: torch.Tensor
    fitted: torch.Tensor
    edges: dict[str, torch.Tensor]
    fraction: dict[str, torch.Tensor]
    pairs: dict[str, dict]
    val_pairs: dict
    taus: list[float]
    tau_edges: torch.Tensor
    tau_pairs: list[dict]
    stable_lr: torch.Tensor

    @property
    def n_seeds(self) -> int:
        return len(self.seeds)

    def arm(self, name: str) -> int:
        return self.arms.index(name)


def _edge_pairs(p: Protocol, edges: torch.Tensor, rho0s, arms) -> dict:
    out = {}
    ib = arms.index("baseline")
    for r in range(len(rho0s)):
        for a, arm in enumerate(arms):
            if arm != "baseline":
                out[(r, arm)] = paired(edges[r, a], edges[r, ib], n_boot=p.n_boot, ci=p.ci)
        if "gauge_fixed" in arms and "balanced_init" in arms:
            out[(r, "vs_balanced")] = paired(
                edges[r, arms.index("gauge_fixed")],
                edges[r, arms.index("balanced_init")],
                n_boot=p.n_boot,
                ci=p.ci,
            )
    return out


def lr_stress_test(
    protocol: Protocol = DEFAULT,
    runs: Runs | None = None,
    *,
    rho0s=None,
    arms=None,
    device=None,
    progress: bool = False,
) -> StressTest:
    """The arms over the η grid (fig. 4), from ``runs`` or a new training; both criteria reported."""
    p = _check_protocol(protocol)
    rho0s = list(p.rho0s if rho0s is None else rho0s)
    arms = list(p.arms if arms is None else arms)
    if "baseline" not in arms:
        raise ValueError(f"arms: expected the baseline among {arms}")
    lrs = list(p.lr_grid_for())
    configs = stress_configs(p, rho0s, arms, lrs)
    if runs is None:
        runs = run_configs(p, configs, device=device, progress=progress, desc="stress test")
    shape = (len(rho0s), len(arms), len(lrs), p.n_seeds)
    got = _gather(runs, configs, shape)
    l_const = constant_loss(p.dataset().y_train)
    l_best = torch.nan_to_num(got["final_loss"][:, :, 0], nan=math.inf).min(dim=-1).values
    stable = ~got["diverged"]

    def fitted_at(tau):
        return stable & (got["final_loss"] <= fit_threshold(l_best, l_const, tau)[:, :, None, None])

    fitted = fitted_at(p.fit_tau)
    edges = {"fitted": seed_edges(fitted, lrs), "stable": seed_edges(stable, lrs)}
    taus = list(p.fit_tau_grid)
    tau_edges = torch.stack([seed_edges(fitted_at(t), lrs) for t in taus])
    ib, k_ref = arms.index("baseline"), 0
    val_pairs = {}
    for r in range(len(rho0s)):
        ref = torch.where(fitted[r, ib, k_ref], got["val_interp"][r, ib, k_ref], math.nan)
        for a, arm in enumerate(arms):
            if arm != "baseline":
                v = torch.where(fitted[r, a, k_ref], got["val_interp"][r, a, k_ref], math.nan)
                val_pairs[(r, arm)] = paired(v, ref, n_boot=p.n_boot, ci=p.ci)
    return StressTest(
        lrs=lrs,
        rho0s=rho0s,
        arms=arms,
        labels=[arm_label(p, a) for a in arms],
        seeds=p.seeds,
        tau=p.fit_tau,
        l_const=l_const,
        l_best=l_best,
        diverged=got["diverged"],
        collapsed=got["collapsed"],
        dead=got["dead"],
        final_loss=got["final_loss"],
        val_mse=got["val_mse"],
        val_interp=got["val_interp"],
        val_extrap=got["val_extrap"],
        tanh_half_rho=got["tanh_half_rho"],
        mean_abs_delta=got["mean_abs_delta"],
        fitted=fitted,
        edges=edges,
        fraction={"fitted": fitted.double().mean(-1), "stable": stable.double().mean(-1)},
        pairs={c: _edge_pairs(p, edges[c], rho0s, arms) for c in CRITERIA},
        val_pairs=val_pairs,
        taus=taus,
        tau_edges=tau_edges,
        tau_pairs=[_edge_pairs(p, tau_edges[k], rho0s, arms) for k in range(len(taus))],
        stable_lr=edges["stable"].min(dim=-1).values,
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class StabilityMap:
    """Every (ρ0, λ, η, seed) run of the map; (n_rho0, n_lam, n_lr, n_seed) tensors.

    diverged / diverged_step (−1 if stable); fitted (the protocol's criterion, L_best per (ρ0, λ) at
    the smallest η of the map); val_mse, final_loss, mean_abs_delta, stiffness: at the end (NaN
    where diverged); stiffness0: (n_rho0, n_seed) max_j(‖u_j‖² + ‖a_j‖²) at initialisation.
    """

    lams: list[float]
    lrs: list[float]
    rho0s: list
    seeds: list[int]
    diverged: torch.Tensor
    diverged_step: torch.Tensor
    fitted: torch.Tensor
    val_mse: torch.Tensor
    final_loss: torch.Tensor
    mean_abs_delta: torch.Tensor
    stiffness: torch.Tensor
    stiffness0: torch.Tensor

    def fraction_stable(self) -> torch.Tensor:
        """(n_rho0, n_lam, n_lr): fraction of seeds that never diverged."""
        return (~self.diverged).double().mean(-1)

    def fraction_fitted(self) -> torch.Tensor:
        """(n_rho0, n_lam, n_lr): fraction of seeds fitted and stable."""
        return self.fitted.double().mean(-1)

    def lam_limit(self, lrs=None, which: str = "init") -> torch.Tensor:
        """(n_rho0, n_lr) the upper limit on λ, 1/(η S), THEORY §4.

        S = median over seeds of max_j(‖u_j‖² + ‖a_j‖²): at initialisation (``which="init"``) or at
        the end of the λ = 0 runs at the smallest η of the map (``which="trained"``).
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
    """Every (ρ0, λ, η, seed) of map_lam_grid × map_lr_grid (or the ``lams`` / ``lrs`` given)."""
    p = _check_protocol(protocol)
    lams = [float(v) for v in (p.map_lam_grid if lams is None else lams)]
    lrs = [float(v) for v in (p.map_lr_grid if lrs is None else lrs)]
    configs = stability_map_configs(p, lams, lrs)
    if runs is None:
        runs = run_configs(p, configs, device=device, progress=progress, desc="stability map")
    shape = (len(p.rho0s), len(lams), len(lrs), p.n_seeds)
    got = _gather(runs, configs, shape)
    l_const = constant_loss(p.dataset().y_train)
    l_best = torch.nan_to_num(got["final_loss"][:, :, 0], nan=math.inf).min(dim=-1).values
    fitted = ~got["diverged"] & (
        got["final_loss"] <= fit_threshold(l_best, l_const, p.fit_tau)[:, :, None, None]
    )
    s0 = torch.stack([penalty_stiffness(p.model(s, r)) for r in p.rho0s for s in p.seeds])
    return StabilityMap(
        lams=lams,
        lrs=lrs,
        rho0s=list(p.rho0s),
        seeds=p.seeds,
        diverged=got["diverged"],
        diverged_step=got["diverged_step"],
        fitted=fitted,
        val_mse=got["val_mse"],
        final_loss=got["final_loss"],
        mean_abs_delta=got["mean_abs_delta"],
        stiffness=got["stiffness"],
        stiffness0=s0.reshape(len(p.rho0s), p.n_seeds),
    )


# ---------------------------------------------------------------------------------------------
@dataclass
class ScaleDrift:
    """Scale drift per arm. Axes: rho0s × arms × lrs (drift_lrs) [× seeds] [× record steps].

    remaining / drift: (n_rho0, n_arm, n_lr, R) mean over stable seeds of the remaining imbalance
    mean_j |δ_j(t)| and of the drift mean_j |δ_j(t) − δ_j(0)|; steps: (R,); n_stable: (n_rho0,
    n_arm, n_lr); late_drift: (n_rho0, n_arm, n_lr, n_seed) mean_j |δ_j(T) − δ_j(t_r)|, t_r the
    record step at relax_fraction · T; remaining_start / remaining_end, tanh_start / tanh_end:
    (n_rho0, n_arm, n_lr, n_seed) mean_j |δ_j| and mean_j |tanh(ρ_j/2)| at t = 0 and at the end;
    pairs[(r, k, arm)]: :class:`Paired` late drift arm − baseline; pairs[(r, k, "vs_balanced")]: the
    verdict's measure, remaining imbalance at T, gauge-fixed − balanced-init (the arm that starts on
    the slice, so that all it has at T is finite-step drift).
    """

    steps: torch.Tensor
    t_relax: int
    lrs: list[float]
    rho0s: list
    arms: list[str]
    labels: list[str]
    remaining: torch.Tensor
    drift: torch.Tensor
    n_stable: torch.Tensor
    late_drift: torch.Tensor
    remaining_start: torch.Tensor
    remaining_end: torch.Tensor
    tanh_start: torch.Tensor
    tanh_end: torch.Tensor
    pairs: dict


def _tanh_half_rho0(protocol: Protocol, key: tuple) -> float:
    ((nu, na),) = neuron_norms(_initial_model(protocol, key))
    return float(((nu - na) / (nu + na)).abs().mean().detach())


def scale_drift(
    protocol: Protocol = DEFAULT, runs: Runs | None = None, *, device=None, progress: bool = False
) -> ScaleDrift:
    """The three drift measures at each η of drift_lrs, every arm, both starts."""
    p = _check_protocol(protocol)
    configs = stress_configs(p, lrs=p.drift_lrs)
    if runs is None:
        runs = run_configs(p, configs, device=device, progress=progress, desc="scale drift")
    shape = (len(p.rho0s), len(p.arms), len(p.drift_lrs), p.n_seeds)
    sel = runs.select(configs)
    res = runs.result
    steps = res.steps
    n_rec = steps.numel()
    delta = res.delta[sel].reshape(*shape, n_rec, -1)  # NaN after a divergence
    div = res.diverged[sel].reshape(shape)
    remaining = delta.abs().mean(-1)
    drift = (delta - delta[..., :1, :]).abs().mean(-1)
    r_idx = int(torch.argmin((steps.double() - p.relax_fraction * p.steps).abs()))
    late = (delta[..., -1, :] - delta[..., r_idx, :]).abs().mean(-1)
    nan = torch.full(shape, math.nan, dtype=torch.float64)
    late = torch.where(div, nan, late)
    ok = (~div)[..., None].expand(*shape, n_rec)
    rem_mean, _, n = seed_stats(remaining.movedim(3, -1), ok.movedim(3, -1))
    dr_mean, _, _ = seed_stats(drift.movedim(3, -1), ok.movedim(3, -1))
    tanh0 = torch.tensor([_tanh_half_rho0(p, _key(c)) for c in configs], dtype=torch.float64).reshape(shape)
    tanh_end = torch.where(div, nan, runs.final()["tanh_half_rho"][sel].reshape(shape).double())
    pairs = {}
    ib = p.arms.index("baseline")
    remaining_end = torch.where(div, nan, res.final_delta[sel].abs().mean(-1).reshape(shape))
    for r in range(shape[0]):
        for k in range(shape[2]):
            for a, arm in enumerate(p.arms):
                if arm != "baseline":
                    pairs[(r, k, arm)] = paired(late[r, a, k], late[r, ib, k], n_boot=p.n_boot, ci=p.ci)
            if "gauge_fixed" in p.arms and "balanced_init" in p.arms:
                ig, ibal = p.arms.index("gauge_fixed"), p.arms.index("balanced_init")
                pairs[(r, k, "vs_balanced")] = paired(
                    remaining_end[r, ig, k], remaining_end[r, ibal, k], n_boot=p.n_boot, ci=p.ci
                )
    return ScaleDrift(
        steps=steps,
        t_relax=int(steps[r_idx]),
        lrs=list(p.drift_lrs),
        rho0s=list(p.rho0s),
        arms=list(p.arms),
        labels=[arm_label(p, a) for a in p.arms],
        remaining=rem_mean,
        drift=dr_mean,
        n_stable=n[..., 0] if n.ndim == 4 else n,
        late_drift=late,
        remaining_start=remaining[..., 0],
        remaining_end=remaining_end,
        tanh_start=tanh0,
        tanh_end=tanh_end,
        pairs=pairs,
    )


# ---------------------------------------------------------------------------------------------
def sharpness_batch(
    template: nn.Module, thetas: torch.Tensor, x, y, lam: float = 0.0, *, iters: int = 20
) -> torch.Tensor:
    """λ_max of ∇²(L + R_λ) at every flat parameter vector of ``thetas`` (B, D), all at once.

    The same quantity and method as :func:`gaugelab.top_hessian_eigenvalue` (tested against it):
    Lanczos with full reorthogonalisation, ``min(iters, D)`` steps, here batched over the B points
    (:func:`gaugelab.sharpness.double_backward_hvp` of Σ_b L(θ_b), the loss vmapped over the batch).
    Ritz values never exceed λ_max, and the top one converges first.
    """
    if thetas.shape[0] == 0:
        return torch.empty(0, dtype=thetas.dtype)
    x, y = x.to(thetas.dtype), y.to(thetas.dtype)
    loss, _ = flat_loss(template, x, y, lam)
    batched = vmap(loss)
    bhvp = double_backward_hvp(lambda th: batched(th).sum(), thetas)
    b, d = thetas.shape
    k = min(iters, d)
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(d, generator=gen, dtype=thetas.dtype).expand(b, d)
    basis = [q / q.norm(dim=1, keepdim=True)]
    alphas, betas = [], []
    for i in range(k):
        w = bhvp(basis[-1])
        alphas.append((w * basis[-1]).sum(1))
        Q = torch.stack(basis, dim=1)  # (B, i + 1, D)
        for _ in range(2):
            w = w - torch.einsum("bkd,bk->bd", Q, torch.einsum("bkd,bd->bk", Q, w))
        if i == k - 1:
            break
        beta = w.norm(dim=1)
        betas.append(beta)
        basis.append(w / beta.clamp(min=1e-300)[:, None])
    T = torch.diag_embed(torch.stack(alphas, 1))
    if betas:
        off = torch.stack(betas, 1)
        T = T + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    return torch.linalg.eigvalsh(T)[:, -1]


def _flat_params(result: EnsembleResult, sel: torch.Tensor) -> torch.Tensor:
    names = [n for n, _ in result.template.named_parameters()]
    return torch.cat([result.final_params[n][sel].reshape(sel.numel(), -1) for n in names], dim=1)


@dataclass
class Mechanism:
    """Sharpness against 2/η. Arms: baseline and gauge-fixed (each λ_max of its own objective L + R_λ).

    steps: (T,) the measured steps (:func:`mechanism_steps`); sharpness: (n_rho0, 2, n_lr, n_seed, T)
    λ_max(θ_t) over the
    first steps (NaN after a divergence), sharpness_end: (n_rho0, 2, n_lr, n_seed) at the end of the
    full run (NaN if it diverged); lrs = mechanism_lrs, seeds = the first mechanism_seeds seeds.
    sharpness_init / sharpness_ref_end: (n_rho0, n_arm, n_seed) for every arm of the stress test and
    every seed, at initialisation and at the end of the η = lr_ref run; edge_* : the per-seed
    edges of the stress test, to compare with 2/λ_max.
    """

    rho0s: list
    arms: list[str]
    lrs: list[float]
    seeds: list[int]
    steps: torch.Tensor
    sharpness: torch.Tensor
    sharpness_end: torch.Tensor
    all_arms: list[str]
    sharpness_init: torch.Tensor
    sharpness_ref_end: torch.Tensor
    edge_fitted: torch.Tensor
    edge_stable: torch.Tensor


def mechanism_steps(protocol: Protocol) -> list[int]:
    """The steps t at which λ_max(θ_t) is measured: every step up to 10, then every 5th up to K."""
    k = min(protocol.mechanism_steps, protocol.steps)
    return sorted(set(range(0, min(k, 10) + 1)) | set(range(0, k + 1, 5)) | {k})


def mechanism(protocol: Protocol, runs: Runs, stress: StressTest) -> Mechanism:
    """λ_max(t) for both arms at mechanism_lrs (first steps, and end), and 2/λ_max against the edges."""
    from gaugelab.ensemble_optim import ensemble_train_optim

    p = _check_protocol(protocol)
    data = p.dataset()
    arms = ["baseline", "gauge_fixed"]
    seeds = p.seeds[: p.mechanism_seeds]
    t_points = mechanism_steps(p)
    k_steps = t_points[-1]
    template = p.model(p.seeds[0], p.rho0s[0])
    combos = [
        (r, a, k, i)
        for r in range(len(p.rho0s))
        for a in range(2)
        for k in range(len(p.mechanism_lrs))
        for i in range(len(seeds))
    ]
    first = ensemble_train_optim(
        [p.model(seeds[i], p.rho0s[r]) for r, a, k, i in combos],
        data.x_train,
        data.y_train,
        optimizer="gd",
        lr=[p.mechanism_lrs[k] for r, a, k, i in combos],
        lam=[p.lam_fix if a == 1 else 0.0 for r, a, k, i in combos],
        steps=k_steps,
        record_every=k_steps,
        divergence_factor=p.divergence_factor,
        trajectory=k_steps,
    )
    thetas = first.config["trajectory"][:, t_points]  # (C, T, D), NaN from a divergence on
    traj = torch.full(
        (len(p.rho0s), 2, len(p.mechanism_lrs), len(seeds), len(t_points)), math.nan, dtype=torch.float64
    )
    end = torch.full(traj.shape[:-1], math.nan, dtype=torch.float64)
    init = torch.full((len(p.rho0s), len(stress.arms), p.n_seeds), math.nan, dtype=torch.float64)
    ref_end = init.clone()
    # every point whose λ_max is needed, grouped by the objective's λ: one batched Lanczos per λ
    jobs: dict[float, list[tuple[torch.Tensor, torch.Tensor, tuple]]] = {}

    def need(lam, th, target, index):
        jobs.setdefault(lam, []).append((th, target, index))

    for c, (r, a, k, i) in enumerate(combos):
        for j in range(len(t_points)):
            need(p.lam_fix if a == 1 else 0.0, thetas[c, j], traj, (r, a, k, i, j))
    diverged = runs.result.diverged
    for r, rho0 in enumerate(p.rho0s):
        for a, arm in enumerate(arms):
            lam = p.lam_fix if arm == "gauge_fixed" else 0.0
            for k, lr in enumerate(p.mechanism_lrs):
                for i, seed in enumerate(seeds):
                    m = runs.index[arm_key(p, arm, rho0, seed, lr)]
                    if not bool(diverged[m]):
                        need(lam, _flat_params(runs.result, torch.tensor([m]))[0], end, (r, a, k, i))
        for a, arm in enumerate(stress.arms):
            lam = p.lam_fix if arm == "gauge_fixed" else 0.0
            for i, seed in enumerate(p.seeds):
                key = arm_key(p, arm, rho0, seed, p.lr_ref)
                th0 = torch.cat([q.detach().reshape(-1) for q in _initial_model(p, key).parameters()])
                need(lam, th0, init, (r, a, i))
                m = runs.index[key]
                if not bool(diverged[m]):
                    need(lam, _flat_params(runs.result, torch.tensor([m]))[0], ref_end, (r, a, i))
    for lam, items in jobs.items():
        th = torch.stack([t for t, _, _ in items])
        ok = torch.isfinite(th).all(1)
        vals = torch.full((th.shape[0],), math.nan, dtype=torch.float64)
        vals[ok] = sharpness_batch(template, th[ok], data.x_train, data.y_train, lam)
        for v, (_, target, index) in zip(vals.tolist(), items):
            target[index] = v
    return Mechanism(
        rho0s=list(p.rho0s),
        arms=arms,
        lrs=list(p.mechanism_lrs),
        seeds=seeds,
        steps=torch.tensor(t_points),
        sharpness=traj,
        sharpness_end=end,
        all_arms=list(stress.arms),
        sharpness_init=init,
        sharpness_ref_end=ref_end,
        edge_fitted=stress.edges["fitted"],
        edge_stable=stress.edges["stable"],
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
        description = description or f"initial network, seed {p.seeds[0]}, ρ0 = {p.rho0}"
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
    mechanism: Mechanism | None = None
    regimes: object | None = None
    timings: dict[str, float] = field(default_factory=dict)


def reproduce(
    protocol: Protocol = DEFAULT, *, regimes: bool = False, device=None, progress: bool = False
) -> Results:
    """Every experiment of the protocol; with ``regimes`` also the regime map (slow)."""
    p = _check_protocol(protocol)
    timings = {}
    t0 = time.perf_counter()
    configs = lambda_sweep_configs(p) + stress_configs(p) + stability_map_configs(p)
    runs = run_configs(p, configs, device=device, progress=progress, desc="λ sweep + arms + stability map")
    timings["training"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sweep = lambda_sweep(p, runs=runs)
    smap = stability_map(p, runs=runs)
    stress = lr_stress_test(p, runs)
    drift = scale_drift(p, runs)
    timings["analysis"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mech = mechanism(p, runs, stress)
    timings["mechanism"] = time.perf_counter() - t0
    inv = invariance_check(
        p,
        sweep.example_model,
        description=f"trained baseline network (seed {p.seeds[0]}, ρ0 = {p.rho0s[0]}, η = {p.lr_ref:g}, "
        f"{p.steps} GD steps)",
    )
    reg = None
    if regimes:
        from gaugelab.regimes import regime_map

        t0 = time.perf_counter()
        reg = regime_map(p, device=device, progress=progress)
        timings["regimes"] = time.perf_counter() - t0
    return Results(p, sweep, smap, stress, drift, inv, mech, reg, timings)


# ---------------------------------------------------------------------------------------------
# verdicts: every rule of the reproduction, in one place
def verdict_invariance(relative_max: float, tol: float) -> bool:
    """Fig. 5 holds iff the largest relative invariance error is below ``tol``."""
    return bool(relative_max < tol)


def verdict_widening(pair: Paired) -> str:
    """Fig. 4 per setting: "wider" / "same" / "narrower" from the paired edge interval."""
    return DIRECTION_WORDS.get(pair.direction, "no seed")


def verdict_flat(spread: float, changes: list[float], tol: float) -> bool:
    """Fig. 3 holds iff every mean change stays within ``tol`` × the seed ``spread`` at λ = 0."""
    return bool(changes) and all(abs(c) <= tol * spread for c in changes)


def verdict_drift(pair: Paired) -> bool:
    """Drift suppressed iff the paired remaining imbalance at T, gauge-fixed − balanced-init (the arm
    that starts on the slice), lies below 0 with 95 % (bootstrap interval)."""
    return pair.direction == "below"


def verdict_collapse(edge_base: float, edge_strong: float, factor: float = 0.5) -> bool:
    """The strong penalty collapses the range iff its edge is below ``factor`` × the baseline's."""
    return bool(edge_strong < factor * edge_base)


def overall(settings: list[tuple[str, bool]]) -> str:
    """ "holds" (every setting), "does not hold" (none), or "holds only when <settings that hold>"."""
    held = [s for s, ok in settings if ok]
    if settings and len(held) == len(settings):
        return "holds"
    if not held:
        return "does not hold"
    return "holds only when " + "; ".join(held)


def _n(x: float, spec: str = ".3g") -> str:
    """A published number: refuses NaN/inf (a missing number must be said in words, never 'nan')."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"claims: a published number is {x}; say why it is missing instead")
    return format(x, spec)


def _rho(r) -> str:
    return "PyTorch default init (unmoved)" if r is None else f"ρ0 = {r:g}"


def _pair_text(pair: Paired, unit: str = "") -> str:
    if pair.n == 0:
        return "no seed qualifies in both arms"
    return (
        f"paired mean {_n(pair.mean, '+.3g')}{unit} [95 % CI {_n(pair.low, '+.3g')}, "
        f"{_n(pair.high, '+.3g')}], "
        f"{pair.n_above} / {pair.n_equal} / {pair.n_below} of {pair.n} seeds above / equal / below"
    )


def _median(t: torch.Tensor) -> float:
    t = t[torch.isfinite(t)]
    return float(t.median()) if t.numel() else math.nan


def claims(results: Results) -> list[dict]:
    """The paper's claims checked against our numbers, every verdict computed here, once.

    Each entry: claim, setting, criterion, verdict ("holds" / "does not hold" / "holds only when …"
    for the summary rows; "holds" / "does not hold" per setting), holds (bool), evidence (the
    numbers); fig. 4 rows also carry the divergence-only verdict beside the fitted one. A summary
    row (setting "overall") follows each claim's settings.
    """
    p = results.protocol
    st, sw, dr, inv, sm = (
        results.stress_test,
        results.lambda_sweep,
        results.scale_drift,
        results.invariance,
        results.stability_map,
    )
    out: list[dict] = []

    def add(claim, setting, criterion, ok, evidence, where=None, **extra):
        out.append(
            dict(
                claim=claim,
                setting=setting,
                where=where or setting,
                criterion=criterion,
                holds=bool(ok),
                verdict="holds" if ok else "does not hold",
                evidence=evidence,
                **extra,
            )
        )

    def summary(claim, criterion, rows):
        verdict = overall([(r["where"], r["holds"]) for r in rows])
        out.append(
            dict(
                claim=claim,
                setting="overall",
                where="overall",
                criterion=criterion,
                holds=verdict == "holds",
                verdict=verdict,
                evidence="; ".join(f"{r['setting']}: {r['verdict']}" for r in rows),
            )
        )

    # fig. 5
    s, rel = inv.stats(), inv.stats(relative=True)
    c5 = "fig. 5: gauge transformations leave f unchanged to machine precision"
    add(
        c5,
        f"{inv.errors.numel()} rescalings, log α ~ U[{inv.log_alpha[0]:g}, {inv.log_alpha[1]:g}]",
        f"relative Δ_inv max < {p.invariance_tol:g}",
        verdict_invariance(rel["max"], p.invariance_tol),
        f"Δ_inv min {_n(s['min'])}, median {_n(s['median'])}, max {_n(s['max'])} (relative max "
        f"{_n(rel['max'])}); "
        f"paper {inv.paper[0]:.3g} / {inv.paper[1]:.3g} / {inv.paper[2]:.3g}",
    )
    summary(c5, out[-1]["criterion"], out[-1:])

    # fig. 4, both criteria side by side, the headline on the fitted one
    c4 = f"fig. 4: gauge fixing (λ = {p.lam_fix:g}) widens the stable learning-rate range"
    rows = []
    ig, ib = st.arm("gauge_fixed"), st.arm("baseline")
    for r, rho0 in enumerate(st.rho0s):
        pf, ps = st.pairs["fitted"][(r, "gauge_fixed")], st.pairs["stable"][(r, "gauge_fixed")]
        wf, ws = verdict_widening(pf), verdict_widening(ps)
        vb = st.pairs["fitted"].get((r, "vs_balanced"))
        extra_b = (
            f"; gauge-fixed − balanced at t = 0: {_pair_text(vb)} ({verdict_widening(vb)})" if vb else ""
        )
        add(
            c4,
            _rho(rho0),
            f"{CRITERION_TEXT['fitted']}, τ = {st.tau:g}; per-seed edges, gauge-fixed − baseline",
            wf == "wider",
            f"median per-seed edge η = {_n(_median(st.edges['fitted'][r, ib]))} (baseline) vs "
            f"{_n(_median(st.edges['fitted'][r, ig]))} (gauge-fixed), {_pair_text(pf)}: {wf}{extra_b}. "
            f"Divergence only: median edge {_n(_median(st.edges['stable'][r, ib]))} vs "
            f"{_n(_median(st.edges['stable'][r, ig]))}, {_pair_text(ps)}: {ws}",
            divergence_only=dict(
                verdict="holds" if ws == "wider" else "does not hold", direction=ws, pair=ps.as_dict()
            ),
            direction=wf,
        )
        rows.append(out[-1])
    reg = results.regimes
    if reg is not None:
        for cell in reg.cells:
            if cell.is_default:
                continue
            pf = cell.pairs["fitted"]
            add(
                c4,
                f"regime map: {cell.label}",
                f"{CRITERION_TEXT['fitted']}, τ = {st.tau:g}; {len(cell.seeds)} seeds",
                verdict_widening(pf) == "wider",
                f"{_pair_text(pf)}: {verdict_widening(pf)}; divergence only: "
                f"{_pair_text(cell.pairs['stable'])}: {verdict_widening(cell.pairs['stable'])}",
                where=f"{cell.label} (regime map)",
                direction=verdict_widening(pf),
            )
            rows.append(out[-1])
    summary(c4, f"{CRITERION_TEXT['fitted']}, τ = {st.tau:g}", rows)

    # fig. 3
    c3 = "fig. 3: validation error essentially unchanged across λ"
    rows = []
    i0 = sw.lams.index(0.0)
    for r, rho0 in enumerate(sw.rho0s):
        flat = sw.flat[r]
        base, spread = float(sw.interp_mean[r, i0]), float(sw.interp_std[r, i0])
        lams_in = [lam for lam, _ in flat["rows"]]
        changes = [float(sw.interp_mean[r, sw.lams.index(lam)]) - base for lam in lams_in]
        missing = [lam for lam, c in zip(lams_in, changes) if not math.isfinite(c)]
        finite = [(lam, c, pr) for (lam, pr), c in zip(flat["rows"], changes) if math.isfinite(c)]
        ok = not missing and verdict_flat(spread, [c for _, c, _ in finite], p.flat_tol)
        limit = _n(flat["limit"])
        setting = f"{_rho(rho0)}, η = {sw.lr:g}, 0 < λ < {limit} (upper limit 1/(η S), trained λ = 0 nets)"
        if not math.isfinite(base):
            ev = "no seed fitted at λ = 0"
        elif not finite:
            ev = (
                f"no λ of the grid in (0, {_n(flat['limit'])}) has a fitted seed"
                if missing
                else "no λ of the grid lies in that range"
            )
        else:
            lam_w, c_w, pw = max(finite, key=lambda t: abs(t[1]))
            iw = sw.lams.index(lam_w)
            ev = (
                f"interpolation val MSE {_n(base, '.4g')} ± {_n(spread, '.2g')} (seed std; "
                f"{int(sw.n_fitted[r, i0])} fitted "
                f"seeds) at λ = 0; largest change of the mean for 0 < λ < {_n(flat['limit'])}: "
                f"{_n(c_w, '+.3g')} "
                f"({_n(100 * c_w / base, '+.1f')} %) at λ = {lam_w:g}, {_pair_text(pw)}; extrapolation val "
                "MSE "
                f"{_n(float(sw.extrap_mean[r, i0]), '.4g')} → {_n(float(sw.extrap_mean[r, iw]), '.4g')}, "
                "training loss "
                f"{_n(float(sw.loss_mean[r, i0]), '.3g')} → {_n(float(sw.loss_mean[r, iw]), '.3g')}"
            )
            if missing:
                ev += f"; no seed fitted at λ = {', '.join(f'{v:g}' for v in missing)}"
        add(
            c3,
            setting,
            f"{CRITERION_TEXT['fitted']}; mean change within {p.flat_tol:g} seed std of the λ = 0 "
            "interpolation val MSE",
            ok,
            ev,
            where=_rho(rho0),
        )
        rows.append(out[-1])
    summary(c3, rows[0]["criterion"] if rows else "", rows)

    # scale drift
    cd = "scale drift is suppressed by gauge fixing"
    rows = []
    ia, ib, ibal = dr.arms.index("gauge_fixed"), dr.arms.index("baseline"), dr.arms.index("balanced_init")
    for r, rho0 in enumerate(dr.rho0s):
        for k, lr in enumerate(dr.lrs):
            pair = dr.pairs[(r, k, "vs_balanced")]
            ok = verdict_drift(pair)
            if pair.n == 0:
                ev = "no seed is stable in both arms"
            else:

                def med(t, a, r=r, k=k):
                    return _n(_median(t[r, a, k]))

                ev = (
                    f"remaining imbalance mean_j |δ_j(T)| median {med(dr.remaining_end, ia)} (gauge-fixed) "
                    "vs "
                    f"{med(dr.remaining_end, ibal)} (balanced at t = 0, i.e. finite-step drift alone), "
                    f"{_pair_text(pair)}; baseline {med(dr.remaining_end, ib)} (start "
                    f"{med(dr.remaining_start, ib)}); mean_j |tanh(ρ_j/2)| at the end {med(dr.tanh_end, ia)} "
                    f"(gauge-fixed) vs {med(dr.tanh_end, ibal)} (balanced at t = 0) vs "
                    f"{med(dr.tanh_end, ib)} "
                    f"(baseline); late drift |δ_j(T) − δ_j({dr.t_relax})| {med(dr.late_drift, ia)} vs "
                    f"{med(dr.late_drift, ibal)} vs {med(dr.late_drift, ib)}"
                )
            add(
                cd,
                f"{_rho(rho0)}, η = {lr:g}",
                "remaining imbalance at the end below that of GD started on the slice (gl.balance at t = 0), "
                "paired 95 % interval below 0",
                ok,
                ev,
            )
            rows.append(out[-1])
    summary(cd, rows[0]["criterion"] if rows else "", rows)

    # the upper limit on λ (ours, THEORY §4)
    cl = "ours (THEORY §4): a too-strong penalty collapses the stable range"
    rows = []
    lam_strong = max(sm.lams)
    for r, rho0 in enumerate(sm.rho0s):
        e_base = float(seed_edges(sm.fitted[r, sm.lams.index(0.0)], sm.lrs).min())
        e_strong = float(seed_edges(sm.fitted[r, sm.lams.index(lam_strong)], sm.lrs).min())
        add(
            cl,
            f"{_rho(rho0)}, λ = {lam_strong:g}",
            f"{CRITERION_TEXT['fitted']}; all-seed edge below half the baseline's",
            verdict_collapse(e_base, e_strong),
            f"every seed fitted up to η = {_n(e_base)} (λ = 0) vs {_n(e_strong)} (λ = {lam_strong:g}) on "
            "the map's grid",
        )
        rows.append(out[-1])
    summary(cl, rows[0]["criterion"] if rows else "", rows)
    return out


# ---------------------------------------------------------------------------------------------
def _fmt(x: float, spec: str = ".4g") -> str:
    return "—" if not math.isfinite(x) else format(x, spec)


def table2(results: Results) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """(header, rows) of the results table (one row per start and arm) and of the invariance table."""
    p, st, dr, inv = results.protocol, results.stress_test, results.scale_drift, results.invariance
    header = [
        "start",
        "arm",
        f"per-seed edge, fitted (τ = {st.tau:g}): median [min, max]",
        "paired vs baseline, fitted",
        "per-seed edge, divergence only: median [min, max]",
        "paired vs baseline, divergence only",
        f"train loss at η = {p.lr_ref:g}",
        "val MSE, interpolation",
        "val MSE, extrapolation",
        f"late drift at η = {', '.join(f'{v:g}' for v in dr.lrs)}",
        "mean|tanh(ρ/2)| end",
    ]
    rows = []
    for r, rho0 in enumerate(st.rho0s):
        for a, arm in enumerate(st.arms):
            ok = st.fitted[r, a, 0]
            ml, sl, nl = seed_stats(st.final_loss[r, a, 0], ok)
            mi, si, _ = seed_stats(st.val_interp[r, a, 0], ok)
            me, se, _ = seed_stats(st.val_extrap[r, a, 0], ok)

            def edge(c, r=r, a=a):
                e = st.edges[c][r, a]
                lo, hi = _fmt(float(e.min()), "g"), _fmt(float(e.max()), "g")
                return f"{_fmt(float(e.median()), 'g')} [{lo}, {hi}]"

            def pair(c, r=r, arm=arm):
                if arm == "baseline":
                    return "—"
                pr = st.pairs[c][(r, arm)]
                return (
                    f"{_fmt(pr.mean, '+.3g')} [{_fmt(pr.low, '+.3g')}, {_fmt(pr.high, '+.3g')}] "
                    f"{pr.n_above}/{pr.n_equal}/{pr.n_below} ({verdict_widening(pr)})"
                )

            ad = dr.arms.index(arm)
            late = ", ".join(_fmt(_median(dr.late_drift[r, ad, k]), ".3g") for k in range(len(dr.lrs)))
            rows.append(
                [
                    _rho(rho0),
                    st.labels[a],
                    edge("fitted"),
                    pair("fitted"),
                    edge("stable"),
                    pair("stable"),
                    f"{_fmt(float(ml), '.3g')} ± {_fmt(float(sl), '.2g')} (n = {int(nl)})",
                    f"{_fmt(float(mi), '.4g')} ± {_fmt(float(si), '.2g')}",
                    f"{_fmt(float(me), '.4g')} ± {_fmt(float(se), '.2g')}",
                    late,
                    _fmt(_median(dr.tanh_end[r, ad, 0]), ".3g"),
                ]
            )
    s, srel = inv.stats(), inv.stats(relative=True)
    inv_header = ["Δ_inv over random rescalings", "min", "median", "max"]
    inv_rows = [
        ["ours, absolute"] + [f"{s[k]:.3g}" for k in ("min", "median", "max")],
        ["ours, relative to mean |f|"] + [f"{srel[k]:.3g}" for k in ("min", "median", "max")],
        ["paper (fig. 5)"] + [f"{v:.3g}" for v in inv.paper],
    ]
    return header, rows, inv_header, inv_rows


def claims_table(claim_rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the verdict table: claim, setting, verdict, evidence, criterion."""
    header = ["claim", "setting", "verdict", "evidence", "criterion"]
    return header, [
        [c["claim"], c["setting"], c["verdict"], c["evidence"], c["criterion"]] for c in claim_rows
    ]


# ---------------------------------------------------------------------------------------------
def _jsonable(v):
    if isinstance(v, torch.Tensor):
        v = v.tolist()
    if isinstance(v, Paired):
        return _jsonable(v.as_dict())
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {
            (
                k if isinstance(k, str) else "|".join(str(x) for x in (k if isinstance(k, tuple) else (k,)))
            ): _jsonable(x)
            for k, x in v.items()
        }
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {
            f.name: _jsonable(getattr(v, f.name))
            for f in dataclasses.fields(v)
            if not isinstance(getattr(v, f.name), nn.Module)
        }
    return v


def results_dict(results: Results) -> dict:
    """Every number of ``results`` as JSON-ready Python (NaN → None; axes named in ``axes``)."""
    out = {"protocol": _jsonable(results.protocol.as_dict())}
    for name in ("lambda_sweep", "stability_map", "stress_test", "scale_drift", "mechanism"):
        obj = getattr(results, name)
        if obj is not None:
            out[name] = _jsonable(obj)
    out["stability_map"]["fraction_stable"] = _jsonable(results.stability_map.fraction_stable())
    out["stability_map"]["fraction_fitted"] = _jsonable(results.stability_map.fraction_fitted())
    out["stability_map"]["lam_limit_init"] = _jsonable(results.stability_map.lam_limit(which="init"))
    out["stability_map"]["lam_limit_trained"] = _jsonable(results.stability_map.lam_limit(which="trained"))
    if results.regimes is not None:
        out["regimes"] = _jsonable(results.regimes)
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
        "stability_map": "rho0s x lams x lrs x seeds",
        "stress_test": "rho0s x arms x lrs x seeds; edges rho0s x arms x seeds; pairs keyed 'r|arm'",
        "scale_drift": "rho0s x arms x lrs (x seeds | x record steps); pairs keyed 'r|k|arm'",
        "mechanism": "rho0s x arms x lrs x seeds x steps",
    }
    out["claims"] = claims(results)
    out["timings_seconds"] = _jsonable(results.timings)
    return out
