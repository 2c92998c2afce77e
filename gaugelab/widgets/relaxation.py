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
:class:`gaugelab.widgets.front.FrontFigure`. A change of λ or η recomputes the whole trajectory
once; the play control and the time slider only index into it, in the page (a table of every
frame), and once the input is idle the page also gets every run of the λ row and η column.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

import gaugelab as gl
from gaugelab import theme
from gaugelab._check import nonnegative_number, positive_int, positive_number
from gaugelab.widgets import front
from gaugelab.widgets.live import LatestWins, WhenIdle
from gaugelab.widgets.threads import one_thread


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


def side_by_side(model: nn.Module, copies: int) -> nn.Sequential:
    """``copies`` copies of a two-layer net as one wider net: copy b's hidden neurons are neurons
    b·H … b·H + H − 1, and its output is output block b (the output weight is block-diagonal).

    Each hidden neuron keeps its own (u_j, a_j) (the zero blocks add nothing to ‖a_j‖), so
    ``gl.imbalance`` of the wide net lists every copy's δ_j and its forward gives every copy's f.
    """
    copies = positive_int(copies, "copies")
    layers = [m for m in model if isinstance(m, nn.Linear)]
    first, last = layers
    h, d_out = first.out_features, last.out_features
    wide_in = nn.Linear(first.in_features, copies * h, bias=first.bias is not None)
    wide_out = nn.Linear(copies * h, copies * d_out, bias=last.bias is not None)
    wide_in, wide_out = wide_in.to(first.weight.dtype), wide_out.to(last.weight.dtype)
    with torch.no_grad():
        wide_in.weight.copy_(first.weight.repeat(copies, 1))
        if first.bias is not None:
            wide_in.bias.copy_(first.bias.repeat(copies))
        wide_out.weight.copy_(torch.block_diag(*[last.weight] * copies))
        if last.bias is not None:
            wide_out.bias.copy_(last.bias.repeat(copies))
    swap = {id(first): wide_in, id(last): wide_out}
    return nn.Sequential(*[swap.get(id(m), copy.deepcopy(m)) for m in model])


