"""Scalar-toy landscape: L(a, w) = ½(a·w − y)² with its orbits, and GD with and without the penalty.

THEORY §5 with x = 1: f = a·w·x is the two-layer net ``gl.two_layer(1, 1, 1, bias=False)`` with
u = w and a the outgoing weight. For w > 0 and x = 1 the ReLU net and the linear one coincide; we
build the toy with the identity activation so that it stays the exact scalar toy even when a large
step throws w below zero. The gauge orbits are the hyperbolas a·w = const (the function is constant
on each); the minima form the orbit a·w = y. Gradient flow of L conserves δ = w² − a², so its
paths run along the hyperbolas w² − a² = δ(0), which cross the orbits at right angles. The penalty
R_λ = (λ/4)(w² − a²)² (``gl.gauge_penalty``) pushes along the orbits toward the balanced lines
|a| = |w|, where the minimum is flattest: the top Hessian eigenvalue there is a² + w² ≥ 2|y|.

Trajectories are computed by autograd of ``gl.half_mse`` + ``gl.gauge_penalty`` on the toy model
(:func:`toy_descent`; many at once, bit for bit the same, :func:`toy_descents_batch`);
:class:`LandscapeWidget` only wires the pure functions to ipywidgets and a
:class:`gaugelab.widgets.front.FrontFigure`, which redraws in the page from tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

import gaugelab as gl
from gaugelab import theme
from gaugelab._check import finite_number, nonnegative_number, positive_number
from gaugelab.widgets import front
from gaugelab.widgets.live import WhenIdle
from gaugelab.widgets.orbit import shape_centre

LIM = 3.0  # the plotted square [−LIM, LIM]²
DRAG_RADIUS = 0.13  # radius of the draggable ring around the start point, in units of a and w


_finite = finite_number


def toy_model(a: float, w: float) -> nn.Sequential:
    """The scalar toy f(x) = a·σ(w·x) as ``gl.two_layer(1, 1, 1, bias=False, activation="identity")``."""
    a, w = _finite(a, "a"), _finite(w, "w")
    model = gl.two_layer(1, 1, 1, bias=False, activation="identity")
    with torch.no_grad():
        model[0].weight.fill_(w)
        model[2].weight.fill_(a)
    return model


@dataclass
class ToyRun:
    """A GD path in the (a, w) plane: a, w, loss L (without the penalty) at every recorded step."""

    a: torch.Tensor
    w: torch.Tensor
    loss: torch.Tensor
    lr: float
    lam: float
    with_loss: bool
    diverged: bool = False
    diverged_step: int | None = None

    @property
    def delta(self) -> torch.Tensor:
        """δ = w² − a² along the path (u = w, so δ = ‖u‖² − ‖a‖²)."""
        return self.w**2 - self.a**2

    @property
    def product(self) -> torch.Tensor:
        """a·w along the path: the orbit label (the function f(1))."""
        return self.a * self.w


def toy_descent(
    a0: float,
    w0: float,
    lr: float,
    lam: float = 0.0,
    steps: int = 80,
    y: float = 1.0,
    with_loss: bool = True,
) -> ToyRun:
    """GD θ ← θ − η ∇(L + R_λ) on the scalar toy from (a0, w0), L = ``gl.half_mse`` at x = 1.

    ``with_loss=False`` descends R_λ alone (the path then stays on its orbit a·w = a0·w0 up to
    O(η²) per step). Divergence (non-finite, or |a| or |w| above 1e3) stops the path and is
    reported in the result, never raised.
    """
    return toy_descents(a0, w0, lr, [lam], steps, y, with_loss)[0]


def toy_descents(
    a0: float,
    w0: float,
    lr: float,
    lams,
    steps: int = 80,
    y: float = 1.0,
    with_loss: bool = True,
) -> list[ToyRun]:
    """:func:`toy_descent` for several λ at once from the same start (one backward pass per step).

    The paths are independent toy models; the gradient of the sum of their objectives with
    respect to one model's (a, w) is that model's own gradient.
    """
    lr = positive_number(lr, "lr")
    lams = [nonnegative_number(lam, "lam") for lam in lams]
    y = _finite(y, "y")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    if not with_loss and min(lams) == 0:
        raise ValueError("lam: with with_loss=False the objective is R_λ alone, so lam must be > 0")
    models = [toy_model(a0, w0) for _ in lams]
    x = torch.ones(1, 1, dtype=torch.float64)
    target = torch.full((1, 1), y, dtype=torch.float64)
    hist = [([float(a0)], [float(w0)], []) for _ in lams]
    diverged: list[int | None] = [None] * len(lams)
    for k in range(1, steps + 1):
        active = [i for i in range(len(lams)) if diverged[i] is None]
        if not active:
            break
        objective = torch.zeros((), dtype=torch.float64)
        for i in active:
            loss = gl.half_mse(models[i](x), target)
            hist[i][2].append(float(loss.detach()))
            if with_loss:
                objective = objective + loss
            if lams[i] > 0:
                objective = objective + gl.gauge_penalty(models[i], lams[i])
        params = [p for i in active for p in (models[i][0].weight, models[i][2].weight)]
        grads = torch.autograd.grad(objective, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
        for i in active:
            a, w = float(models[i][2].weight.detach()), float(models[i][0].weight.detach())
            if not (math.isfinite(a) and math.isfinite(w)) or max(abs(a), abs(w)) > 1e3:
                diverged[i] = k
                continue
            hist[i][0].append(a)
            hist[i][1].append(w)
    runs = []
    dt = torch.float64
    for i, lam in enumerate(lams):
        a_hist, w_hist, loss_hist = hist[i]
        if diverged[i] is None:
            with torch.no_grad():
                loss_hist.append(float(gl.half_mse(models[i](x), target)))
        runs.append(
            ToyRun(
                a=torch.tensor(a_hist, dtype=dt),
                w=torch.tensor(w_hist, dtype=dt),
                loss=torch.tensor(loss_hist[: len(a_hist)], dtype=dt),
                lr=lr,
                lam=lam,
                with_loss=with_loss,
                diverged=diverged[i] is not None,
                diverged_step=diverged[i],
            )
        )
    return runs


def toy_descents_batch(configs, steps: int = 80, y: float = 1.0) -> list[ToyRun]:
    """:func:`toy_descent` (with the loss) for many starts and settings at once.

    ``configs``: (a0, w0, η, λ) per path. The B toys are the B neurons of one net
    ``gl.two_layer(1, B, 1, bias=False, activation="identity")``: toy i's output at x = 1 is neuron
    i's contribution a_i·σ(w_i), its loss ``gl.half_mse`` of that alone, and since R_λ is a sum
    over neurons, toy i's penalty gradient is λ_i times neuron i's part of ∇``gl.gauge_penalty``
    (λ = 1). One backward pass per step for all B paths; the same divergence rule and records as
    :func:`toy_descents` (tests compare the two).
    """
    cfg = [tuple(c) for c in configs]
    if not cfg or any(len(c) != 4 for c in cfg):
        raise ValueError(f"configs: expected a non-empty list of (a0, w0, lr, lam), got {configs!r}")
    a0 = [_finite(c[0], "a0") for c in cfg]
    w0 = [_finite(c[1], "w0") for c in cfg]
    lrs = [positive_number(c[2], "lr") for c in cfg]
    lams = [nonnegative_number(c[3], "lam") for c in cfg]
    y = _finite(y, "y")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    dt, b = torch.float64, len(cfg)
    net = gl.two_layer(1, b, 1, bias=False, activation="identity")
    w_par, a_par = net[0].weight, net[2].weight  # (B, 1) incoming, (1, B) outgoing
    with torch.no_grad():
        w_par.copy_(torch.tensor(w0, dtype=dt)[:, None])
        a_par.copy_(torch.tensor(a0, dtype=dt)[None, :])
    lr, lam = torch.tensor(lrs, dtype=dt), torch.tensor(lams, dtype=dt)
    x = torch.ones(1, 1, dtype=dt)
    target = torch.full((b, 1), y, dtype=dt)
    per_toy_loss = torch.vmap(gl.half_mse)
    a_hist, w_hist, l_hist = [a_par[0].detach().clone()], [w_par[:, 0].detach().clone()], []
    alive = torch.ones(b, dtype=torch.bool)
    div_step = torch.zeros(b, dtype=torch.long)
    for k in range(1, steps + 1):
        if not alive.any():
            break
        out = net[1](net[0](x)) * a_par  # (1, B): each neuron's contribution = toy i's output
        losses = per_toy_loss(out.T.unsqueeze(-1), target.unsqueeze(-1))
        l_hist.append(losses.detach().clone())
        g_w, g_a = torch.autograd.grad(losses.sum(), (w_par, a_par))
        p_w, p_a = torch.autograd.grad(gl.gauge_penalty(net, 1.0), (w_par, a_par))
        with torch.no_grad():
            step_w = (lr * alive)[:, None] * (g_w + lam[:, None] * p_w)
            step_a = (lr * alive)[None, :] * (g_a + lam[None, :] * p_a)
            w_par.sub_(step_w)
            a_par.sub_(step_a)
            a, w = a_par[0], w_par[:, 0]
            bad = alive & (~torch.isfinite(a) | ~torch.isfinite(w) | (torch.maximum(a.abs(), w.abs()) > 1e3))
            div_step[bad] = k
            alive &= ~bad
            # a diverged toy keeps its last finite point (it no longer moves)
            a_par[0, bad] = a_hist[-1][bad]
            w_par[bad, 0] = w_hist[-1][bad]
        a_hist.append(a_par[0].detach().clone())
        w_hist.append(w_par[:, 0].detach().clone())
    with torch.no_grad():
        out = net[1](net[0](x)) * a_par
        l_hist.append(per_toy_loss(out.T.unsqueeze(-1), target.unsqueeze(-1)))
    A, W, L = torch.stack(a_hist), torch.stack(w_hist), torch.stack(l_hist)
    runs = []
    for i in range(b):
        n = int(div_step[i]) if div_step[i] > 0 else A.shape[0]  # points before the bad step
        runs.append(
            ToyRun(
                a=A[:n, i].clone(),
                w=W[:n, i].clone(),
                loss=L[:n, i].clone(),
                lr=lrs[i],
                lam=lams[i],
                with_loss=True,
                diverged=bool(div_step[i] > 0),
                diverged_step=int(div_step[i]) if div_step[i] > 0 else None,
            )
        )
    return runs


def loss_grid(
    y: float = 1.0, lim: float = LIM, n: int = 101
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(a, w, L) with L[i, k] = ½(a_k·w_i − y)² on an n×n grid of [−lim, lim]², via ``gl.half_mse``."""
    y = _finite(y, "y")
    grid = torch.linspace(-lim, lim, n, dtype=torch.float64)
    pred = grid[:, None] * grid[None, :]  # [i, k] = w_i · a_k (x = 1)
    loss = gl.half_mse(pred.reshape(-1, 1, 1), torch.full((1, 1), y, dtype=torch.float64))
    return grid, grid, loss.reshape(n, n)


