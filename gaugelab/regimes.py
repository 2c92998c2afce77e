"""The regime map: fig. 4's claim re-tested one factor at a time around the protocol.

Factors (:meth:`gaugelab.protocol.Protocol.regime_cells`): the initial imbalance ρ0 (every ρ_j =
ρ0, and PyTorch's default initialisation unmoved), the width, the target, and the optimizer
(full-batch GD, heavy-ball momentum, minibatch SGD); every other constant as in the protocol,
``regime_seeds`` seeds per cell. In each cell the baseline (λ = 0) and the gauge-fixed arm (λ =
lam_fix) are trained over the cell's η grid; each seed's edge is the largest η up to which that
seed is fitted and stable (and, side by side, stable only); the cell's verdict is the direction of
the paired difference gauge-fixed − baseline: "wider" / "narrower" when its bootstrap 95 %
interval lies above / below 0, else "same" (:class:`gaugelab.experiments.Paired`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import torch

from gaugelab.experiments import (
    CRITERIA,
    Paired,
    _check_protocol,
    lr_stress_test,
    run_configs,
    stress_configs,
    verdict_widening,
)
from gaugelab.protocol import Protocol

ARMS = ["baseline", "gauge_fixed"]


@dataclass
class RegimeCell:
    """One cell: factor (e.g. "width"), value, label; edges[criterion]: (2, n_seed) per-seed edges
    of (baseline, gauge-fixed); pairs[criterion]: :class:`Paired` gauge-fixed − baseline;
    verdict[criterion]: "wider" / "same" / "narrower"; l_best: (2,) each arm's best loss at the
    smallest η; l_const: the constant predictor's loss; is_default: the protocol's own setting."""

    factor: str
    value: object
    label: str
    is_default: bool
    seeds: list[int]
    lrs: list[float]
    l_const: float
    l_best: torch.Tensor
    edges: dict[str, torch.Tensor]
    pairs: dict[str, Paired]
    verdict: dict[str, str]


@dataclass
class RegimeMap:
    cells: list[RegimeCell]
    tau: float
    factors: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    def cell(self, factor: str, value) -> RegimeCell:
        for c in self.cells:
            if c.factor == factor and c.value == value:
                return c
        raise ValueError(f"factor, value: no regime cell ({factor!r}, {value!r})")


def _label(factor: str, value) -> str:
    if factor == "ρ0":
        return "PyTorch default init (unmoved)" if value is None else f"ρ0 = {value:g}"
    return f"{factor} = {value}"


def _cells_from(p: Protocol, runs, rho0s, cells_meta) -> list[RegimeCell]:
    st = lr_stress_test(p, runs, rho0s=rho0s, arms=ARMS)
    out = []
    for (factor, value, is_default), r in cells_meta:
        edges = {c: st.edges[c][r] for c in CRITERIA}
        pairs = {c: st.pairs[c][(r, "gauge_fixed")] for c in CRITERIA}
        out.append(
            RegimeCell(
                factor=factor,
                value=value,
                label=_label(factor, value),
                is_default=is_default,
                seeds=list(st.seeds),
                lrs=list(st.lrs),
                l_const=st.l_const,
                l_best=st.l_best[r],
                edges=edges,
                pairs=pairs,
                verdict={c: verdict_widening(pairs[c]) for c in CRITERIA},
            )
        )
    return out


def regime_map(protocol: Protocol, *, device=None, progress: bool = False) -> RegimeMap:
    """Every cell of ``protocol.regime_cells()``, the protocol's own setting run once."""
    p = _check_protocol(protocol)
    base = dataclasses.replace(p, n_seeds=p.regime_seeds)
    timings: dict[str, float] = {}
    cells: list[RegimeCell] = []
    default_value = {"ρ0": p.rho0, "width": p.width, "target": p.target, "optimizer": p.optimizer}
    # the ρ0 factor: one architecture and data set, one batched program
    t0 = time.perf_counter()
    rho0s = list(p.regime_rho0s)
    runs = run_configs(
        base, stress_configs(base, rho0s, ARMS), device=device, progress=progress, desc="regimes: ρ0"
    )
    meta = [(("ρ0", r, r == p.rho0), i) for i, r in enumerate(rho0s)]
    cells += _cells_from(base, runs, rho0s, meta)
    timings["ρ0"] = time.perf_counter() - t0
    default_cell = next((c for c in cells if c.is_default), None)
    for factor, values, field_name in (
        ("width", p.regime_widths, "width"),
        ("target", p.regime_targets, "target"),
        ("optimizer", p.regime_optimizers, "optimizer"),
    ):
        t0 = time.perf_counter()
        for value in values:
            if value == default_value[factor] and default_cell is not None:
                cells.append(
                    dataclasses.replace(default_cell, factor=factor, value=value, label=_label(factor, value))
                )
                continue
            cp = dataclasses.replace(base, name=f"{factor}={value}", **{field_name: value})
            runs = run_configs(
                cp,
                stress_configs(cp, [p.rho0], ARMS),
                device=device,
                progress=progress,
                desc=f"regimes: {factor} = {value}",
            )
            cells += _cells_from(cp, runs, [p.rho0], [((factor, value, False), 0)])
        timings[factor] = time.perf_counter() - t0
    return RegimeMap(
        cells=cells, tau=p.fit_tau, factors=["ρ0", "width", "target", "optimizer"], timings=timings
    )
