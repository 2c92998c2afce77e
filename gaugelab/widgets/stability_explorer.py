"""Stability explorer (notebook 07): step η, penalty λ, initial imbalance ρ0 → baseline vs gauge-fixed GD.

For one (η, λ, ρ0) the app shows two full-batch GD runs of the protocol's network from the same
initialisation (seed), both minimising the half MSE L on the protocol's toy regression:

- baseline: L alone (λ = 0);
- gauge-fixed: L + R_λ with R_λ = (λ/4) Σ_j δ_j² (THEORY §4).

Each arm is reported *stable* or *diverged at step t* by the rule of :func:`gaugelab.train`
(full-batch loss not finite, or > ``divergence_factor`` × max(L(θ_0), L_0)); its loss curve L(θ_t)
and imbalance curve mean_j |δ_j(t)| stop at its last finite parameters, one step before the divergence
was detected (nothing is drawn as NaN).
A strip below shows, for the chosen λ and ρ0, which η of the grid each arm survives, and the readout
compares λ with the upper limit 1/(η S), S = max_j(‖u_j‖² + ‖a_j‖²) at initialisation
(:func:`gaugelab.lambda_upper_limit`).

A fresh training per slider move would cost seconds, so every (ρ0, λ, η) of the slider grid is
trained once, when the app is built, as one batched program
(:func:`gaugelab.experiments.run_configs`, i.e. :func:`gaugelab.ensemble.ensemble_train`, identical
per member to ``gl.train(..., optimizer="gd")``); a slider move only indexes into those runs. Pass
``runs`` to reuse runs that already contain the grid (the notebook trains its experiments and this
grid in one call).
"""

from __future__ import annotations

import base64
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from gaugelab import theme
from gaugelab.display import mimebundle, static_png
from gaugelab.experiments import Runs, run_configs, runs_fit_threshold, stable_range
from gaugelab.penalty import lambda_upper_limit
from gaugelab.plots import ARM_COLORS
from gaugelab.protocol import DEFAULT, Protocol
from gaugelab.widgets import front
from gaugelab.widgets.lookup import LookupFigure, LookupViewMixin

#: The app's own protocol when no ``runs`` are given: the default one, 300 GD steps, recorded every 5.
EXPLORER_PROTOCOL = dataclasses.replace(DEFAULT, name="explorer", steps=300, record_every=5, n_seeds=1)
#: Penalty strengths of the λ slider (the gauge-fixed arm); the baseline is always λ = 0.
EXPLORER_LAMS = (0.05, 0.2, 1.0, 5.0)
#: Initial imbalances of the ρ0 slider (every neuron starts at ρ_j = ρ0; 0 is the balanced start).
EXPLORER_RHO0S = (0.0, 1.0, 2.0, 3.0)
#: mean_j |δ_j| below this is drawn at this value on the log axis (the balanced start has δ ≈ 0).
DELTA_FLOOR = 1e-12


def _grid(values, name: str, *, positive: bool) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a sequence of numbers, got {values!r}") from None
    ok = all(math.isfinite(v) and (v > 0 if positive else True) for v in out)
    if not out or not ok or list(out) != sorted(set(out)):
        kind = "positive " if positive else ""
        raise ValueError(f"{name}: expected increasing {kind}finite numbers, got {values!r}")
    return out


def _seeds(seeds) -> tuple[int, ...]:
    seeds = (seeds,) if isinstance(seeds, int) and not isinstance(seeds, bool) else tuple(seeds)
    if any(isinstance(s, bool) or not isinstance(s, int) for s in seeds):
        raise TypeError(f"seeds: expected integers, got {seeds!r}")
    if not seeds or len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds: expected at least one seed, no repeats, got {seeds!r}")
    return seeds


def explorer_configs(lrs, lams=EXPLORER_LAMS, rho0s=EXPLORER_RHO0S, seeds=(0,)) -> list[tuple]:
    """Every (ρ0, seed, λ, η) the app needs: rho0s × seeds × ({0} ∪ lams) × lrs."""
    lrs = _grid(lrs, "lrs", positive=True)
    lams = _grid(lams, "lams", positive=True)
    rho0s = _grid(rho0s, "rho0s", positive=False)
    return [(r, s, lam, lr) for r in rho0s for s in _seeds(seeds) for lam in (0.0, *lams) for lr in lrs]