def orbit_curve(c: float, lim: float = LIM, n: int = 200) -> tuple[list, list]:
    """Points of the orbit a·w = c inside [−lim, lim]² (both branches, separated by None)."""
    c = _finite(c, "c")
    if abs(c) < 1e-12:
        return [-lim, lim, None, 0.0, 0.0], [0.0, 0.0, None, -lim, lim]
    xs, ys = [], []
    for sign in (1.0, -1.0):
        lo = abs(c) / lim
        a = torch.logspace(math.log10(lo), math.log10(lim), n, dtype=torch.float64) * sign
        xs += a.tolist() + [None]
        ys += (c / a).tolist() + [None]
    return xs, ys


def imbalance_curve(a0: float, w0: float, lim: float = LIM, n: int = 200) -> tuple[list, list]:
    """The branch through (a0, w0) of the hyperbola w² − a² = δ0 (what gradient flow of L keeps)."""
    a0, w0 = _finite(a0, "a0"), _finite(w0, "w0")
    d0 = w0**2 - a0**2
    s = torch.linspace(-lim, lim, n, dtype=torch.float64)
    if d0 >= 0:  # w = ±√(a² + δ0), the sign of w0
        return s.tolist(), (math.copysign(1.0, w0) * torch.sqrt(s**2 + d0)).tolist()
    return (math.copysign(1.0, a0) * torch.sqrt(s**2 - d0)).tolist(), s.tolist()


