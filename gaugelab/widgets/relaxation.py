"""Imbalance-decay player: δ_j(t) under the soft gauge-fixing penalty, simulated vs closed form.

THEORY §4. Gradient descent on the penalty alone, θ ← θ − η ∇R_λ(θ) with R_λ = (λ/4) Σ_j δ_j²
(:func:`gaugelab.penalty.gauge_penalty`, gradient by autograd), moves every neuron along its own
orbit. Its gradient-flow limit has the closed form
  tanh(ρ_j(t)/2) = tanh(ρ_j(0)/2) · exp(−4λ‖v_j‖ t),   δ_j = 2‖v_j‖ sinh ρ_j
(:func:`gaugelab.penalty.relaxation`, :func:`gaugelab.coords.imbalance_from_log_scale`), with t = η·step.
Penalty-only descent keeps f fixed up to O(η²) per step (v_j is multiplied by 1 − (ηλδ_j)²); the
player reads out how far f actually moved, max_x |f_t(x) − f_0(x)|.

We simulate the penalty alone (not L + R), because that is the flow the closed form describes:
with the loss switched on, v_j moves too and the closed form is only a local guide.

Pure functions (:func:`demo_model`, :func:`penalty_descent`, :func:`closed_form_imbalance`,
:func:`step_at_frame`) do the work; :class:`RelaxationPlayer` only wires them to ipywidgets and a
plotly ``FigureWidget``. A change of λ or η recomputes the whole trajectory once; the play control
and the time slider only index into it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go
import torch
from torch import nn

import gaugelab as gl
from gaugelab._check import nonnegative_number, positive_int, positive_number

#: Colours of the neurons' curves (plotly's default qualitative palette).
PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880")


def demo_model(width: int = 8, seed: int = 0, spread: float = 1.0, init_scale: float = 2.0) -> nn.Sequential:
    """The player's two-layer net: balanced, then each neuron moved along its orbit by a random α_j.

    log α_j ~ U[−spread, spread] (:func:`gaugelab.gauge.random_scales`), so ρ_j(0) = 2 log α_j.
    """
    width = positive_int(width, "width")
    spread = nonnegative_number(spread, "spread")
    model = gl.balance(gl.two_layer(1, width, seed=seed, init_scale=init_scale))
    return gl.rescale(model, gl.random_scales(model, -spread, spread, seed=seed + 1))


@dataclass
class PenaltyRun:
    """A penalty-only GD trajectory recorded at every step.

    t: (K+1,) times η·k; delta: (K+1, H) imbalances δ_j; function_change: (K+1,)
    max_x |f_t(x) − f_0(x)| on the probe inputs; diverged / diverged_step: the divergence report
    (the trajectory then stops at the last finite step, K = diverged_step − 1).
    """

    t: torch.Tensor
    delta: torch.Tensor
    function_change: torch.Tensor
    lr: float
    lam: float
    diverged: bool = False
    diverged_step: int | None = None

    @property
    def steps(self) -> int:
        return len(self.t) - 1


def penalty_descent(model: nn.Module, lam: float, lr: float, steps: int, probe=None) -> PenaltyRun:
    """GD on R_λ alone: θ_{k+1} = θ_k − η ∇R_λ(θ_k), ∇R_λ by autograd of ``gl.gauge_penalty``.

    ``model`` is not modified. ``probe`` (N, d_in): inputs where |f_t − f_0| is measured (default 61
    points on [−3, 3]). Divergence (a non-finite parameter, or max|δ| above 1e6 (1 + max|δ(0)|)) stops
    the run and is reported in the result, never raised.
    """
    lam = nonnegative_number(lam, "lam")
    lr = positive_number(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    model = copy.deepcopy(model)
    dtype = next(model.parameters()).dtype
    if probe is None:
        probe = torch.linspace(-3, 3, 61, dtype=dtype)[:, None]
    probe = gl.nets.as_input(model, probe, "probe")
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():
        f0 = model(probe)
        d0 = gl.flat(gl.imbalance(model)).clone()
    limit = 1e6 * (1 + float(d0.abs().max()))
    deltas, changes = [d0], [0.0]
    diverged_step = None
    for k in range(1, steps + 1):
        grads = torch.autograd.grad(gl.gauge_penalty(model, lam), params, allow_unused=True)
        with torch.no_grad():
            for p, g in zip(params, grads):
                if g is not None:
                    p.sub_(lr * g)
            d = gl.flat(gl.imbalance(model))
            if not torch.isfinite(d).all() or float(d.abs().max()) > limit:
                diverged_step = k
                break
            deltas.append(d.clone())
            changes.append(float((model(probe) - f0).abs().max()))
    n = len(deltas)
    return PenaltyRun(
        t=lr * torch.arange(n, dtype=dtype),
        delta=torch.stack(deltas),
        function_change=torch.tensor(changes, dtype=dtype),
        lr=lr,
        lam=lam,
        diverged=diverged_step is not None,
        diverged_step=diverged_step,
    )


def closed_form_imbalance(model: nn.Module, lam: float, t) -> torch.Tensor:
    """δ_j(t) of the gradient flow of R_λ: ρ_j(t) from ``gl.relaxation``, δ = 2‖v_j‖ sinh ρ_j(t).

    Returns a (len(t), H) tensor; ρ_j(0) and ‖v_j‖ are read from ``model`` (one hidden layer).
    """
    lam = nonnegative_number(lam, "lam")
    with torch.no_grad():
        rho0 = gl.flat(gl.log_scale(model))
        v_norm = gl.flat(gl.path_norm(model))
    t = torch.as_tensor(t, dtype=rho0.dtype).reshape(-1, 1)
    return gl.imbalance_from_log_scale(gl.relaxation(rho0, v_norm, lam, t), v_norm)


def step_at_frame(run: PenaltyRun, frame: int, n_frames: int, horizon: float) -> int:
    """The recorded step shown at ``frame`` of ``n_frames``: time horizon·frame/n_frames, clipped
    to the last recorded step (a diverged run stops early)."""
    t = horizon * frame / n_frames
    return int(min(round(t / run.lr), run.steps))


class RelaxationPlayer:
    """λ and η sliders, a play control and a time slider; δ_j(t) simulated vs closed form.

    Attributes: ``fig`` (FigureWidget), ``lam``, ``lr`` (FloatSliders), ``frame`` (IntSlider),
    ``play`` (ipywidgets.Play, linked to ``frame``), ``readout`` (HTML), ``widget`` (the whole app),
    ``run`` (the current :class:`PenaltyRun`) and ``closed`` (its closed-form δ_j(t)).
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        lam: float = 0.5,
        lr: float = 0.03,
        horizon: float = 3.0,
        n_frames: int = 100,
        max_steps: int = 150,
    ):
        self.model = demo_model() if model is None else copy.deepcopy(model)
        if len(gl.hidden_layers(self.model)) != 1:
            raise ValueError("model: the player expects a two-layer net (one hidden layer)")
        self.horizon = positive_number(horizon, "horizon")
        self.n_frames = positive_int(n_frames, "n_frames")
        self.max_steps = positive_int(max_steps, "max_steps")
        with torch.no_grad():
            self.delta0 = gl.flat(gl.imbalance(self.model)).clone()
            self.v_norm = gl.flat(gl.path_norm(self.model)).clone()
            self.stiffness = float(gl.penalty.penalty_stiffness(self.model))
        self.width = len(self.delta0)
        self.lam = widgets.FloatSlider(
            value=lam, min=0.0, max=3.0, step=0.05, description="λ", continuous_update=True
        )
        lr_min = max(0.01, self.horizon / self.max_steps)
        self.lr = widgets.FloatSlider(
            value=max(lr, lr_min), min=lr_min, max=0.6, step=0.01, description="η", continuous_update=True
        )
        self.frame = widgets.IntSlider(
            value=0, min=0, max=self.n_frames, description="time", continuous_update=True, readout=False
        )
        self.play = widgets.Play(value=0, min=0, max=self.n_frames, step=1, interval=80, description="play")
        widgets.link((self.play, "value"), (self.frame, "value"))
        self.readout = widgets.HTML()
        self.fig = self._build_figure()
        self._static = go.Figure(self.fig.to_dict())
        self.lam.observe(self._on_params, names="value")
        self.lr.observe(self._on_params, names="value")
        self.frame.observe(self._on_frame, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.lam, self.lr]),
                widgets.HBox([self.play, self.frame]),
                self.readout,
                self.fig,
            ]
        )

    # --- pure parts -------------------------------------------------------------------------
    def compute(self, lam: float, lr: float) -> tuple[PenaltyRun, torch.Tensor]:
        """The trajectory for (λ, η) over the time horizon and its closed form at the same times."""
        steps = min(self.max_steps, math.ceil(self.horizon / lr - 1e-9))
        run = penalty_descent(self.model, lam, lr, steps)
        return run, closed_form_imbalance(self.model, lam, run.t)

    def _title(self) -> str:
        return (
            f"Imbalance relaxation under the penalty alone: λ = {self.lam.value:.2f}, η = {self.lr.value:.2f}"
        )

    def _readout_html(self, k: int) -> str:
        run, closed = self.run, self.closed
        gap = float((run.delta[: k + 1] - closed[: k + 1]).abs().max())
        factor = 1 - 2 * run.lr * run.lam * self.stiffness
        lines = [
            f"t = {float(run.t[k]):.2f} (step {k} of {run.steps}) · "
            f"max<sub>j</sub> |δ<sub>j</sub>| = {float(run.delta[k].abs().max()):.3g} "
            f"(start {float(self.delta0.abs().max()):.3g})",
            f"simulated vs closed form so far: max |Δδ| = {gap:.2e} · "
            "function moved: max<sub>x</sub> |f<sub>t</sub> − f<sub>0</sub>| = "
            f"{float(run.function_change[k]):.2e}",
            f"worst per-step factor 1 − 2ηλ max(‖u‖²+‖a‖²) = {factor:.2f} at the start "
            f"(monotone above 0, oscillating below 0, unstable below ≈ −1)",
        ]
        if run.diverged:
            lines.append(
                f"<b style='color:#c00'>DIVERGED at step {run.diverged_step}: ηλ is past the penalty's "
                f"own stability limit; the curves stop at the last finite step.</b>"
            )
        return "<br>".join(lines)

    # --- figure -----------------------------------------------------------------------------
    def _build_figure(self) -> go.FigureWidget:
        self.run, self.closed = self.compute(self.lam.value, self.lr.value)
        fig = go.FigureWidget()
        for j in range(self.width):
            color = PALETTE[j % len(PALETTE)]
            fig.add_scatter(
                mode="lines",
                line=dict(color=color, width=2),
                name=f"neuron {j}",
                legendgroup=f"n{j}",
                hovertemplate=f"neuron {j} (simulated)<br>t=%{{x:.2f}}<br>δ=%{{y:.4f}}<extra></extra>",
            )
        for j in range(self.width):
            color = PALETTE[j % len(PALETTE)]
            fig.add_scatter(
                mode="lines",
                line=dict(color="black", width=1, dash="dot"),
                name="closed form" if j == 0 else f"closed form {j}",
                showlegend=j == 0,
                legendgroup="closed",
                hovertemplate=f"neuron {j} (closed form)<br>t=%{{x:.2f}}<br>δ=%{{y:.4f}}<extra></extra>",
            )
        fig.add_scatter(
            mode="markers",
            marker=dict(size=9, color=list(PALETTE[: self.width]), line=dict(color="black", width=1)),
            name="now",
            showlegend=False,
            hoverinfo="skip",
        )
        span = 1.25 * float(self.delta0.abs().max())
        fig.add_scatter(
            mode="lines",
            line=dict(color="grey", width=1),
            showlegend=False,
            hoverinfo="skip",
            y=[-span, span],
        )
        fig.update_layout(
            title=self._title(),
            xaxis_title="time t = η · step",
            yaxis_title="imbalance δ_j = ‖u_j‖² − ‖a_j‖²",
            xaxis_range=[0, self.horizon],
            yaxis_range=[-span, span],
            height=430,
            margin=dict(l=60, r=20, t=50, b=50),
            legend=dict(font=dict(size=10)),
        )
        self._fill(fig)
        self._place(fig, 0)
        self.readout.value = self._readout_html(0)
        return fig

    def _fill(self, fig) -> None:
        t = self.run.t.tolist()
        for j in range(self.width):
            fig.data[j].update(x=t, y=self.run.delta[:, j].tolist())
            fig.data[self.width + j].update(x=t, y=self.closed[:, j].tolist())
        fig.layout.title.text = self._title()

    def _place(self, fig, k: int) -> None:
        t = float(self.run.t[k])
        fig.data[2 * self.width].update(x=[t] * self.width, y=self.run.delta[k].tolist())
        fig.data[2 * self.width + 1].x = [t, t]

    # --- observers --------------------------------------------------------------------------
    def _on_params(self, _change=None) -> None:
        self.run, self.closed = self.compute(self.lam.value, self.lr.value)
        k = step_at_frame(self.run, self.frame.value, self.n_frames, self.horizon)
        with self.fig.batch_update():
            self._fill(self.fig)
            self._place(self.fig, k)
        self.readout.value = self._readout_html(k)

    def _on_frame(self, _change=None) -> None:
        k = step_at_frame(self.run, self.frame.value, self.n_frames, self.horizon)
        with self.fig.batch_update():
            self._place(self.fig, k)
        self.readout.value = self._readout_html(k)

    def show_static(self) -> None:
        """Show the initial figure as a static plotly figure (+ PNG), readable without a kernel."""
        from gaugelab.display import show

        show(self._static)