@dataclass
class ArmState:
    """One GD run as the app shows it (all arrays finite; nothing after a divergence).

    steps / loss / mean_abs_delta: recorded steps t, L(θ_t), mean_j |δ_j(t)|; a diverged run's curves
    end at step diverged_step − 1, its last finite parameters. diverged, diverged_step (None if
    stable): the report of the divergence rule. final_*: at the last finite parameters (for a
    diverged run, the parameters just before the divergence was detected).
    """

    label: str
    lam: float
    steps: np.ndarray
    loss: np.ndarray
    mean_abs_delta: np.ndarray
    diverged: bool
    diverged_step: int | None
    final_loss: float
    final_val_mse: float
    final_mean_abs_delta: float
    fit_threshold: float | None = None

    @property
    def verdict(self) -> str:
        """Diverged, or (with a ``fit_threshold``, gaugelab.experiments' fitted criterion) fitted or not."""
        if self.diverged:
            return f"diverged at step {self.diverged_step}"
        if self.fit_threshold is None:
            return "stable"
        return "stable and fitted" if self.final_loss <= self.fit_threshold else "stable, not fitted"


@dataclass
class ExplorerState:
    """Everything the figure and readout show for one slider position (η, λ, ρ0)."""

    lr: float
    lam: float
    rho0: float
    seed: int
    n_steps: int
    baseline: ArmState
    gauge: ArmState
    stiffness0: float
    lam_limit: float
    strip_lrs: list[float]
    strip_baseline: np.ndarray
    strip_gauge: np.ndarray
    edge_baseline: float
    edge_gauge: float


def arm_state(runs: Runs, config: tuple, label: str, fit_threshold: float | None = None) -> ArmState:
    """The recorded, finite part of member ``config`` = (ρ0, seed, λ, η) of ``runs``."""
    if config not in runs.index:
        raise ValueError(f"config: {config} (rho0, seed, lam, lr) is not among the trained runs")
    res, i = runs.result, runs.index[config]
    ok = res.recorded[i].numpy()
    loss = res.loss[i].numpy()[ok]
    delta = res.delta[i].abs().mean(-1).numpy()[ok]
    keep = np.isfinite(loss) & np.isfinite(delta)
    steps, loss, delta = res.steps.numpy()[ok][keep], loss[keep], delta[keep]
    div = bool(res.diverged[i])
    val = float(res.final_val_mse[i]) if res.final_val_mse is not None else float("nan")
    final_loss, final_delta = float(res.final_loss[i]), float(res.final_delta[i].abs().mean())
    if div:
        # the trainer keeps θ_{t−1}, the last finite parameters before the divergence detected at
        # step t: end the curves there, even when t − 1 falls between two recorded steps
        last = int(res.diverged_step[i]) - 1
        if np.isfinite(final_loss) and np.isfinite(final_delta) and (len(steps) == 0 or last > steps[-1]):
            steps = np.append(steps, last)
            loss, delta = np.append(loss, final_loss), np.append(delta, final_delta)
    return ArmState(
        label=label,
        lam=float(config[2]),
        steps=steps,
        loss=loss,
        mean_abs_delta=delta,
        diverged=div,
        diverged_step=int(res.diverged_step[i]) if div else None,
        final_loss=final_loss,
        final_val_mse=val,
        final_mean_abs_delta=final_delta,
        fit_threshold=fit_threshold,
    )


