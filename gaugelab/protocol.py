"""The reproduction protocol: every constant of GaugeLab's version of the paper's experiments.

The source paper (R. Carmo Terin 2026, arXiv:2602.14729) gives only figure captions: its target
function, sizes, initialisation, optimizer, step counts, grids and even the normalisation of λ are
not known to us. The values below are **ours**, each with the reason it was chosen
(:data:`RATIONALE`); none was tuned to make a claim of the paper come out. ``DEFAULT`` is what
``python -m gaugelab reproduce`` runs; :func:`quick` is a small variant for CI and notebooks.

Definitions used by :mod:`gaugelab.experiments`:
- Divergence (identical to :func:`gaugelab.train`): at step t the full-batch training loss L(θ_t)
  is not finite, the parameters are not finite, or L(θ_t) > ``divergence_factor`` ×
  max(L(θ_0), L_0, 1e-12) with L_0 = (1/2N) Σ‖y_n‖²; a run is *stable* if it never diverges
  within ``steps`` steps.
- Fitted and stable (the success criterion of every headline; written down before any verdict was
  computed with it): a run is *fitted* when it is stable and its final training loss satisfies
  L_final ≤ L_best + ``fit_tau`` · (L_const − L_best), with L_const = (1/2N) Σ_n (y_n − ȳ)² the
  half MSE of the best constant predictor and L_best the smallest final loss of the same arm (same
  setting, every seed) at the smallest η of the grid. Why this form: it is scale-free (a fraction
  of the gap between "learnt nothing" and "the best this arm does"), it does not need the noise
  floor, and it compares every arm with itself, so an arm whose best fit is worse (weight decay)
  is not failed for that. Why ``fit_tau`` = 0.1: a fitted run must have closed at least 90 % of
  that gap, one decade; a run at the constant predictor's loss (τ = 1) has learnt nothing, and the
  verdicts are also reported against τ from 0.01 to 1 (``fit_tau_grid``) so that no conclusion
  rests on this one value.
- Collapse: a stable run has *collapsed* when its function is nearly constant on the training
  inputs, Var_n f(x_n) ≤ ``constant_tol`` · Var_n y_n, or every hidden neuron is dead (u_j·x̃_n ≤ 0
  for every training input, or a_j = 0); the dead-neuron count of every run is reported.
- Edge of an arm, per seed: the largest η of ``lr_grid`` such that the seed is fitted (or, under
  the divergence-only criterion, stable) at that η and at every smaller η of the grid.
  The all-seed stable range of the earlier reports is the minimum of these over seeds.
- Paired statistics: for each seed, edge(arm) − edge(baseline) (same initialisation, same data);
  their mean with a percentile bootstrap 95 % interval (``n_boot`` resamples of the seeds) and the
  counts wider / equal / narrower. A difference is called wider (narrower) when the whole interval
  lies above (below) 0, else "same".
- Arms (``arms``): baseline GD (λ = 0); gauge-fixed GD (λ = ``lam_fix``, and the λ sweep);
  balanced-init GD (λ = 0 from ``gl.balance`` of the same initial network: δ = 0, same function);
  weight decay (λ = 0, μ = ``weight_decay``, torch.optim.SGD's semantics).
- Scale drift, three measures, each named for what it is: the *remaining imbalance*
  mean_j |δ_j(t)|; the *drift* mean_j |δ_j(t) − δ_j(0)|; the scale-free mean_j |tanh(ρ_j/2)|
  (= mean_j |‖u_j‖ − ‖a_j‖| / (‖u_j‖ + ‖a_j‖), in [0, 1)). The verdict on "suppresses scale drift"
  compares the remaining imbalance at the end, per seed, with that of the arm that starts on the
  slice (GD after ``gl.balance``): that arm has nothing to relax, so what it has at T is what
  finite steps added (THEORY §3's O(η²) term); the penalty arm has less only if the penalty also
  holds off that drift, not merely removes the start — against the baseline, the remaining
  imbalance mostly measures how much of the start was removed, which one ``gl.balance`` at t = 0
  also does, and the drift from start mostly measures the relaxation itself. The *late drift*
  mean_j |δ_j(T) − δ_j(t_r)|, t_r = ``relax_fraction`` · T, is reported beside it.
- The balanced-init arm at any start is, up to rounding, the protocol's ρ0 = 0 network: that one is
  built as ``gl.balance`` of the same PyTorch initialisation (a test checks they agree to 1e-12),
  so the arm reuses its runs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from gaugelab.data import TARGETS, Dataset, toy_regression
from gaugelab.nets import two_layer

DRIFT_METRICS = ("mean_abs_delta", "drift_from_start")
#: The arms every stress test compares (see the module docstring).
ARMS = ("baseline", "gauge_fixed", "balanced_init", "weight_decay")
OPTIMIZERS = ("gd", "momentum", "sgd")

#: The paper's invariance statistics (fig. 5 caption): min, median, max of Δ_inv over 200 rescalings.
PAPER_INVARIANCE = (3.99e-18, 6.68e-18, 1.14e-17)

#: Why each value of :data:`DEFAULT` is what it is (table 1 prints these beside the values).
RATIONALE = {
    "target": "smooth, non-monotone 1-D target f*(x) = sin 2x; the paper's target is not stated",
    "n_train": "64 noisy samples on [-2, 2]: a small full-batch problem, as in the paper's toy setup",
    "noise": "σ = 0.1 Gaussian label noise: visible in fig. 2, small beside the target's range",
    "n_val": "201-point noiseless grid on [-3, 3] (the caption's range; it includes extrapolation)",
    "data_seed": "one fixed data set; seeds vary the network initialisation only",
    "width": "32 hidden ReLU units: enough to fit sin 2x, small enough for thousands of runs",
    "init": "PyTorch's default nn.Linear initialisation (seeded), then moved along the orbit to ρ0",
    "rho0": "every neuron starts at ρ_j = 2 (‖u_j‖/‖a_j‖ = e²), about the mean ρ of PyTorch's "
    "default init (≈ 2.3 at width 32)",
    "rho0_contrast": "the balanced start ρ_j = 0 (same functions as the ρ0 start): the regime where "
    "the penalty has nothing to remove at t = 0",
    "steps": "1000 steps: the budget is for fitting, not for detecting divergence (in a pilot over "
    "η = 0.05..2.5 every divergence came before step 100); at η = 0.1 the loss still falls from "
    "0.0052 at step 500 to 0.0037 at step 1000",
    "record_every": "drift and loss curves recorded every 20 steps",
    "lr_ref": "η = 0.1 for the λ sweep: stable for every seed at every λ below the upper limit",
    "lam_fix": "λ = 0.2 in OUR normalisation R = (λ/4) Σ δ²; the paper's normalisation is unknown",
    "lam_grid": "λ sweep from 0 through and past the upper limit 1/(η max(‖u‖² + ‖a‖²)) ≈ 6–30 at η = 0.1",
    "lr_grid": "η from 0.1 (= lr_ref, the smallest η: it defines L_best) to 2.5; step 0.05 up to 0.7 "
    "(a pilot on a 0.05 grid over 0.05-2.5 found every fitted edge in 0.3-0.7), 0.1 up to 1 and 0.2 up "
    "to 2 where the divergence-only edges lie (0.75-2 in the pilot)",
    "map_lr_grid": "η of the (η, λ) stability map: coarse, it shows the upper limit on λ, not edges",
    "map_lam_grid": "λ of the (η, λ) stability map: 0, lam_fix, and two values near/past the upper limit",
    "drift_lrs": "η at which scale drift is shown: a small step and one near the baseline's edge",
    "n_seeds": "10 initialisation seeds per configuration: paired per-seed statistics with a bootstrap "
    "interval",
    "arms": "baseline GD, GD + penalty, GD after gl.balance at t = 0 (the hard gauge fix: the obvious "
    "rival of a penalty whose main effect under GD is to remove the initial imbalance), weight decay",
    "weight_decay": "μ = 0.01: the largest of μ in {0.001, 0.003, 0.01, 0.03, 0.08} whose η = 0.1 fit "
    "would pass the baseline's fitted threshold (pilot, 3 seeds: final loss 0.015 vs 0.027); μ = 0.08, "
    "which balances as fast as the penalty at ρ0 = 2 (λ · median(‖u‖² + ‖a‖²)), ends at 0.19, near "
    "the constant predictor's 0.238: it does not fit",
    "relax_fraction": "late drift, reported beside the verdict: the change of δ over the second half of "
    "training (not the verdict's measure: where the penalty's relaxation is slow it is still relaxing then)",
    "flat_tol": "fig. 3 'essentially unchanged': the mean change of the interpolation val MSE stays "
    "within 1 seed std of its λ = 0 value (a smaller change cannot be told from the choice of seed)",
    "invariance_tol": "fig. 5 'machine precision': relative error below 1e-14, about 50 float64 ulps",
    "ci": "95 % percentile bootstrap intervals of every paired mean",
    "seed_offset": "seeds are seed_offset, ..., seed_offset + n_seeds − 1 (0: the first ones, never picked)",
    "activation": "ReLU, positively homogeneous of degree 1 (THEORY §1)",
    "init_scale": "PyTorch's default scale, unchanged",
    "train_range": "training inputs on [-2, 2] (the caption's range)",
    "val_range": "validation on [-3, 3]: interpolation on [-2, 2] and extrapolation outside, reported apart",
    "n_boot": "10 000 bootstrap resamples of the seeds for every 95 % interval (fixed generator seed)",
    "mechanism_lrs": "η of the sharpness trajectories: lr_ref, one inside and one past the fitted edges",
    "mechanism_steps": "λ_max(t) at every step up to 10 (a pilot saw the catapult drop of λ_max within "
    "steps 2-5), then every 5th up to 60, and at the end",
    "mechanism_seeds": "2 seeds for the λ_max trajectories (a batched Lanczos per point); the start and "
    "the η = lr_ref end point are measured for every seed",
    "regime_rho0s": "regime map, initial imbalance: every ρ_j = ρ0, and PyTorch's default init unmoved "
    "(None; its ρ_j spread around ≈ 2.5 at width 32)",
    "regime_widths": "regime map, width: half, default, four times",
    "regime_targets": "regime map, target: sin 2x and two more shapes, |x| − 1 (a kink) and x³/4 − x",
    "regime_optimizers": "regime map, optimizer: full-batch GD, heavy-ball momentum, minibatch SGD",
    "regime_seeds": "5 seeds per regime cell (one factor at a time: the cells are not a full product)",
    "optimizer": "full-batch gradient descent, so that stability is a property of η alone",
    "momentum": "heavy ball β = 0.9 (the momentum cell); its η grid is lr_grid × (1 + β): heavy ball "
    "is linearly stable for η λ_max < 2(1 + β), GD for η λ_max < 2",
    "batch_size": "minibatch SGD cell: 16 of the 64 samples per step, drawn by gl.train's rule",
    "divergence_factor": "the rule of gaugelab.train: loss > 1e4 × max(L(θ_0), L_0), or non-finite",
    "drift_metric": "mean_j |δ_j(t)|: the size of the imbalance, which GD changes at O(η²) per step",
    "fit_tau": "a fitted run closes >= 90 % of the gap between the constant predictor and its arm's best "
    "small-η fit (one decade); chosen before any verdict was computed, verdicts shown for every τ of "
    "fit_tau_grid",
    "fit_tau_grid": "thresholds of the sensitivity plot: from strict (0.01) to 'better than a constant' (1)",
    "constant_tol": "collapse: f varies over the training inputs by at most 1 % of the targets' variance",
    "invariance_samples": "200 random neuron-wise rescalings, as in the paper's fig. 5",
    "invariance_log_alpha": "log α_j ~ U[-2, 2] independently per neuron (the paper's law is unknown)",
}


@dataclass(frozen=True)
class Protocol:
    """Every constant of the reproduction, in one place (see :data:`RATIONALE` for the reasons)."""

    name: str = "default"
    # data (fig. 2)
    target: str = "sin"
    n_train: int = 64
    noise: float = 0.1
    n_val: int = 201
    train_range: tuple[float, float] = (-2.0, 2.0)
    val_range: tuple[float, float] = (-3.0, 3.0)
    data_seed: int = 0
    # model
    width: int = 32
    activation: str = "relu"
    init: str = "pytorch-default"
    init_scale: float = 1.0
    rho0: float | None = 2.0
    rho0_contrast: float | None = 0.0
    # optimisation
    optimizer: str = "gd"
    steps: int = 1000
    record_every: int = 20
    divergence_factor: float = 1e4
    # grids
    lr_ref: float = 0.1
    lam_fix: float = 0.2
    lam_grid: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
    lr_grid: tuple[float, ...] = (
        *(round(0.05 * k, 2) for k in range(2, 15)),
        0.8,
        0.9,
        1.0,
        1.2,
        1.4,
        1.6,
        1.8,
        2.0,
        2.5,
    )
    map_lr_grid: tuple[float, ...] = (0.1, 0.2, 0.4, 0.7, 1.0, 1.4, 2.0)
    map_lam_grid: tuple[float, ...] = (0.0, 0.2, 1.0, 5.0)
    drift_lrs: tuple[float, ...] = (0.1, 0.7)
    n_seeds: int = 10
    seed_offset: int = 0
    drift_metric: str = "mean_abs_delta"
    # success criterion (see the module docstring)
    fit_tau: float = 0.1
    fit_tau_grid: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
    constant_tol: float = 0.01
    # arms and verdict rules
    arms: tuple[str, ...] = ARMS
    weight_decay: float = 0.01
    relax_fraction: float = 0.5
    flat_tol: float = 1.0
    invariance_tol: float = 1e-14
    n_boot: int = 10_000
    ci: float = 0.95
    # the mechanism (sharpness along the run)
    mechanism_lrs: tuple[float, ...] = (0.1, 0.3, 0.6)
    mechanism_steps: int = 60
    mechanism_seeds: int = 2
    # optimizers other than full-batch GD (the regime map's optimizer cells)
    momentum: float = 0.9
    batch_size: int = 16
    # the regime map: one factor at a time around this protocol
    regime_rho0s: tuple = (-2.0, 0.0, 1.0, 2.0, 3.0, None)
    regime_widths: tuple[int, ...] = (16, 32, 128)
    regime_targets: tuple[str, ...] = ("sin", "abs", "cubic")
    regime_optimizers: tuple[str, ...] = OPTIMIZERS
    regime_seeds: int = 5
    # invariance (fig. 5)
    invariance_samples: int = 200
    invariance_log_alpha: tuple[float, float] = (-2.0, 2.0)

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ValueError(f"target: expected one of {sorted(TARGETS)}, got {self.target!r}")
        for name in ("n_train", "n_val", "width", "record_every", "n_seeds", "invariance_samples"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps: expected a positive integer, got {self.steps!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.init != "pytorch-default":
            raise ValueError(f"init: expected 'pytorch-default', got {self.init!r}")
        if self.drift_metric not in DRIFT_METRICS:
            raise ValueError(f"drift_metric: expected one of {DRIFT_METRICS}, got {self.drift_metric!r}")
        for name in ("noise",):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name}: expected a non-negative finite number, got {getattr(self, name)}")
        for name in ("lr_ref", "lam_fix", "init_scale", "divergence_factor"):
            v = getattr(self, name)
            if not (math.isfinite(v) and (v > 0 or (name == "lam_fix" and v >= 0))):
                raise ValueError(f"{name}: expected a positive finite number, got {v}")
        for name in ("lam_grid", "lr_grid", "map_lam_grid", "drift_lrs"):
            g = getattr(self, name)
            if not g or any(not math.isfinite(v) or v < 0 for v in g) or list(g) != sorted(set(g)):
                raise ValueError(f"{name}: expected increasing non-negative finite numbers, got {g}")
        if min(self.lr_grid) <= 0:
            raise ValueError(f"lr_grid: expected step sizes > 0, got {self.lr_grid}")
        if 0.0 not in self.lam_grid or 0.0 not in self.map_lam_grid:
            raise ValueError("lam_grid, map_lam_grid: expected both to include λ = 0 (the baseline)")
        if self.lam_fix not in self.map_lam_grid:
            raise ValueError(
                f"lam_fix: expected a value of map_lam_grid {self.map_lam_grid}, got {self.lam_fix}"
            )
        if not set(self.drift_lrs) <= set(self.lr_grid):
            raise ValueError(f"drift_lrs: expected values of lr_grid, got {self.drift_lrs}")
        if not all(
            r is None or math.isfinite(r) for r in (self.rho0, self.rho0_contrast, *self.regime_rho0s)
        ):
            raise ValueError(
                "rho0, rho0_contrast, regime_rho0s: expected finite numbers or None (unmoved init)"
            )
        for name in ("fit_tau", "constant_tol", "relax_fraction", "ci"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 < v <= 1):
                raise ValueError(f"{name}: expected a number in (0, 1], got {v!r}")
        for name in ("weight_decay", "flat_tol", "invariance_tol", "batch_size", "momentum"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name}: expected a non-negative finite number, got {v!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum: expected a number in [0, 1), got {self.momentum}")
        for name in ("n_boot", "mechanism_steps", "mechanism_seeds", "regime_seeds", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        for name in ("fit_tau_grid", "map_lr_grid", "mechanism_lrs"):
            g = getattr(self, name)
            if not g or any(not math.isfinite(v) or v <= 0 for v in g) or list(g) != sorted(set(g)):
                raise ValueError(f"{name}: expected increasing positive finite numbers, got {g}")
        if not set(self.mechanism_lrs) <= set(self.lr_grid):
            raise ValueError(f"mechanism_lrs: expected values of lr_grid, got {self.mechanism_lrs}")
        if self.lr_ref != min(self.lr_grid):
            raise ValueError(
                f"lr_ref: expected the smallest η of lr_grid ({min(self.lr_grid)}), got {self.lr_ref}"
            )
        bad_arms = [a for a in self.arms if a not in ARMS]
        if not self.arms or self.arms[0] != "baseline" or bad_arms or len(set(self.arms)) < len(self.arms):
            raise ValueError(
                f"arms: expected 'baseline' first, then distinct names from {ARMS}, got {self.arms}"
            )
        if any(t not in TARGETS for t in self.regime_targets):
            raise ValueError(
                f"regime_targets: expected names from {sorted(TARGETS)}, got {self.regime_targets}"
            )
        if any(o not in OPTIMIZERS for o in self.regime_optimizers):
            raise ValueError(
                f"regime_optimizers: expected names from {OPTIMIZERS}, got {self.regime_optimizers}"
            )
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.regime_widths):
            raise ValueError(f"regime_widths: expected positive integers, got {self.regime_widths}")

    # -- derived quantities ------------------------------------------------------------------
    @property
    def seeds(self) -> list[int]:
        """The initialisation seeds: seed_offset, ..., seed_offset + n_seeds − 1."""
        return list(range(self.seed_offset, self.seed_offset + self.n_seeds))

    @property
    def rho0s(self) -> tuple[float, float]:
        """(rho0, rho0_contrast): the two initial-imbalance settings every experiment runs."""
        return (self.rho0, self.rho0_contrast)

    def dataset(self) -> Dataset:
        """The toy regression of fig. 2 with this protocol's constants."""
        return toy_regression(
            n_train=self.n_train,
            noise=self.noise,
            target=self.target,
            n_val=self.n_val,
            train_range=self.train_range,
            val_range=self.val_range,
            seed=self.data_seed,
        )

    def model(self, seed: int, rho0: float | None | str = "protocol") -> nn.Sequential:
        """The initial network for ``seed``: ``gl.two_layer(1, width, seed=seed, rho0=rho0)``.

        ``rho0``: the protocol's ``rho0`` by default; a number moves every neuron to ρ_j = rho0 along
        its orbit; None keeps PyTorch's default initialisation unmoved.
        """
        rho0 = self.rho0 if isinstance(rho0, str) and rho0 == "protocol" else rho0
        return two_layer(
            1, self.width, 1, activation=self.activation, seed=seed, rho0=rho0, init_scale=self.init_scale
        )

    def target_function(self, x: torch.Tensor) -> torch.Tensor:
        """The noiseless target f*(x)."""
        return TARGETS[self.target](x)

    def lr_grid_for(self, optimizer: str | None = None) -> tuple[float, ...]:
        """The η grid of ``optimizer`` (default: this protocol's): lr_grid, × (1 + β) for momentum."""
        optimizer = self.optimizer if optimizer is None else optimizer
        if optimizer == "momentum":
            return tuple(round(lr * (1 + self.momentum), 6) for lr in self.lr_grid)
        return self.lr_grid

    def regime_cells(self) -> list[tuple[str, object, Protocol]]:
        """The regime map's cells: (factor, value, protocol), one factor at a time around this protocol.

        Factors: "ρ0" over regime_rho0s, "width", "target", "optimizer"; every other constant as here,
        ``regime_seeds`` seeds. The default cell appears under every factor (it is run once).
        """
        base = dataclasses.replace(self, n_seeds=self.regime_seeds)
        cells: list[tuple[str, object, Protocol]] = []
        for r in self.regime_rho0s:
            cells.append(("ρ0", r, dataclasses.replace(base, name=f"ρ0={r}", rho0=r, rho0_contrast=r)))
        for w in self.regime_widths:
            cells.append(("width", w, dataclasses.replace(base, name=f"width={w}", width=w)))
        for t in self.regime_targets:
            cells.append(("target", t, dataclasses.replace(base, name=f"target={t}", target=t)))
        for o in self.regime_optimizers:
            cells.append(("optimizer", o, dataclasses.replace(base, name=f"optimizer={o}", optimizer=o)))
        return cells

    def with_seeds(self, n_seeds: int) -> Protocol:
        """The same protocol with ``n_seeds`` seeds."""
        return dataclasses.replace(self, n_seeds=n_seeds)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def table(self) -> list[tuple[str, str, str]]:
        """Table 1: (field, value, why) for every constant."""
        rows = []
        for f in dataclasses.fields(self):
            if f.name == "name":
                continue
            why = RATIONALE.get(f.name, "")
            rows.append((f.name, _fmt(getattr(self, f.name)), why))
        return rows


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


DEFAULT = Protocol()


def quick() -> Protocol:
    """A small version of :data:`DEFAULT` for CI and notebooks (seconds): 3 seeds, 300 steps, coarse grids.

    Its numbers are a smoke test, not results: 300 steps fit less than 1000 (the fitted criterion is
    relative to the arm's own best fit, so it still applies), and 3 seeds give wide intervals.
    """
    return dataclasses.replace(
        DEFAULT,
        name="quick",
        steps=300,
        record_every=20,
        n_seeds=3,
        lam_grid=(0.0, 0.05, 0.2, 1.0, 5.0, 20.0),
        lr_grid=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.3, 1.6, 2.0),
        map_lr_grid=(0.1, 0.4, 1.0, 2.0),
        map_lam_grid=(0.0, 0.2, 1.0, 5.0),
        drift_lrs=(0.1, 0.7),
        mechanism_steps=30,
        mechanism_seeds=2,
        invariance_samples=200,
    )


QUICK = quick()
