"""Widgets for notebooks 08 and 09: gauge-equivariance of optimisers, and teleportation.

:class:`EquivarianceApp` (08): two gauge-equivalent starts θ and α·θ (log α_j ~ U[−s, s]) trained
by GD, Adam and Path-SGD; the curve max_x |f_A(x) − f_B(x)| along training says which optimiser
keeps the two runs computing the same function. :class:`TeleportApp` (09): the teleportation
trajectories of :func:`gaugelab.teleport.teleport` (maximise ‖∇L‖², minimise λ_max), scrubbed step
by step. Both precompute every run (and every readout) when built, and their figures are drawn by
:class:`gaugelab.widgets.lookup.LookupFigure` with a table of every state: a slider move or a
switch of run is redrawn in the page, without the kernel.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import gaugelab as gl
from gaugelab import optim
from gaugelab.display import show
from gaugelab.teleport import teleport
from gaugelab.widgets import front
from gaugelab.widgets.lookup import LookupFigure, LookupViewMixin

#: Plotted instead of an exact 0 on a log axis (and said so in the legend).
FLOOR = 1e-17

OPTIMISERS = {
    "GD": lambda lr: optim.sgd(lr),
    "Adam": lambda lr: optim.adam(lr / 5),
    "Path-SGD": lambda lr: optim.path_sgd(lr),
}


def function_gaps(
    model: nn.Module, x, y, spread: float, *, lr=0.05, steps=100, seed=0, probe=None, reference=None
) -> dict:
    """max_x |f_A − f_B| per step for each optimiser in :data:`OPTIMISERS` (Adam uses lr/5).

    A starts at ``model``, B at α·model with log α_j ~ U[−spread, spread]. Values below
    :data:`FLOOR` are raised to it (log axis). ``reference`` = {name: TrainResult of A} reuses A's runs.
    """
    other = gl.rescale(model, gl.random_scales(model, -spread, spread, seed=seed))
    out = {}
    for name, make in OPTIMISERS.items():
        if reference is not None:
            a = reference[name]
        else:
            a = optim.run_optimizer(model, x, y, make(lr), steps=steps, probe=probe)
        b = optim.run_optimizer(other, x, y, make(lr), steps=steps, probe=probe)
        n = min(len(a.steps), len(b.steps))
        gap = (a.outputs[:n] - b.outputs[:n]).abs().amax(dim=(1, 2)).numpy()
        out[name] = (a.steps[:n].numpy(), np.maximum(gap, FLOOR))
    return out


class EquivarianceApp(LookupViewMixin):
    """Slider: gauge spread s of the second start (first control). Curves: f-gap per optimiser."""

    def __init__(self, model, x, y, *, spreads=(0.0, 0.5, 1.0, 1.5, 2.0), lr=0.05, steps=100, probe=None):
        self.spreads = [float(s) for s in spreads]
        if len(self.spreads) < 2 or any(s < 0 for s in self.spreads):
            raise ValueError(f"spreads: expected at least two numbers >= 0, got {spreads!r}")
        ref = {
            name: optim.run_optimizer(model, x, y, make(lr), steps=steps, probe=probe)
            for name, make in OPTIMISERS.items()
        }
        self.runs = {
            s: function_gaps(model, x, y, s, lr=lr, steps=steps, probe=probe, reference=ref)
            for s in self.spreads
        }
        self.spread = self.spreads[len(self.spreads) // 2]
        self._widget = None
        self._view = None

    def curves(self, spread: float) -> dict:
        """Pure: the precomputed curves for the grid value nearest to ``spread``."""
        key = min(self.spreads, key=lambda s: abs(s - float(spread)))
        return self.runs[key]

    def summary(self, spread: float) -> str:
        c = self.curves(spread)
        parts = [f"{name}: {gap[-1]:.1e}" for name, (_, gap) in c.items()]
        return f"gauge spread s = {spread:.2f}; max|f_A − f_B| at the end — " + ", ".join(parts)

    def figure(self):
        import plotly.graph_objects as go

        fig = go.Figure()
        for name, (steps, gap) in self.curves(self.spread).items():
            fig.add_trace(go.Scatter(x=steps, y=gap, mode="lines", name=self._label(name, self.spread)))
        fig.update_layout(
            title="two gauge-equivalent starts θ and α·θ: how far apart do their functions drift?",
            xaxis_title="step",
            yaxis_title=f"max |f_A − f_B| (floor {FLOOR:g})",
            yaxis_type="log",
            yaxis_range=[-17.5, 1],
            height=380,
            width=760,
        )
        return fig

    @staticmethod
    def _label(name: str, spread: float) -> str:
        """Legend entry: the optimiser and the spread its curve was run at (the title is fixed)."""
        return f"{name} (s = {spread:.1f})"

    def update_at(self, state: dict) -> dict:
        """Pure: the figure update at {"s": spread}: every curve, its legend entry, the readout."""
        spread = float(state["s"])
        traces = {
            k: {"x": np.asarray(steps, dtype=float), "y": np.asarray(gap, dtype=float),
                "name": self._label(name, spread)}
            for k, (name, (steps, gap)) in enumerate(self.curves(spread).items())
        }  # fmt: skip
        return front.update(traces, readout=self.summary(spread))

    def show_static(self):
        show(self.figure())

    @property
    def widget(self):
        if self._widget is None:
            import ipywidgets as W

            self.slider = W.SelectionSlider(
                options=self.spreads, value=self.spread, description="gauge spread s", continuous_update=True
            )
            self.slider.layout.width = "420px"
            self.slider.style.description_width = "110px"
            self.slider.observe(lambda ch: setattr(self, "spread", float(ch["new"])), names="value")
            self._view = LookupFigure(
                self.figure(),
                {"s": self.slider},
                {"s": self.spreads},
                self.update_at,
                readout_min_height="1.5em",
            )
            self._widget = W.VBox([self.slider, self._view.front])
        return self._widget


@dataclass
class TeleportTrack:
    """One teleportation run: objective J per step and, per step, the log-scales ρ of every neuron."""

    label: str
    objective: np.ndarray
    rho: np.ndarray
    scales: list


class TeleportApp(LookupViewMixin):
    """Slider: teleport step k (first control); toggle: which run. Left: J along the run; right:
    every hidden neuron's ρ_j at step k. Readouts: J, max|δ_j|, max|f_k − f_0| on x."""

    def __init__(self, model, x, y, *, steps=20, lr=0.15):
        self.model, self.x, self.y = copy.deepcopy(model), x, y
        rho0 = gl.flat(gl.log_scale(model)).detach().numpy()
        self.tracks = {}
        for label, objective, maximize in (
            ("maximise ‖∇L‖²", "grad_norm", True),
            ("minimise λ_max", "sharpness", False),
        ):
            res = teleport(model, x, y, objective=objective, maximize=maximize, steps=steps, lr=lr)
            s = res.s.numpy()
            self.tracks[label] = TeleportTrack(label, res.objective.numpy(), rho0[None, :] + 2 * s, res.s)
        self.steps = steps
        self.label = next(iter(self.tracks))
        self.k = 0
        self._states = {(label, k): self.state(label, k) for label in self.tracks for k in range(steps + 1)}
        self._widget = None
        self._view = None

    def state(self, label: str, k: int) -> dict:
        """Pure: readouts at step k of the run ``label`` (function change computed afresh)."""
        tr = self.tracks[label]
        k = int(min(max(k, 0), len(tr.objective) - 1))
        widths = gl.hidden_widths(self.model)
        scales = [torch.exp(p) for p in torch.split(tr.scales[k], widths)]
        moved = gl.rescale(self.model, scales)
        with torch.no_grad():
            change = float((moved(self.x) - self.model(self.x)).abs().max())
        delta = float(gl.flat(gl.imbalance(moved)).detach().abs().max())
        return dict(k=k, J=float(tr.objective[k]), rho=tr.rho[k], max_delta=delta, function_change=change)

    def readout_html(self, label: str, st: dict) -> str:
        """The readout line of step ``st`` of the run ``label``."""
        return (
            f"<b>{label}, step {st['k']}</b>: J = {st['J']:.4g}, max|δ_j| = {st['max_delta']:.3g}, "
            f"max|f_k − f_0| = {st['function_change']:.1e}"
        )

    def figure(self):
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        tr, st = self.tracks[self.label], self.state(self.label, self.k)
        fig = make_subplots(
            rows=1, cols=2, subplot_titles=("objective J along the run", "ρ_j of every neuron")
        )
        fig.add_trace(go.Scatter(y=tr.objective, mode="lines", name="J"), 1, 1)
        fig.add_trace(
            go.Scatter(x=[st["k"]], y=[st["J"]], mode="markers", marker_size=12, name=f"step {st['k']}"), 1, 1
        )
        fig.add_trace(go.Bar(y=st["rho"], name="ρ_j"), 1, 2)
        fig.update_yaxes(type="log", row=1, col=1)
        fig.update_xaxes(title_text="teleport step", row=1, col=1)
        fig.update_xaxes(title_text="hidden neuron", row=1, col=2)
        fig.update_yaxes(title_text="ρ_j", range=[-5, 5], row=1, col=2)
        fig.update_layout(
            title="teleportation: a walk along the orbit (the function stays fixed, see the readout)",
            height=400,
            width=900,
        )
        return fig

    def update_at(self, state: dict) -> dict:
        """Pure: the figure update at {"k": step, "run": label}: J of the run, the marker at step k,
        every ρ_j at step k, the readout."""
        label, k = state["run"], int(state["k"])
        st = self._states.get((label, k)) or self.state(label, k)
        traces = {
            0: {"y": np.asarray(self.tracks[label].objective, dtype=float)},
            1: {"x": np.array([st["k"]], dtype=float), "y": np.array([st["J"]]), "name": f"step {st['k']}"},
            2: {"y": np.asarray(st["rho"], dtype=float)},
        }
        return front.update(traces, readout=self.readout_html(label, st))

    def show_static(self):
        show(self.figure())

    def _on_change(self, _change=None) -> None:
        self.label, self.k = self.toggle.value, int(self.slider.value)

    @property
    def widget(self):
        if self._widget is None:
            import ipywidgets as W

            self.slider = W.IntSlider(
                value=self.k,
                min=0,
                max=self.steps,
                description="teleport step",
                layout=W.Layout(width="420px"),
            )
            self.toggle = W.ToggleButtons(options=list(self.tracks), value=self.label)
            for w in (self.slider, self.toggle):
                w.observe(self._on_change, names="value")
            self._view = LookupFigure(
                self.figure(),
                {"k": self.slider, "run": self.toggle},
                {"k": list(range(self.steps + 1)), "run": list(self.tracks)},
                self.update_at,
                readout_min_height="1.5em",
            )
            self._widget = W.VBox([W.HBox([self.slider, self.toggle]), self._view.front])
        return self._widget