def explorer_state(
    runs: Runs,
    lr: float,
    lam: float,
    rho0: float,
    *,
    seed: int = 0,
    lrs=None,
    stiffness0: float | None = None,
) -> ExplorerState:
    """Pure: the state of the app at (η, λ, ρ0), read from ``runs`` (no training).

    ``lrs``: the η grid of the stability strip (default: every η trained for this ρ0, λ and seed).
    ``stiffness0``: S = max_j(‖u_j‖² + ‖a_j‖²) of the initial network (computed if not given).
    """
    lr, lam, rho0 = float(lr), float(lam), float(rho0)
    if not (math.isfinite(lam) and lam > 0):
        raise ValueError(f"lam: expected the gauge-fixed arm's λ > 0, got {lam!r}")
    base_cfg, gauge_cfg = (rho0, seed, 0.0, lr), (rho0, seed, lam, lr)
    for cfg in (base_cfg, gauge_cfg):
        if cfg not in runs.index:
            raise ValueError(
                f"lr, lam, rho0: (η = {lr:g}, λ = {cfg[2]:g}, ρ0 = {rho0:g}, seed {seed}) was not trained; "
                "build the app with this value on its grid"
            )
    if lrs is None:
        lrs = sorted(
            c[3]
            for c in runs.index
            if c[0] == rho0 and c[1] == seed and c[2] == lam and (rho0, seed, 0.0, c[3]) in runs.index
        )
    lrs = [float(v) for v in lrs]
    div = runs.result.diverged

    def flags(lam_):
        return np.array([not bool(div[runs.index[(rho0, seed, lam_, v)]]) for v in lrs], dtype=bool)

    sb, sg = flags(0.0), flags(lam)
    if stiffness0 is None:
        stiffness0 = 1.0 / lambda_upper_limit(runs.protocol.model(seed, rho0), 1.0)
    return ExplorerState(
        lr=lr,
        lam=lam,
        rho0=rho0,
        seed=seed,
        n_steps=int(runs.result.config.get("steps", runs.protocol.steps)),
        baseline=arm_state(runs, base_cfg, "baseline (λ = 0)", runs_fit_threshold(runs, rho0, 0.0)),
        gauge=arm_state(runs, gauge_cfg, f"gauge-fixed (λ = {lam:g})", runs_fit_threshold(runs, rho0, lam)),
        stiffness0=float(stiffness0),
        lam_limit=1.0 / (lr * float(stiffness0)),
        strip_lrs=lrs,
        strip_baseline=sb,
        strip_gauge=sg,
        edge_baseline=stable_range(~np.asarray(sb)[:, None], lrs),
        edge_gauge=stable_range(~np.asarray(sg)[:, None], lrs),
    )


# -- presentation ---------------------------------------------------------------------------------
#: The figure's fixed title: the verdicts of the chosen (η, λ, ρ0) are in the readout.
FIGURE_TITLE = "Baseline (λ = 0) vs gauge-fixed GD from the same start: verdicts in the readout above"


def title(state: ExplorerState) -> str:
    return (
        f"η = {state.lr:g}, λ = {state.lam:g}, ρ0 = {state.rho0:g}: baseline {state.baseline.verdict}, "
        f"gauge-fixed {state.gauge.verdict}"
    )


def readout(state: ExplorerState) -> str:
    """HTML readout: each arm's verdict and final numbers; λ against its upper limit 1/(η S)."""

    def arm(a: ArmState, color: str) -> str:
        colour = "crimson" if a.diverged else "green"
        when = "last finite" if a.diverged else "final"
        return (
            f"<span style='color:{color}'>■</span> <b>{a.label}</b>: "
            f"<b style='color:{colour}'>{a.verdict}</b>"
            f" &nbsp; {when} loss {a.final_loss:.3g}, val MSE {a.final_val_mse:.3g}, "
            f"mean|δ| {a.final_mean_abs_delta:.3g}"
        )

    side = "above" if state.lam > state.lam_limit else "below"
    return (
        f"<b>{title(state)}</b><br>"
        f"{arm(state.baseline, theme.ROLE_COLORS['baseline'])}<br>"
        f"{arm(state.gauge, theme.ROLE_COLORS['gauge_fixed'])}<br>"
        f"seed {state.seed}, {state.n_steps} GD steps. Upper limit on λ at this η: 1/(η S) = "
        f"{state.lam_limit:.3g} (S = max<sub>j</sub>(‖u<sub>j</sub>‖² + ‖a<sub>j</sub>‖²) = "
        f"{state.stiffness0:.3g} at init): λ = {state.lam:g} is <b>{side}</b> it. "
        f"Stable for every η ≤ {state.edge_baseline:g} (baseline) / {state.edge_gauge:g} (gauge-fixed) "
        "on the grid."
    )