def penalty_descent_batch(model: nn.Module, lams, lrs, steps, probe=None) -> list[PenaltyRun]:
    """Runs b = 0 … B−1 of :func:`penalty_descent` (λ_b, η_b, steps_b), trained side by side.

    θ_b ← θ_b − η_b ∇R_{λ_b}(θ_b) for every copy at once: one ``gl.gauge_penalty`` (λ = 1) of the
    :func:`side_by_side` net, one backward, and each copy's neurons stepped by η_b λ_b (R_λ = λ R_1,
    and R_1 is a sum over neurons, so copies do not interact). A copy stops after its own steps_b
    or at its divergence (a non-finite δ, or max|δ| above 1e6 (1 + max|δ(0)|)); it is then frozen
    at its last finite parameters, so nothing non-finite reaches the others.
    """
    if len(gl.hidden_layers(model)) != 1:
        raise ValueError("model: expected a two-layer net (one hidden layer)")
    lams = [nonnegative_number(v, "lams") for v in lams]
    lrs = [positive_number(v, "lrs") for v in lrs]
    steps = list(steps)
    for v in steps:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"steps: expected integers >= 0, got {v!r}")
    b = len(lams)
    if not b or len(lrs) != b or len(steps) != b:
        raise ValueError(
            f"lams, lrs, steps: expected one value each per run, got {len(lams)}, {len(lrs)}, {len(steps)}"
        )
    dtype = next(model.parameters()).dtype
    if probe is None:
        probe = torch.linspace(-3, 3, 61, dtype=dtype)[:, None]
    probe = gl.nets.as_input(model, probe, "probe")
    wide = side_by_side(model, b)
    first, last = [m for m in wide if isinstance(m, nn.Linear)]
    h = first.out_features // b
    lam_t, lr_t = torch.tensor(lams, dtype=dtype), torch.tensor(lrs, dtype=dtype)
    remaining = torch.tensor(steps)
    with torch.no_grad():
        f0 = wide(probe).reshape(len(probe), b, -1)
        d0 = gl.flat(gl.imbalance(wide)).reshape(b, h)
    limit = 1e6 * (1 + float(d0[0].abs().max()))
    deltas, changes = [d0.clone()], [torch.zeros(b, dtype=dtype)]
    active = remaining > 0
    diverged_at = torch.full((b,), -1)
    last_step = torch.zeros(b, dtype=torch.long)
    params = [first.weight, last.weight] + [p for p in (first.bias,) if p is not None]
    for k in range(1, max(steps, default=0) + 1):
        if not active.any():
            break
        rate = torch.where(active, lr_t * lam_t, torch.zeros_like(lr_t)).repeat_interleave(h)
        grads = torch.autograd.grad(gl.gauge_penalty(wide, 1.0), params)
        with torch.no_grad():
            saved = [p.clone() for p in params]
            first.weight.sub_(rate[:, None] * grads[0])
            last.weight.sub_(rate[None, :] * grads[1])
            if first.bias is not None:
                first.bias.sub_(rate * grads[2])
            d = gl.flat(gl.imbalance(wide)).reshape(b, h)
            bad = active & (~torch.isfinite(d).all(1) | (d.abs().amax(1) > limit))
            if bad.any():  # back to the last finite parameters for those copies
                cols = bad.repeat_interleave(h)
                first.weight[cols] = saved[0][cols]
                last.weight[:, cols] = saved[1][:, cols]
                if first.bias is not None:
                    first.bias[cols] = saved[2][cols]
                diverged_at[bad] = k
                active &= ~bad
                d = gl.flat(gl.imbalance(wide)).reshape(b, h)
            last_step[active] = k
            deltas.append(d.clone())
            changes.append((wide(probe).reshape(len(probe), b, -1) - f0).abs().amax((0, 2)))
            active &= remaining > k
    delta, change = torch.stack(deltas), torch.stack(changes)
    runs = []
    for i in range(b):
        n = int(last_step[i]) + 1
        div = int(diverged_at[i])
        runs.append(
            PenaltyRun(
                t=lrs[i] * torch.arange(n, dtype=dtype),
                delta=delta[:n, i].clone(),
                function_change=change[:n, i].clone(),
                lr=lrs[i],
                lam=lams[i],
                diverged=div > 0,
                diverged_step=div if div > 0 else None,
            )
        )
    return runs


