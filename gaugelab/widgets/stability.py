"""Sharpness on the orbit and the stable step (notebook 06).

THEORY §5: GD near a minimum is linearly stable iff η < 2/λ_max. The loss is the same at every point
of an orbit, λ_max is not. The app walks one orbit of a trained net — every hidden neuron rescaled
by the same α = e^{ρ/2} from the balanced point, so that ρ_j = ρ for every neuron of a two-layer
net — and at the chosen point runs a short full-batch GD with step η (``gl.train``), showing its
loss curve and the verdict.

λ_max is computed with :func:`gaugelab.top_hessian_eigenvalue` on a grid of ρ when the app is built
(the ρ slider snaps to that grid). Verdict of one GD run: "diverged" exactly when ``gl.train``
reports it; otherwise "left the minimum" when the loss rose above ``rise_factor`` × its start at
some step (the run was unstable there and GD moved away — often to a flatter point), else "stable".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import gaugelab as gl
from gaugelab.display import show
from gaugelab.widgets import front
from gaugelab.widgets.lookup import LookupFigure, LookupViewMixin
from gaugelab.widgets.threads import one_thread


def orbit_point(balanced: nn.Module, rho: float) -> nn.Module:
    """The point α·θ_bal of the orbit with α_j = e^{ρ/2} for every hidden neuron (ρ_j = ρ, two layers)."""
    alpha = math.exp(float(rho) / 2)
    dtype = next(balanced.parameters()).dtype
    return gl.rescale(balanced, [torch.full((w,), alpha, dtype=dtype) for w in gl.hidden_widths(balanced)])


def sharpness_along_orbit(balanced: nn.Module, x, y, rhos, iters: int = 100) -> np.ndarray:
    """λ_max(∇²L) at :func:`orbit_point` (balanced, ρ) for each ρ in ``rhos`` (Lanczos on HVPs)."""
    return np.array(
        [gl.top_hessian_eigenvalue(orbit_point(balanced, r), x, y, iters=iters) for r in rhos], dtype=float
    )


@dataclass
class RunState:
    """One GD run from an orbit point: readouts and the (finite) loss curve."""

    rho: float
    lr: float
    lam_max: float
    eta_max: float
    steps: np.ndarray
    loss: np.ndarray
    diverged: bool
    diverged_step: int | None
    verdict: str


def run_from(
    balanced: nn.Module, x, y, rho: float, lr: float, lam_max: float, *, steps: int = 100, rise_factor=2.0
) -> RunState:
    """Run ``steps`` of GD (``gl.train``) with step ``lr`` from orbit_point(balanced, ρ); pure.

    Only the recorded, finite losses are returned (``gl.train`` stops at divergence and keeps the
    last finite state), so nothing here is ever NaN.
    """
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr: expected a positive finite number, got {lr!r}")
    res = gl.train(orbit_point(balanced, rho), x, y, steps=steps, lr=lr, record_every=1)
    return run_state(
        rho, lr, lam_max, res.steps.numpy(), res.loss.numpy(), res.diverged, res.diverged_step, rise_factor
    )


def verdict(loss: np.ndarray, diverged: bool, diverged_step, rise_factor: float = 2.0) -> str:
    """ "diverged at step t" (the trainer's report), "unstable" when the loss rose above
    ``rise_factor`` × its start at some step, else "stable"."""
    if diverged:
        return f"diverged at step {diverged_step} (reported by gl.train)"
    if loss.max() > rise_factor * loss[0]:
        return f"unstable: loss rose ×{loss.max() / loss[0]:.3g}, GD left this point (not diverged)"
    return "stable"


def run_state(rho, lr, lam_max, steps, loss, diverged, diverged_step, rise_factor=2.0) -> RunState:
    """A :class:`RunState` from one run's recorded (finite) steps and losses."""
    return RunState(
        rho=float(rho),
        lr=float(lr),
        lam_max=float(lam_max),
        eta_max=2.0 / float(lam_max),
        steps=np.asarray(steps),
        loss=np.asarray(loss),
        diverged=bool(diverged),
        diverged_step=int(diverged_step) if diverged else None,
        verdict=verdict(np.asarray(loss), diverged, diverged_step, rise_factor),
    )


def runs_on_grid(balanced: nn.Module, x, y, rhos, lrs, *, steps: int = 100) -> list[list[tuple]]:
    """GD from orbit_point(balanced, ρ) with step η for every ρ in ``rhos`` and η in ``lrs``, as one
    batched program (:func:`gaugelab.ensemble.ensemble_train`, per member the run ``gl.train``
    gives). Returns [ρ index][η index] = (steps, losses, diverged, diverged_step), finite part only.
    """
    from gaugelab.ensemble import ensemble_train

    models = [orbit_point(balanced, r) for r in rhos for _ in lrs]
    with one_thread():
        res = ensemble_train(models, x, y, lr=np.tile(np.asarray(lrs, dtype=float), len(rhos)), steps=steps)
    out, k = [], 0
    for _ in rhos:
        row = []
        for _ in lrs:
            ok = res.recorded[k].numpy()
            row.append(
                (
                    res.steps.numpy()[ok],
                    res.loss[k].numpy()[ok],
                    bool(res.diverged[k]),
                    int(res.diverged_step[k]),
                )
            )
            k += 1
        out.append(row)
    return out


def readout(state: RunState) -> str:
    """The HTML readout line: λ_max, 2/λ_max, η and the verdict."""
    colour = "green" if state.verdict == "stable" else "crimson"
    return (
        f"ρ = {state.rho:+.2f} &nbsp; λ<sub>max</sub> = {state.lam_max:.4g} &nbsp; "
        f"2/λ<sub>max</sub> = {state.eta_max:.4g} &nbsp; η = {state.lr:.4g} "
        f"(η·λ<sub>max</sub>/2 = {state.lr / state.eta_max:.3g}) &nbsp; "
        f"<b style='color:{colour}'>{state.verdict}</b>"
    )


def title(state: RunState) -> str:
    return f"ρ = {state.rho:+.2f}, η = {state.lr:.3g}: {state.verdict.split(':')[0].split(' (')[0]}"


def point_name(state: RunState) -> str:
    """Legend entry of the chosen point: where it is and with which step (the title is fixed)."""
    return f"chosen point ρ = {state.rho:+.2f}, η = {state.lr:.3g}"


#: The figure's fixed title (the values and the verdict are in the readout, so a move relayouts nothing).
FIGURE_TITLE = "Sharpness along the orbit (left) and GD from the chosen point (right)"


def build_figure(rhos, lam_max, state: RunState):
    """The two-panel figure: λ_max along the orbit with the line 2/η; the GD loss curve."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("sharpness along the orbit", "GD from the chosen point"),
        horizontal_spacing=0.12,
    )
    fig.add_trace(go.Scatter(x=rhos, y=lam_max, mode="lines+markers", name="λ_max(ρ)"), 1, 1)
    fig.add_trace(
        go.Scatter(x=[rhos[0], rhos[-1]], y=[2 / state.lr] * 2, mode="lines", name="2/η", line_dash="dash"),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter(x=[state.rho], y=[state.lam_max], mode="markers", name=point_name(state), marker_size=12),
        1,
        1,
    )
    fig.add_trace(go.Scatter(x=state.steps, y=state.loss, mode="lines", name="training loss"), 1, 2)
    fig.update_xaxes(title_text="ρ (orbit position, all neurons)", row=1, col=1)
    fig.update_yaxes(title_text="λ_max", type="log", row=1, col=1)
    fig.update_xaxes(title_text="GD step", row=1, col=2)
    fig.update_yaxes(title_text="loss L", type="log", row=1, col=2)
    fig.update_layout(
        title=dict(text=FIGURE_TITLE, font=dict(size=14)),
        height=400,
        width=920,
        margin=dict(t=70, l=60, r=20, b=50),
        legend=dict(orientation="h", y=-0.18, x=0.5, xanchor="center", yanchor="top"),
    )
    return fig


def state_update(state: RunState) -> dict:
    """The figure update (:func:`gaugelab.widgets.front.update`) that shows ``state``: the line 2/η,
    the chosen point and its legend entry, the loss curve, the readout (the title is fixed)."""
    traces = {
        1: {"y": np.full(2, 2 / state.lr)},
        2: {"x": np.array([state.rho]), "y": np.array([state.lam_max]), "name": point_name(state)},
        3: {"x": np.asarray(state.steps, dtype=float), "y": np.asarray(state.loss, dtype=float)},
    }
    return front.update(traces, readout=readout(state))


class StabilityApp(LookupViewMixin):
    """Orbit slider ρ (first) and step slider η; λ_max, 2/λ_max and the GD verdict update live.

    ``model`` should sit near a minimum of the half-MSE on (x, y). The orbit is the one through
    gl.balance(model) with all neurons rescaled alike. ``grid = (rhos, lam_max)`` reuses values
    already computed by :func:`sharpness_along_orbit` on gl.balance(model) (then ``rho_range`` and
    ``n_grid`` are ignored).

    Every GD run the sliders can ask for (each ρ of the grid × each η of the slider: 10^(log10 η_min
    + k·``lr_step``), plus the starting η) is trained once when the app is built, in one batched
    program (:func:`runs_on_grid`); a slider move only looks a run up, and the figure is drawn in
    the page (:class:`~gaugelab.widgets.lookup.LookupFigure`: tables along ρ and η around the
    current state, rebuilt when the input is idle). An η set from code off that grid is trained
    then (``gl.train``, :func:`run_from`) and kept.
    """

    def __init__(
        self,
        model: nn.Module,
        x,
        y,
        *,
        rho_range=(-3.0, 3.0),
        n_grid: int = 25,
        lr=None,
        lr_range=(1e-3, 2.0),
        lr_step: float = 0.04,
        steps: int = 100,
        rho: float = 0.0,
        grid=None,
    ):
        self.x, self.y, self.steps = x, y, steps
        self.balanced = gl.balance(model)
        if grid is None:
            lo, hi = float(rho_range[0]), float(rho_range[1])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"rho_range: expected (low, high) with low < high, got {rho_range!r}")
            if not isinstance(n_grid, int) or n_grid < 2:
                raise ValueError(f"n_grid: expected an integer >= 2, got {n_grid!r}")
            self.rhos = np.linspace(lo, hi, n_grid)
            self.lam_max = sharpness_along_orbit(self.balanced, x, y, self.rhos)
        else:
            self.rhos = np.asarray(grid[0], dtype=float)
            self.lam_max = np.asarray(grid[1], dtype=float)
            steps_ok = self.rhos.ndim == 1 and len(self.rhos) >= 2 and np.all(np.diff(self.rhos) > 0)
            if not steps_ok or self.lam_max.shape != self.rhos.shape:
                raise ValueError(
                    "grid: expected (rhos, lam_max), increasing rhos of length >= 2, same shapes"
                )
        self.step = float(self.rhos[1] - self.rhos[0])
        self.lr_range = (float(lr_range[0]), float(lr_range[1]))
        if not (0 < self.lr_range[0] < self.lr_range[1] and math.isfinite(self.lr_range[1])):
            raise ValueError(f"lr_range: expected (low, high) with 0 < low < high, got {lr_range!r}")
        if not (isinstance(lr_step, (int, float)) and 0 < lr_step <= 1):
            raise ValueError(f"lr_step: expected a step of log10 η in (0, 1], got {lr_step!r}")
        self.lr_step = float(lr_step)
        i = self.index(rho)
        self.lr = float(lr) if lr is not None else 0.9 * 2 / float(self.lam_max[i])
        lo_exp, hi_exp = math.log10(self.lr_range[0]), math.log10(self.lr_range[1])
        exps = lo_exp + self.lr_step * np.arange(int(math.floor((hi_exp - lo_exp) / self.lr_step + 1e-9)) + 1)
        self.lr_grid = np.unique(np.append(10.0**exps, self.lr))
        self._grid_exps = None
        self._grid_exps = np.array([self._lr_key(v) for v in self.lr_grid])
        table = runs_on_grid(self.balanced, x, y, self.rhos, self.lr_grid, steps=steps)
        self._runs = {
            (ri, self._lr_key(lr_)): run_state(self.rhos[ri], lr_, self.lam_max[ri], *table[ri][li])
            for ri in range(len(self.rhos))
            for li, lr_ in enumerate(self.lr_grid)
        }
        self.state = self.compute(float(self.rhos[i]), self.lr)
        self._widget = None
        self._view = None

    def _lr_key(self, lr: float) -> float:
        """η as a lookup key: the log10 of the nearest grid η when within 1e-6 of it (slider values
        round-trip through the browser), else log10 η itself."""
        e = math.log10(float(lr))
        grid = getattr(self, "_grid_exps", None)
        if grid is not None:
            j = int(np.argmin(np.abs(grid - e)))
            if abs(grid[j] - e) < 1e-6:
                return float(grid[j])
        return e

    def index(self, rho: float) -> int:
        """Index of the grid point nearest to ρ."""
        return int(np.argmin(np.abs(self.rhos - float(rho))))

    def compute(self, rho: float, lr: float) -> RunState:
        """The run state for slider values (ρ snapped to the grid, η): looked up, or trained once
        (:func:`run_from`) for an η off the slider's grid."""
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr: expected a positive finite number, got {lr!r}")
        i = self.index(rho)
        key = (i, self._lr_key(lr))
        if key not in self._runs:
            with one_thread():
                self._runs[key] = run_from(
                    self.balanced, self.x, self.y, float(self.rhos[i]), lr, self.lam_max[i], steps=self.steps
                )
        return self._runs[key]

    def figure(self):
        return build_figure(self.rhos, self.lam_max, self.state)

    def show_static(self) -> None:
        """A static snapshot of the initial state (for renderers without a kernel)."""
        show(self.figure())

    def update_at(self, st: dict) -> dict:
        """The figure update at slider values {"rho": ρ, "lr": η} (:meth:`compute`)."""
        return state_update(self.compute(st["rho"], st["lr"]))

    def _on_change(self, _change=None) -> None:
        self.state = self.compute(self.rho_slider.value, self.lr_slider.value)

    @property
    def widget(self):
        if self._widget is None:
            import ipywidgets as W

            self.rho_slider = W.FloatSlider(
                value=self.state.rho,
                min=float(self.rhos[0]),
                max=float(self.rhos[-1]),
                step=self.step,
                description="orbit ρ",
                continuous_update=True,
                readout_format=".2f",
                layout=W.Layout(width="420px"),
            )
            self.lr_slider = W.FloatLogSlider(
                value=self.lr,
                base=10,
                min=math.log10(self.lr_range[0]),
                max=math.log10(self.lr_range[1]),
                step=self.lr_step,
                description="step η",
                continuous_update=True,
                readout_format=".3g",
                layout=W.Layout(width="420px"),
            )
            for w in (self.rho_slider, self.lr_slider):
                w.observe(self._on_change, names="value")
            self._view = LookupFigure(
                self.figure(),
                {"rho": self.rho_slider, "lr": self.lr_slider},
                {"rho": [float(r) for r in self.rhos], "lr": [float(v) for v in self.lr_grid]},
                self.update_at,
                readout_min_height="2.6em",
            )
            self._widget = W.VBox([W.HBox([self.rho_slider, self.lr_slider]), self._view.front])
        return self._widget