def _divergence_marker(a: ArmState, y: np.ndarray) -> tuple[list, list]:
    """(x, y) of the × on a diverged arm's curve: its last finite point (step diverged_step − 1)."""
    if not a.diverged or len(a.steps) == 0:
        return [], []
    return [int(a.steps[-1])], [float(y[-1])]


def _strip_style(stable: np.ndarray) -> tuple[list[str], list[str]]:
    return (
        ["circle" if s else "x" for s in stable],
        ["#2ca02c" if s else "#d62728" for s in stable],
    )


def _trace_values(state: ExplorerState) -> list[dict]:
    """x/y (and marker styles) of every trace, in the figure's trace order."""
    b, g = state.baseline, state.gauge
    bd = np.maximum(b.mean_abs_delta, DELTA_FLOOR)
    gd = np.maximum(g.mean_abs_delta, DELTA_FLOOR)
    sb_sym, sb_col = _strip_style(state.strip_baseline)
    sg_sym, sg_col = _strip_style(state.strip_gauge)
    n = len(state.strip_lrs)
    out = [
        dict(x=b.steps, y=b.loss),
        dict(x=g.steps, y=g.loss),
        dict(zip("xy", _divergence_marker(b, b.loss))),
        dict(zip("xy", _divergence_marker(g, g.loss))),
        dict(x=b.steps, y=bd),
        dict(x=g.steps, y=gd),
        dict(zip("xy", _divergence_marker(b, bd))),
        dict(zip("xy", _divergence_marker(g, gd))),
        dict(x=state.strip_lrs, y=["baseline"] * n, marker_symbol=sb_sym, marker_color=sb_col),
        dict(x=state.strip_lrs, y=["gauge-fixed"] * n, marker_symbol=sg_sym, marker_color=sg_col),
        dict(x=[state.lr, state.lr], y=["baseline", "gauge-fixed"]),
    ]
    return out