def describe(run: ToyRun, label: str) -> str:
    """One readout line: where the path ended, its δ, L and a² + w² (the sharpness at a minimum)."""
    a, w = float(run.a[-1]), float(run.w[-1])
    text = (
        f"<b>{label}</b>: end (a, w) = ({a:.3f}, {w:.3f}), δ = w² − a² = {w * w - a * a:.3f} "
        f"(start {float(run.delta[0]):.3f}), L = {float(run.loss[-1]):.2e}, a² + w² = {a * a + w * w:.3f}"
    )
    if run.diverged:
        text += f" <b style='color:#c00'>DIVERGED at step {run.diverged_step} (path cut there)</b>"
    return text


def project_on_toy_orbit(a0: float, w0: float, a: float, w: float, a_range=(-2.5, 2.5), w_range=(0.1, 2.5)):
    """The point (a0 e^{−s}, w0 e^{s}) of the orbit a·w = a0·w0 nearest to (a, w) (Euclidean in
    the (a, w) plane), among the points inside ``a_range`` × ``w_range`` (the sliders' ranges).
    On the degenerate orbit a0 = 0 (the w axis) it is (0, w) with w clipped."""
    a0, w0, a, w = (_finite(v, n) for v, n in ((a0, "a0"), (w0, "w0"), (a, "a"), (w, "w")))
    if w0 <= 0:
        raise ValueError(f"w0: expected w0 > 0 (the slider's range), got {w0!r}")
    if a0 == 0:
        return 0.0, float(min(max(w, w_range[0]), w_range[1]))
    s = np.linspace(-6.0, 6.0, 6001)
    pa, pw = a0 * np.exp(-s), w0 * np.exp(s)
    inside = (pa >= a_range[0]) & (pa <= a_range[1]) & (pw >= w_range[0]) & (pw <= w_range[1])
    d2 = np.where(inside, (pa - a) ** 2 + (pw - w) ** 2, np.inf)
    k = int(np.argmin(d2))
    return float(pa[k]), float(pw[k])