def penalty_descent(model: nn.Module, lam: float, lr: float, steps: int, probe=None) -> PenaltyRun:
    """GD on R_λ alone: θ_{k+1} = θ_k − η ∇R_λ(θ_k), ∇R_λ by autograd of ``gl.gauge_penalty``.

    ``model`` (a two-layer net) is not modified. ``probe`` (N, d_in): inputs where |f_t − f_0| is
    measured (default 61 points on [−3, 3]). Divergence (a non-finite parameter, or max|δ| above
    1e6 (1 + max|δ(0)|)) stops the run and is reported in the result, never raised. One run of
    :func:`penalty_descent_batch`.
    """
    lam = nonnegative_number(lam, "lam")
    lr = positive_number(lr, "lr")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    return penalty_descent_batch(model, [lam], [lr], [steps], probe)[0]


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

    Attributes: ``fig`` (the Python-side ``go.Figure`` mirror of what the page draws), ``front``
    (the FrontFigure), ``lam``, ``lr`` (FloatSliders), ``frame`` (IntSlider),
    ``play`` (ipywidgets.Play, linked to ``frame`` in the browser), ``readout`` (HTML), ``widget``
    (the whole app), ``run`` (the current :class:`PenaltyRun`) and ``closed`` (its closed-form δ_j(t)).

    Runs are kept once computed: a move to a new (λ, η) computes that run; once the input is idle
    the kernel computes, a few at a time with :func:`penalty_descent_batch`, every λ of the slider
    at this η and every η at this λ, so further moves along either slider only look runs up. The
    time slider and the play control only move the markers and the cursor. A diverged run disables
    play and the time slider.
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
        self.lam_grid = front.slider_grid(self.lam, 6)
        self.lr_grid = front.slider_grid(self.lr, 6)
        self._runs: dict[tuple[float, float], tuple[PenaltyRun, torch.Tensor]] = {}
        self.chunk = 12
        self._filler = WhenIdle(self._fill_around, delay=0.3)
        self.frame = widgets.IntSlider(
            value=0, min=0, max=self.n_frames, description="time", continuous_update=True, readout=False
        )
        self.play = widgets.Play(value=0, min=0, max=self.n_frames, step=1, interval=80, description="play")
        self.play_link = widgets.jslink((self.play, "value"), (self.frame, "value"))
        self.readout = front.Text()  # the readout's HTML (drawn in the page above the plot)
        self.fig = self._build_figure()  # the Python-side mirror of what the page draws
        self._static = go.Figure(self.fig.to_dict())
        self.front = front.FrontFigure(
            self.fig,
            {"lam": self.lam, "lr": self.lr, "frame": self.frame},
            self.serve,
            readout=self.readout.value,
            readout_min_height="6.5em",
        )
        self._params_runner = LatestWins(self._on_params)
        self._frame_runner = LatestWins(self._on_frame)
        self._params_runner.observe(self.lam).observe(self.lr)
        self._frame_runner.observe(self.frame)
        for w, width in ((self.lam, "270px"), (self.lr, "270px"), (self.frame, "300px")):
            w.layout.width = width
        self.widget = widgets.VBox([widgets.HBox([self.lam, self.lr, self.play, self.frame]), self.front])
        self._sync_controls()
        self.fill_all_nearby()  # the λ row and η column now (≈ 1 s): the first drag is drawn in the page

    # --- pure parts -------------------------------------------------------------------------
    def steps_for(self, lr: float) -> int:
        """Steps that cover the time horizon at step η (at most ``max_steps``)."""
        return min(self.max_steps, math.ceil(self.horizon / lr - 1e-9))

    def compute(self, lam: float, lr: float) -> tuple[PenaltyRun, torch.Tensor]:
        """The trajectory for (λ, η) over the time horizon and its closed form at the same times."""
        run = penalty_descent(self.model, lam, lr, self.steps_for(lr))
        return run, closed_form_imbalance(self.model, lam, run.t)

    def lookup(self, lam: float, lr: float) -> tuple[PenaltyRun, torch.Tensor]:
        """As :meth:`compute` for slider values, from the stored runs (a missing one is computed
        now; the rest of its λ row and η column once the input is idle, see :meth:`_fill_around`)."""
        key = (round(float(lam), 6), round(float(lr), 6))
        if key not in self._runs:
            self._fill_rows([key])
        self._around = key
        self._filler.poke()
        return self._runs[key]

    def _fill_around(self):
        """Generator (run by ``WhenIdle``): every λ of the slider at the current η and every η at the
        current λ, a few runs per event-loop turn, so the next slider moves only look them up."""
        lam, lr = self._around
        row = [(v, lr) for v in self.lam_grid] + [(lam, v) for v in self.lr_grid]
        todo = sorted(
            (p for p in row if p not in self._runs), key=lambda p: abs(p[0] - lam) + abs(p[1] - lr)
        )  # nearest first
        for i in range(0, len(todo), self.chunk):
            self._fill_rows(todo[i : i + self.chunk])
            yield
        self._publish_rows()

    def fill_all_nearby(self) -> None:
        """Compute the pending λ row and η column now (what an idle kernel does on its own)."""
        self._filler.flush()

    def _fill_rows(self, pairs) -> None:
        pairs = [(round(float(a), 6), round(float(b), 6)) for a, b in pairs]
        pairs = [p for p in dict.fromkeys(pairs) if p not in self._runs]
        if not pairs:
            return
        lams, lrs = [p[0] for p in pairs], [p[1] for p in pairs]
        with one_thread():
            runs = penalty_descent_batch(self.model, lams, lrs, [self.steps_for(v) for v in lrs])
        for p, run in zip(pairs, runs):
            self._runs[p] = (run, closed_form_imbalance(self.model, p[0], run.t))

    def _readout_html(self, k: int, run: PenaltyRun | None = None, closed: torch.Tensor | None = None) -> str:
        run, closed = (self.run, self.closed) if run is None else (run, closed)
        gap = float((run.delta[: k + 1] - closed[: k + 1]).abs().max())
        factor = 1 - 2 * run.lr * run.lam * self.stiffness
        lines = [
            f"<b>λ = {run.lam:.2f}, η = {run.lr:.2f}</b> · "
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
                f"own stability limit; the curves stop at the last finite step. Play and the time "
                f"slider are off until λ or η is lowered.</b>"
            )
        return "<br>".join(lines)

    # --- figure -----------------------------------------------------------------------------
    def _build_figure(self) -> go.Figure:
        self.run, self.closed = self.lookup(self.lam.value, self.lr.value)
        fig = go.Figure()
        # the theme's colour-blind-safe palette; past four neurons the line style tells them apart too
        palette, ink = theme.colors(), theme.ROLE_COLORS["target"]
        colors = [palette[j % len(palette)] for j in range(self.width)]
        for j in range(self.width):
            fig.add_scatter(
                mode="lines",
                line=dict(color=colors[j], width=2, dash=theme.DASHES[(j // 4) % len(theme.DASHES)]),
                name=f"neuron {j}",
                legendgroup=f"n{j}",
                hovertemplate=f"neuron {j} (simulated)<br>t=%{{x:.2f}}<br>δ=%{{y:.4f}}<extra></extra>",
            )
        for j in range(self.width):
            fig.add_scatter(
                mode="lines",
                line=dict(color=ink, width=1, dash="dot"),
                name="closed form" if j == 0 else f"closed form {j}",
                showlegend=j == 0,
                legendgroup="closed",
                hovertemplate=f"neuron {j} (closed form)<br>t=%{{x:.2f}}<br>δ=%{{y:.4f}}<extra></extra>",
            )
        fig.add_scatter(
            mode="markers",
            marker=dict(size=9, color=colors, line=dict(color=ink, width=1)),
            name="now",
            showlegend=False,
            hoverinfo="skip",
        )
        span = 1.25 * float(self.delta0.abs().max())
        fig.add_scatter(
            mode="lines",
            line=dict(color="grey", width=1),
            showlegend=True,
            hoverinfo="skip",
            y=np.array([-span, span]),
        )
        fig.update_layout(
            title=dict(text="Imbalance relaxation under the penalty alone", font=dict(size=14)),
            xaxis_title="time t = η · step",
            yaxis_title="imbalance δ_j = ‖u_j‖² − ‖a_j‖²",
            xaxis_range=[0, self.horizon],
            yaxis_range=[-span, span],
            height=420,
            width=920,
            margin=dict(l=60, r=20, t=40, b=45),
            legend=dict(font=dict(size=10)),
            template=theme.template(),
        )
        upd = front.merge(self._curves(self.run, self.closed), self._marks(self.run, self.closed, 0))
        front.apply(fig, upd)
        self.readout.value = upd["readout"]
        return fig

    def _curves(self, run: PenaltyRun, closed: torch.Tensor) -> dict:
        """Update: the simulated and closed-form curves of ``run``."""
        t, delta, closed = run.t.numpy(), run.delta.numpy(), closed.numpy()
        traces = {j: {"x": t, "y": delta[:, j]} for j in range(self.width)}
        traces |= {self.width + j: {"x": t, "y": closed[:, j]} for j in range(self.width)}
        return front.update(traces)

    def _marks(self, run: PenaltyRun, closed: torch.Tensor, k: int) -> dict:
        """Update: the markers and the time cursor at step ``k``, and the readout."""
        t = float(run.t[k])
        traces = {
            2 * self.width: {"x": np.full(self.width, t), "y": run.delta[k].numpy()},
            2 * self.width + 1: {
                "x": np.array([t, t]),
                "name": f"now: t = {t:.2f}<br>λ = {run.lam:.2f}, η = {run.lr:.2f}",  # legend, no relayout
            },
        }
        return front.update(traces, readout=self._readout_html(k, run, closed))

    def state_update(self, lam: float, lr: float, frame: int) -> dict:
        """The whole update for the state (λ, η, frame): curves, markers, cursor and readout."""
        return self._whole(*self.lookup(lam, lr), frame)

    def _whole(self, run: PenaltyRun, closed: torch.Tensor, frame: int) -> dict:
        k = step_at_frame(run, int(frame), self.n_frames, self.horizon)
        return front.merge(self._curves(run, closed), self._marks(run, closed, k))

    def serve(self, state: dict) -> dict:
        """The update for a state the page's tables do not hold (asked by the page)."""
        return self.state_update(state["lam"], state["lr"], state["frame"])

    def _frame_table(self) -> dict:
        run, closed = self.run, self.closed
        frames = range(self.n_frames + 1)
        steps = [step_at_frame(run, f, self.n_frames, self.horizon) for f in frames]
        return front.table(
            "frame",
            {"lam": self.lam.value, "lr": self.lr.value},
            frames,
            [self._marks(run, closed, k) for k in steps],
            complete=False,  # markers, cursor and readout only: the curves must be this run's,
        )

    def _row_table(self, along: str) -> dict:
        """λ row (``along="lam"``) or η column (``"lr"``) through the current state: every stored run."""
        lam, lr, frame = self.lam.value, self.lr.value, self.frame.value
        if along == "lam":
            keys = [(v, round(float(lr), 6)) for v in self.lam_grid]
            at = {"lr": lr, "frame": frame}
        else:
            keys = [(round(float(lam), 6), v) for v in self.lr_grid]
            at = {"lam": lam, "frame": frame}
        keys = [p for p in keys if p in self._runs]
        values = [p[0] if along == "lam" else p[1] for p in keys]
        return front.table(along, at, values, [self._whole(*self._runs[p], frame) for p in keys])

    def _publish_rows(self) -> None:
        """Send every table: frames of the current run, the λ row and the η column (input idle)."""
        self.front.tables = [self._frame_table(), self._row_table("lam"), self._row_table("lr")]

    def _sync_controls(self) -> None:
        """Play and the time slider are off after a divergence (the readout says why)."""
        off = bool(self.run.diverged)
        if off:
            self.play.playing = False
        self.play.disabled = self.frame.disabled = off

    # --- observers --------------------------------------------------------------------------
    def _on_params(self, _change=None) -> None:
        self.run, self.closed = self.lookup(self.lam.value, self.lr.value)
        self._show(self.state_update(self.lam.value, self.lr.value, self.frame.value))
        self._sync_controls()
        # the page's λ row still holds (same η and frame); this run's frames and the η column
        # follow once the input is idle (the filler publishes every table): no megabytes per step
        self._filler.poke()

    def _on_frame(self, _change=None) -> None:
        k = step_at_frame(self.run, self.frame.value, self.n_frames, self.horizon)
        self._show(self._marks(self.run, self.closed, k))
        self._filler.poke()  # the λ row and η column hold the frame: refresh them when idle

    def _show(self, upd: dict) -> None:
        """Bring the Python-side mirror (``fig``, ``readout``) to what the page draws."""
        front.apply(self.fig, upd)
        self.readout.value = upd.get("readout", self.readout.value)

    def show_static(self) -> None:
        """Show the initial figure as a static plotly figure (+ PNG), readable without a kernel."""
        from gaugelab.display import show

        show(self._static)