def build_figure(state: ExplorerState):
    """Loss (left) and mean_j |δ_j| (right) over GD steps, both arms; the η stability strip below."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{}, {}], [{"colspan": 2}, None]],
        row_heights=[0.74, 0.26],
        vertical_spacing=0.2,
        horizontal_spacing=0.1,
        subplot_titles=(
            "training loss L(θₜ)",
            "imbalance meanⱼ |δⱼ(t)|",
            f"seed {state.seed}: stable (●) or diverged (×) at each η of the grid (ring: chosen η)",
        ),
    )
    vals = _trace_values(state)
    cb, cg = ARM_COLORS
    for k, (color, name) in enumerate(((cb, state.baseline.label), (cg, state.gauge.label))):
        fig.add_trace(
            go.Scatter(mode="lines", line=dict(color=color), name=name, legendgroup=f"arm{k}", **vals[k]),
            1,
            1,
        )
    for k, color in enumerate((cb, cg)):
        fig.add_trace(
            go.Scatter(
                mode="markers",
                marker=dict(symbol="x", size=12, color=color),
                name="last finite step before divergence",
                legendgroup="div",
                showlegend=k == 0,
                **vals[2 + k],
            ),
            1,
            1,
        )
    for k, color in enumerate((cb, cg)):
        fig.add_trace(
            go.Scatter(
                mode="lines", line=dict(color=color), legendgroup=f"arm{k}", showlegend=False, **vals[4 + k]
            ),
            1,
            2,
        )
    for k, color in enumerate((cb, cg)):
        fig.add_trace(
            go.Scatter(
                mode="markers",
                marker=dict(symbol="x", size=12, color=color),
                legendgroup="div",
                showlegend=False,
                **vals[6 + k],
            ),
            1,
            2,
        )
    for k in (8, 9):
        v = dict(vals[k])
        sym, col = v.pop("marker_symbol"), v.pop("marker_color")
        fig.add_trace(
            go.Scatter(mode="markers", marker=dict(symbol=sym, color=col, size=11), showlegend=False, **v),
            2,
            1,
        )
    fig.add_trace(
        go.Scatter(
            mode="markers",
            marker=dict(symbol="circle-open", size=20, color=theme.ROLE_COLORS["target"], line=dict(width=2)),
            showlegend=False,
            hoverinfo="skip",
            **vals[10],
        ),
        2,
        1,
    )
    fig.update_xaxes(title_text="GD step", row=1, col=1)
    fig.update_xaxes(title_text="GD step", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="e", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="e", row=1, col=2)
    fig.update_xaxes(title_text="learning rate η", row=2, col=1)
    fig.update_yaxes(
        type="category", categoryorder="array", categoryarray=["gauge-fixed", "baseline"], row=2, col=1
    )
    fig.update_layout(
        title=dict(text=FIGURE_TITLE, font=dict(size=14), y=0.985, yanchor="top"),
        template=theme.template(),
        height=500,
        width=920,
        margin=dict(t=100, l=70, r=20, b=45),
        legend=dict(orientation="h", y=1.1, yanchor="bottom", x=0.5, xanchor="center"),
    )
    return fig


#: Traces whose x/y never change with the sliders: the strip's rows (η grid × arm).
_FIXED_XY = (8, 9)


def state_update(state: ExplorerState) -> dict:
    """The figure update (:func:`gaugelab.widgets.front.update`) that shows ``state``: the curves and
    markers, the strip's symbols and colours, the ring, the gauge-fixed arm's legend name and the
    readout (the title is fixed)."""
    traces = {}
    for k, v in enumerate(_trace_values(state)):
        v = dict(v)
        props = {}
        if "marker_symbol" in v:
            props["marker.symbol"], props["marker.color"] = v.pop("marker_symbol"), v.pop("marker_color")
        if k not in _FIXED_XY:
            props["x"] = np.asarray(v.get("x", []), dtype=float)
            props["y"] = list(v["y"]) if k == 10 else np.asarray(v.get("y", []), dtype=float)
        traces[k] = props
    traces[1]["name"] = traces[5]["name"] = state.gauge.label
    return front.update(traces, readout=readout(state))


class StabilityExplorer(LookupViewMixin):
    """Sliders η (first), λ and ρ0 → baseline vs gauge-fixed GD: verdicts, loss and imbalance curves.

    ``protocol``: data, network, steps and divergence rule (default :data:`EXPLORER_PROTOCOL`);
    ignored when ``runs`` is given (``runs.protocol`` is used). ``lrs``: the η grid (default: the
    protocol's ``lr_grid``); ``lams``: the gauge-fixed arm's λ values; ``rho0s``: initial imbalances;
    ``seeds``: initialisation seeds (a seed menu appears when there are several). Every (ρ0, seed,
    λ, η) of the grid is trained once at construction unless ``runs`` (from
    :func:`gaugelab.experiments.run_configs`) already holds :func:`explorer_configs` (lrs, lams,
    rho0s, seeds). ``lr``, ``lam``, ``rho0``, ``seed``: the starting position, snapped to the nearest
    grid value (defaults: the protocol's lr_ref, lam_fix, rho0 and the first seed).
    """

    def __init__(
        self,
        protocol: Protocol | None = None,
        *,
        lrs=None,
        lams=EXPLORER_LAMS,
        rho0s=EXPLORER_RHO0S,
        seeds=(0,),
        runs: Runs | None = None,
        lr: float | None = None,
        lam: float | None = None,
        rho0: float | None = None,
        seed: int | None = None,
    ):
        if runs is not None:
            if not isinstance(runs, Runs):
                raise TypeError(f"runs: expected gaugelab.experiments.Runs, got {type(runs).__name__}")
            protocol = runs.protocol
        protocol = EXPLORER_PROTOCOL if protocol is None else protocol
        if not isinstance(protocol, Protocol):
            raise TypeError(f"protocol: expected a gaugelab.protocol.Protocol, got {type(protocol).__name__}")
        self.protocol = protocol
        self.lrs = _grid(protocol.lr_grid if lrs is None else lrs, "lrs", positive=True)
        self.lams = _grid(lams, "lams", positive=True)
        self.rho0s = _grid(rho0s, "rho0s", positive=False)
        self.seeds = _seeds(seeds)
        configs = explorer_configs(self.lrs, self.lams, self.rho0s, self.seeds)
        if runs is None:
            runs = run_configs(protocol, configs, desc="stability explorer")
        else:
            missing = [c for c in configs if c not in runs.index]
            if missing:
                raise ValueError(
                    f"runs: missing {len(missing)} configuration(s) of the grid, e.g. {missing[0]}"
                )
        self.runs = runs
        self.stiffness0 = {
            (r, s): 1.0 / lambda_upper_limit(protocol.model(s, r), 1.0)
            for r in self.rho0s
            for s in self.seeds
        }
        self.lr = _nearest(self.lrs, protocol.lr_ref if lr is None else lr)
        self.lam = _nearest(self.lams, protocol.lam_fix if lam is None else lam)
        self.rho0 = _nearest(self.rho0s, protocol.rho0 if rho0 is None else rho0)
        if seed is not None and seed not in self.seeds:
            raise ValueError(f"seed: expected one of {self.seeds}, got {seed!r}")
        self.seed = self.seeds[0] if seed is None else seed
        self.state = self.compute(self.lr, self.lam, self.rho0, self.seed)
        self._widget = None
        self._view = None

    def compute(self, lr: float, lam: float, rho0: float, seed: int | None = None) -> ExplorerState:
        """Pure: the state at (η, λ, ρ0, seed) (values must be on the grid; seed defaults to the first)."""
        seed = self.seeds[0] if seed is None else seed
        s0 = self.stiffness0.get((float(rho0), seed))
        return explorer_state(self.runs, lr, lam, rho0, seed=seed, lrs=self.lrs, stiffness0=s0)

    def figure(self):
        return build_figure(self.state)

    def show_static(self) -> None:
        """A static snapshot of the starting position (for renderers without a kernel).

        As :func:`gaugelab.display.show`, with the PNG fallback drawn at the figure's own size.
        """
        from IPython.display import display

        fig = self.figure()
        bundle = mimebundle(fig, png=False)
        png = static_png(fig, width=int(fig.layout.width), height=int(fig.layout.height))
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode()
        display(bundle, raw=True)

    def update_at(self, st: dict) -> dict:
        """The figure update at control values {"lr", "lam", "rho0"[, "seed"]} (:meth:`compute`)."""
        return state_update(self.compute(st["lr"], st["lam"], st["rho0"], st.get("seed", self.seed)))

    def _on_change(self, _change=None) -> None:
        self.lr, self.lam = self.lr_slider.value, self.lam_slider.value
        self.rho0, self.seed = self.rho0_slider.value, self.seed_menu.value
        self.state = self.compute(self.lr, self.lam, self.rho0, self.seed)

    @property
    def widget(self):
        if self._widget is None:
            import ipywidgets as W

            style = {"description_width": "90px"}
            layout = W.Layout(width="430px")

            def slider(values, value, description):
                return W.SelectionSlider(
                    options=[(f"{v:g}", v) for v in values],
                    value=value,
                    description=description,
                    continuous_update=True,
                    style=style,
                    layout=layout,
                )

            self.lr_slider = slider(self.lrs, self.lr, "step η")
            self.lam_slider = slider(self.lams, self.lam, "penalty λ")
            self.rho0_slider = slider(self.rho0s, self.rho0, "initial ρ0")
            self.seed_menu = W.Dropdown(
                options=list(self.seeds),
                value=self.seed,
                description="seed",
                style=style,
                layout=W.Layout(width="220px"),
            )
            controls = {"lr": self.lr_slider, "lam": self.lam_slider, "rho0": self.rho0_slider}
            grids = {"lr": list(self.lrs), "lam": list(self.lams), "rho0": list(self.rho0s)}
            if len(self.seeds) > 1:
                controls["seed"], grids["seed"] = self.seed_menu, list(self.seeds)
            for w in (self.lr_slider, self.lam_slider, self.rho0_slider, self.seed_menu):
                w.observe(self._on_change, names="value")
            self._view = LookupFigure(
                self.figure(), controls, grids, self.update_at, readout_min_height="6.2em"
            )
            # the controls in two columns above the readout and the figure: all of it fits 1400×900
            boxes = list(controls.values())
            self._widget = W.VBox([W.HBox([W.VBox(boxes[:2]), W.VBox(boxes[2:])]), self._view.front])
        return self._widget


def _nearest(grid: tuple[float, ...], value: float) -> float:
    """The grid value nearest to ``value``."""
    return min(grid, key=lambda g: abs(g - float(value)))