#: Trace indexes of the landscape figure.
L_CONTOUR, L_DIAG, L_MINIMA, L_ORBIT, L_CONSERVED, L_PLAIN, L_SOFT, L_START = range(8)
_NAMES = ("a0", "w0", "lr", "lam")  # the sliders, as the page's FrontFigure names them


class LandscapeWidget:
    """Sliders a0, w0, η, λ over the loss contours of the scalar toy, with two GD paths; the start
    point (the × in a red ring) can be dragged, and stays on its orbit a·w = a0·w0 (the nearest
    point of the hyperbola, :func:`project_on_toy_orbit`): the a₀, w₀ sliders follow.

    What runs on a step: nothing in the kernel before the redraw. The page holds a table along
    every slider from the current state (:meth:`publish_tables`: every value of each slider, the
    others fixed, all descents in one :func:`toy_descents_batch`), so a key step or a drag along
    one slider is redrawn in the browser. Once the input is idle
    (:class:`~gaugelab.widgets.live.WhenIdle`) the kernel's mirror catches up and the tables are
    rebuilt around the new state. A state no table holds (two sliders moved since) is computed by
    the kernel when the page asks.

    Attributes: ``fig`` (the Python-side ``go.Figure`` mirror of what the page draws, brought up to
    date when read), ``front``
    (the FrontFigure), ``a0``, ``w0``, ``lr``, ``lam`` (FloatSliders), ``readout``
    (HTML), ``widget`` (the whole app), ``runs`` ((plain GD, GD + penalty) :class:`ToyRun`).
    """

    def __init__(
        self,
        a0: float = 0.3,
        w0: float = 2.0,
        lr: float = 0.05,
        lam: float = 0.5,
        y: float = 1.0,
        steps: int = 80,
        cache_size: int = 2048,
    ):
        self.y = _finite(y, "y")
        self.steps = steps
        slider = dict(continuous_update=True, readout_format=".2f", layout=widgets.Layout(width="300px"))
        self.a0 = widgets.FloatSlider(value=a0, min=-2.5, max=2.5, step=0.05, description="a₀", **slider)
        self.w0 = widgets.FloatSlider(value=w0, min=0.1, max=2.5, step=0.05, description="w₀", **slider)
        self.lr = widgets.FloatSlider(value=lr, min=0.01, max=1.2, step=0.01, description="η", **slider)
        self.lam = widgets.FloatSlider(value=lam, min=0.0, max=2.0, step=0.05, description="λ", **slider)
        self.sliders = (self.a0, self.w0, self.lr, self.lam)
        self._cache: dict[tuple, tuple[ToyRun, ToyRun]] = {}
        self.cache_size = cache_size
        self._quiet = False
        self._exact: tuple[float, float] | None = None
        self._readout = front.Text()  # the readout's HTML (drawn in the page above the plot)
        self._fig = self._build_figure()  # the Python-side mirror of what the page draws
        self._stale = False  # the mirror lags the sliders (brought up to date when read or idle)
        self._static = go.Figure(self._fig.to_dict())
        self.front = front.FrontFigure(
            self._fig,
            {"a0": self.a0, "w0": self.w0, "lr": self.lr, "lam": self.lam},
            self.serve,
            readout=self._readout.value,
            readout_min_height="4.2em",
            on_shape=self._on_shape,
            config={"edits": {"shapePosition": True}, "displaylogo": False},
        )
        self.prefetch = WhenIdle(self._prefetch_work, delay=0.15)
        for s in self.sliders:
            s.observe(self._on_slider, names="value")
        hint = widgets.HTML(
            "<span style='font-size:12px;color:var(--jp-ui-font-color2, #555)'>drag the sliders, press "
            "← →, or drag the start point (red ring): it stays on its orbit a·w = a₀w₀</span>"
        )
        self.widget = widgets.VBox([widgets.HBox([self.a0, self.w0, self.lr, self.lam]), hint, self.front])
        self.publish_tables()

    # --- computing ------------------------------------------------------------------------------
    @staticmethod
    def _key(a0, w0, lr, lam) -> tuple:
        return tuple(round(float(v), 9) for v in (a0, w0, lr, lam))

    def compute(self, a0: float, w0: float, lr: float, lam: float) -> tuple[ToyRun, ToyRun]:
        """(plain GD on L, GD on L + R_λ) from (a0, w0) (cached; the plain path is shared by all λ)."""
        key = self._key(a0, w0, lr, lam)
        if key in self._cache:
            return self._cache[key]
        plain_key = self._key(a0, w0, lr, 0.0)
        if plain_key in self._cache:
            plain = self._cache[plain_key][0]
            soft = toy_descent(a0, w0, lr, lam, self.steps, self.y) if lam > 0 else plain
        elif lam > 0:
            plain, soft = toy_descents(a0, w0, lr, [0.0, lam], self.steps, self.y)
            self._store(plain_key, (plain, plain))
        else:
            plain = soft = toy_descent(a0, w0, lr, 0.0, self.steps, self.y)
        self._store(key, (plain, soft))
        return plain, soft

    def _store(self, key, value) -> None:
        if len(self._cache) >= self.cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = value

    def along(self, i: int) -> list[tuple]:
        """Every state reachable by moving slider ``i`` alone from the current one."""
        vals = [s.value for s in self.sliders]
        return [tuple(v if k == i else vals[k] for k in range(4)) for v in front.slider_grid(self.sliders[i])]

    def fill_along(self) -> None:
        """Compute every state along every slider from the current one (one batched descent,
        :func:`toy_descents_batch`; the plain path of each start once)."""
        todo = {}
        for i in range(4):
            for a0, w0, lr, lam in self.along(i):
                a0, w0 = self._start_for(a0, w0)
                key = self._key(a0, w0, lr, lam)
                if key not in self._cache:
                    todo[key] = (a0, w0, lr, lam)
        plain_cfg = {self._key(a0, w0, lr, 0.0): (a0, w0, lr, 0.0) for a0, w0, lr, lam in todo.values()}
        cfgs = list(dict.fromkeys(list(plain_cfg.values()) + [c for c in todo.values() if c[3] > 0]))
        if not cfgs:
            return
        runs = dict(zip(cfgs, toy_descents_batch(cfgs, self.steps, self.y)))
        for key, (a0, w0, lr, lam) in todo.items():
            plain = runs[(a0, w0, lr, 0.0)]
            self._store(key, (plain, runs[(a0, w0, lr, lam)] if lam > 0 else plain))

    def publish_tables(self) -> None:
        """Send the page a table along each slider from the current state: any further move of one
        slider is drawn in the page without the kernel."""
        for _ in self._table_steps():
            pass

    def _table_steps(self):
        """:meth:`publish_tables` in steps (a generator: one slider's table per step), so that input
        arriving meanwhile (WhenIdle abandons the generator) waits at most one step."""
        self.fill_along()
        tables = []
        for i, name in enumerate(_NAMES):
            yield
            states = self.along(i)
            at = {n: self.sliders[k].value for k, n in enumerate(_NAMES) if k != i}
            values = [st[i] for st in states]
            complete = i < 2  # a₀, w₀ move the start: everything; η, λ only the two paths
            ups = [self.state_update(*st, start_curves=complete) for st in states]
            tables.append(front.table(name, at, values, ups, complete=complete))
        self.front.tables = tables

    def _prefetch_work(self):
        yield
        self._sync()
        yield
        yield from self._table_steps()

    # --- figure ---------------------------------------------------------------------------------
    def _title(self) -> str:
        return f"L = ½(a·w − {self.y:g})²: orbits a·w = const (dashed), GD paths from the start point"

    def _build_figure(self) -> go.Figure:
        a, w, loss = loss_grid(self.y, n=81)
        fig = go.Figure()
        fig.add_contour(  # float32 arrays keep the stored figure small (plotly encodes them in base64)
            x=a.numpy(),
            y=w.numpy(),
            z=torch.log10(loss + 1e-4).to(torch.float32).numpy(),
            colorscale="Blues",
            reversescale=True,
            contours=dict(start=-3, end=2, size=0.5),
            line=dict(width=0.5),
            colorbar=dict(title="log₁₀ L", len=0.8),
            hoverinfo="skip",
            name="log10 L",
        )
        diag = [-LIM, LIM]
        fig.add_scatter(
            x=diag + [None] + diag,
            y=diag + [None] + diag[::-1],
            mode="lines",
            line=dict(color="grey", width=1, dash="dot"),
            name="balanced |a| = |w|",
            hoverinfo="skip",
        )
        mx, my = orbit_curve(self.y)
        ink = theme.ROLE_COLORS["target"]  # black in the light theme, light grey in the dark one
        fig.add_scatter(x=mx, y=my, mode="lines", line=dict(color=ink, width=3), name="minima a·w = y")
        fig.add_scatter(mode="lines", line=dict(color=ink, width=1.5, dash="dash"), name="orbit a·w = a₀w₀")
        fig.add_scatter(
            mode="lines", line=dict(color="#2ca02c", width=1.5, dash="dot"), name="conserved w² − a² = δ₀"
        )
        fig.add_scatter(mode="lines+markers", marker=dict(size=3), line=dict(color="#d62728"), name="GD on L")
        fig.add_scatter(
            mode="lines+markers", marker=dict(size=3), line=dict(color="#ff7f0e"), name="GD on L + R_λ"
        )
        fig.add_scatter(mode="markers", marker=dict(size=12, color=ink, symbol="x"), name="start (drag it)")
        fig.add_shape(
            type="circle",
            xref="x",
            yref="y",
            **self._ring(self.a0.value, self.w0.value),
            line=dict(color="#d62728", width=2.5),
            fillcolor="rgba(214,39,40,0.15)",
            layer="above",
        )
        fig.update_layout(
            title=dict(text=self._title(), font=dict(size=13)),
            xaxis=dict(title="a (outgoing)", range=[-LIM, LIM], constrain="domain"),
            yaxis=dict(title="w (incoming)", range=[-LIM, LIM], scaleanchor="x"),
            height=500,
            width=760,
            margin=dict(l=60, r=20, t=40, b=50),
            legend=dict(font=dict(size=10), x=1.12, y=1),
            template=theme.template(),
        )
        upd = self.state_update(self.a0.value, self.w0.value, self.lr.value, self.lam.value)
        front.apply(fig, upd)
        self._readout.value = upd["readout"]
        return fig

    @staticmethod
    def _ring(a: float, w: float) -> dict:
        """x0, x1, y0, y1 of the draggable ring around the start point (radius ``DRAG_RADIUS``)."""
        r = DRAG_RADIUS
        return {"x0": a - r, "x1": a + r, "y0": w - r, "y1": w + r}

    def start(self) -> tuple[float, float]:
        """(a₀, w₀): the sliders' values, or the exact point a drag left on the orbit while the
        sliders show it rounded to their step (the browser sends the rounded value back)."""
        return self._start_for(self.a0.value, self.w0.value)

    def _start_for(self, a0: float, w0: float) -> tuple[float, float]:
        ex = self._exact  # as the sliders show it (rounded to their step) or as set (keyed to 1e-9)
        if ex is not None and any(max(abs(a0 - p), abs(w0 - q)) <= 1e-9 for p, q in (self._snapped(ex), ex)):
            return ex
        return a0, w0

    def _snapped(self, point) -> list[float]:
        return [
            round(min(max(round(v / sl.step) * sl.step, sl.min), sl.max), 9)
            for v, sl in zip(point, (self.a0, self.w0))
        ]

    def state_update(self, a0: float, w0: float, lr: float, lam: float, start_curves: bool = True) -> dict:
        """The update drawing the state (sliders a₀, w₀, η, λ): both GD paths and the readout, and
        with ``start_curves`` the start point, its ring, its orbit and its conserved hyperbola."""
        # the sliders' values are grid values: the page may send 0.09999999999999999 for 0.1
        a0, w0, lr, lam = self._key(a0, w0, lr, lam)
        a0, w0 = self._start_for(a0, w0)
        plain, soft = self.compute(a0, w0, lr, lam)
        traces = {
            L_PLAIN: {"x": plain.a.numpy(), "y": plain.w.numpy()},
            L_SOFT: {"x": soft.a.numpy(), "y": soft.w.numpy(), "visible": lam > 0},
        }
        layout = {}
        if start_curves:
            ox, oy = orbit_curve(a0 * w0)
            cx, cy = imbalance_curve(a0, w0)
            traces[L_ORBIT] = {"x": np.array(ox, dtype=float), "y": np.array(oy, dtype=float)}
            traces[L_CONSERVED] = {"x": np.array(cx, dtype=float), "y": np.array(cy, dtype=float)}
            traces[L_START] = {"x": [float(a0)], "y": [float(w0)]}
            layout = {f"shapes[0].{k}": v for k, v in self._ring(a0, w0).items()}
        lines = [describe(plain, "GD on L")]
        lines.append(
            describe(soft, f"GD on L + R_λ (λ = {lam:.2f})") if lam > 0 else "<b>λ = 0</b>: penalty off"
        )
        lines.append(
            f"from (a₀, w₀) = ({a0:.2f}, {w0:.2f}), η = {lr:.2f}: balanced minimum a² + w² = 2|y| = "
            f"{2 * abs(self.y):g}; GD is stable near a minimum only if η < 2/(a² + w²)"
        )
        return front.update(traces, layout, "<br>".join(lines))

    def serve(self, state: dict) -> dict:
        """The update for a state the page's tables do not hold (asked by the page)."""
        return self.state_update(state["a0"], state["w0"], state["lr"], state["lam"])

    def _show(self, upd: dict) -> None:
        """Draw ``upd`` on the Python-side mirror (``fig``, ``readout``)."""
        self._stale = False
        front.apply(self._fig, upd)
        self._readout.value = upd["readout"]

    def _sync(self) -> None:
        if self._stale:
            self._show(self.state_update(self.a0.value, self.w0.value, self.lr.value, self.lam.value))

    @property
    def fig(self) -> go.Figure:
        """The Python-side ``go.Figure`` mirror of what the page draws, up to date when read."""
        self._sync()
        return self._fig

    @property
    def readout(self) -> front.Text:
        """The readout's HTML (``.value``) for the current state."""
        self._sync()
        return self._readout

    # --- wiring ---------------------------------------------------------------------------------
    def _on_slider(self, change) -> None:
        if self._quiet:
            return
        if self._exact is not None:
            i = 0 if change["owner"] is self.a0 else 1 if change["owner"] is self.w0 else None
            if i is not None and change["new"] == self._snapped(self._exact)[i]:
                return  # the browser echoing the dragged point rounded to the slider's step
            if i is not None:
                self._exact = None
        self._last_moved = next(i for i, s in enumerate(self.sliders) if s is change["owner"])
        # nothing computed here: the page draws from its tables or asks (serve); the mirror
        # follows when read or once the input is idle. Computing it on every change (4-48 ms)
        # queued seconds of work in the kernel behind a burst of input, and the page's questions
        # waited behind it.
        self._stale = True
        self.prefetch.poke()

    @property
    def runs(self) -> tuple[ToyRun, ToyRun]:
        """(plain GD, GD + penalty) from the current state."""
        return self.compute(*self.start(), self.lr.value, self.lam.value)

    def drag_to(self, a: float, w: float) -> tuple[float, float]:
        """What dropping the start point at (a, w) does: the nearest point of its orbit a·w = a₀w₀
        (:func:`project_on_toy_orbit`) becomes the start; both sliders follow, one redraw."""
        a_new, w_new = project_on_toy_orbit(
            self.a0.value, self.w0.value, a, w, (self.a0.min, self.a0.max), (self.w0.min, self.w0.max)
        )
        self.front.tables = []  # every table was built around the old start
        self._quiet = True
        try:
            self.a0.value, self.w0.value = a_new, w_new
        finally:
            self._quiet = False
        self._exact = (a_new, w_new)
        self._last_moved = 0
        upd = self.state_update(self.a0.value, self.w0.value, self.lr.value, self.lam.value)
        self._show(upd)
        self.front.push(upd)  # the ring lands on the orbit even where the sliders did not move
        self.prefetch.poke()
        return a_new, w_new

    def _on_shape(self, data: dict) -> None:
        """The page reports the ring dragged to x0, x1, y0, y1 (plotly's shape edit)."""
        try:
            x0, x1, y0, y1 = (float(data[f"shapes[0].{k}"]) for k in ("x0", "x1", "y0", "y1"))
            self.drag_to(*shape_centre(x0, x1, y0, y1, log=False))
        except (KeyError, TypeError, ValueError):
            self.front.push(self.state_update(self.a0.value, self.w0.value, self.lr.value, self.lam.value))

    def show_static(self) -> None:
        """Show the initial figure as a static plotly figure (+ PNG), readable without a kernel."""
        from gaugelab.display import show

        show(self._static)
