"""The orbit explorer: drag one hidden neuron along its rescaling orbit (THEORY §1, §2, §5, §6).

Neuron j of a hidden layer is moved by α = e^s: (u_j, a_j) ↦ (e^s u_j, e^{−s} a_j). The function f,
hence the loss L, stays put (to rounding); the neuron's point slides along its orbit
‖u_j‖·‖a_j‖ = ‖v_j‖ in the (‖u_j‖, ‖a_j‖) plane (a straight line of slope −1 on log–log axes);
ρ_j ↦ ρ_j + 2s, δ_j = 2‖v_j‖ sinh ρ_j, v_j fixed; ‖θ‖² is smallest on the balanced slice
s* = ½ log(‖a_j‖/‖u_j‖); ‖∇L‖ and the top Hessian eigenvalue λ_max change.

The computing part is pure (:func:`orbit_base`, :func:`orbit_state`, :func:`orbit_curve`,
:func:`orbit_profile`, :func:`project_on_orbit`: model and control values in, plain numbers and
numpy arrays out), so tests call it without a browser. Along the orbit ‖θ‖² and ‖∇L‖ follow in
closed form from the s = 0 state (:func:`sq_norm_along_orbit`); λ_max needs a Lanczos run
(:func:`lambda_max_at`), which the explorer keeps off the drag path (gaugelab.widgets.live).
:class:`OrbitExplorer` only wires it to ipywidgets and a figure drawn in the page
(:class:`~gaugelab.widgets.front.FrontFigure`).
"""

from __future__ import annotations

import copy
import html
import math

import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from gaugelab import theme
from gaugelab._check import finite_number
from gaugelab.coords import imbalance, log_scale, neuron_norms, path_norm
from gaugelab.gauge import balancing_scales, invariance_error, rescale
from gaugelab.losses import half_mse
from gaugelab.nets import as_input, as_target, hidden_layers, input_width, model_dtype
from gaugelab.sharpness import top_hessian_eigenvalue
from gaugelab.widgets import front
from gaugelab.widgets.live import WhenIdle

#: Lanczos steps for the live λ_max readout. On the course's small nets (D = 25 to 49 parameters)
#: 10 steps agree with an exact solve to 1e-6 relative or better (tests/test_widgets_orbit.py; the
#: full Hessian in notebook 01) and cost about 20 ms on an idle 2-core CPU.
LIVE_HESSIAN_ITERS = 10


# ----------------------------------------------------------------------------------------------
# pure update functions
# ----------------------------------------------------------------------------------------------


def _check_neuron(model: nn.Module, layer, neuron) -> tuple[int, int]:
    layers = hidden_layers(model)
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
        raise ValueError(f"layer: expected a hidden-layer index in [0, {len(layers) - 1}], got {layer!r}")
    width = layers[layer].width
    if isinstance(neuron, bool) or not isinstance(neuron, int) or not 0 <= neuron < width:
        raise ValueError(
            f"neuron: expected a neuron index in [0, {width - 1}] of hidden layer {layer}, got {neuron!r}"
        )
    nu, na = (t[neuron].item() for t in neuron_norms(model)[layer])
    if nu == 0 or na == 0:
        raise ValueError(
            f"neuron: neuron {neuron} of hidden layer {layer} has u_j = 0 or a_j = 0, a fixed point of "
            f"the gauge group (no orbit to move along, ρ_j undefined); pick another neuron"
        )
    return layer, neuron


def _check_s(s) -> float:
    return finite_number(s, "s", "the log-scale log α")


def neuron_scales(model: nn.Module, neuron: int, s: float, layer: int = 0) -> list[torch.Tensor]:
    """The gauge element moving only ``neuron`` of hidden layer ``layer``: α_j = e^s, all others 1."""
    layer, neuron = _check_neuron(model, layer, neuron)
    s = _check_s(s)
    dtype = model_dtype(model)
    scales = [torch.ones(h.width, dtype=dtype) for h in hidden_layers(model)]
    scales[layer][neuron] = math.exp(s)
    return scales


def input_grid(model: nn.Module, x, n: int = 201) -> torch.Tensor:
    """Inputs on which to draw f: for d_in = 1 a grid over the data's range padded by 25 % on each
    side; otherwise the data ``x`` itself."""
    x = as_input(model, x)
    if input_width(model) != 1:
        return x
    lo, hi = float(x.min()), float(x.max())
    pad = 0.25 * max(hi - lo, 1e-3)
    return torch.linspace(lo - pad, hi + pad, n, dtype=x.dtype)[:, None]


def orbit_curve(u_norm: float, a_norm: float, s_values) -> tuple[np.ndarray, np.ndarray]:
    """The orbit (‖u‖ e^s, ‖a‖ e^{−s}) over ``s_values``: the curve ‖u‖·‖a‖ = const."""
    s = np.asarray(s_values, dtype=float)
    return u_norm * np.exp(s), a_norm * np.exp(-s)


@torch.no_grad()
def active_fraction(model: nn.Module, x, layer: int = 0) -> np.ndarray:
    """For each neuron of hidden layer ``layer``, the fraction of inputs x_n with pre-activation
    u_j·x̃_n > 0 (x̃ = the layer's input with a 1 appended for the bias).

    A ReLU neuron with fraction 0 is inactive on every input: moving it along its orbit changes
    ‖θ‖² but neither f, nor ∇L, nor the loss Hessian on these inputs.
    """
    layers = hidden_layers(model)
    _check_layer_only(model, layer)
    target = layers[layer].incoming
    h = as_input(model, x)
    for module in model:
        h = module(h)
        if module is target:
            return (h > 0).double().mean(0).numpy()
    raise AssertionError("unreachable: the incoming Linear is part of the model")  # pragma: no cover


def _loss_and_grad_sq(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    params = list(model.parameters())
    loss = half_mse(model(x), y)
    grads = torch.autograd.grad(loss, params)
    return float(loss.detach()), float(sum((g * g).sum() for g in grads))


def sq_norm_along_orbit(total_sq: float, up_sq: float, down_sq: float, s):
    """‖w'‖² of a vector w one block of which is multiplied by e^s and another by e^{−s}:

        ‖w'‖² = total + (e^{2s} − 1)·up + (e^{−2s} − 1)·down

    (total = ‖w‖², up, down = the blocks' squared norms; ``s`` a number or an array). Along neuron
    j's orbit (α_j = e^s, THEORY §1): θ' has u_j e^s, a_j e^{−s}, so ‖θ'‖² uses up = ‖u_j‖²,
    down = ‖a_j‖²; the chain rule gives ∇_{u_j}L(θ') = ∇_{u_j}L(θ)/α and ∇_{a_j}L(θ') = α ∇_{a_j}L(θ)
    (notebook 01), so ‖∇L(θ')‖² uses up = ‖∇_{a_j}L‖², down = ‖∇_{u_j}L‖².
    """
    s = np.asarray(s, dtype=float)
    out = total_sq + np.expm1(2 * s) * up_sq + np.expm1(-2 * s) * down_sq
    return float(out) if out.ndim == 0 else out


def orbit_base(model: nn.Module, x, y, neuron: int, *, layer: int = 0, x_grid=None) -> dict:
    """What the closed forms along neuron j's orbit need, taken once at s = 0 (one forward and two
    backward passes): f on the grid, ‖u_i‖, ‖a_i‖ of the layer, ‖θ‖², ‖u_j‖², ‖a_j‖², ‖∇L‖²,
    ‖∇_{u_j}L‖², ‖∇_{a_j}L‖² (``gaugelab.drift.neuron_gradients``), L, δ_j, ρ_j, ‖v_j‖, s*, and the
    neuron's active fraction. :func:`orbit_state` and :func:`orbit_profile` take it as ``base``."""
    from gaugelab.drift import neuron_gradients

    layer, neuron = _check_neuron(model, layer, neuron)
    x = as_input(model, x)
    y = as_target(model, y, x.shape[0])
    grid = input_grid(model, x) if x_grid is None else as_input(model, x_grid, "x_grid")
    with torch.no_grad():
        f0 = model(grid)
        nu, na = (t.detach() for t in neuron_norms(model)[layer])
        theta_sq = float(sum((p.detach() ** 2).sum() for p in model.parameters()))
    loss, grad_sq = _loss_and_grad_sq(model, x, y)
    g_u, g_a = neuron_gradients(model, x, y)[layer]
    return {
        "layer": layer,
        "neuron": neuron,
        "grid_t": grid,
        "grid_is_x": grid.shape[1] == 1,
        "grid": grid[:, 0].numpy().copy() if grid.shape[1] == 1 else np.arange(grid.shape[0], dtype=float),
        "f_t": f0,
        "f_before": f0[:, 0].numpy().copy(),
        "u_norm0": float(nu[neuron]),
        "a_norm0": float(na[neuron]),
        "all_u_norm0": nu.numpy().copy(),
        "all_a_norm0": na.numpy().copy(),
        "theta_sq0": theta_sq,
        "u_sq": float(nu[neuron]) ** 2,
        "a_sq": float(na[neuron]) ** 2,
        "grad_sq0": grad_sq,
        "g_u_sq": float((g_u[neuron] ** 2).sum()),
        "g_a_sq": float((g_a[neuron] ** 2).sum()),
        "loss": loss,
        "delta0": float(imbalance(model)[layer][neuron].detach()),
        "rho0": float(log_scale(model)[layer][neuron].detach()),
        "v_norm0": float(path_norm(model)[layer][neuron].detach()),
        "s_balanced": float(balancing_scales(model)[layer][neuron].log()),
        "active_fraction": float(active_fraction(model, x, layer)[neuron]),
    }


def theta_sq_along(base: dict, s):
    """‖θ‖² at s on the orbit of ``base``'s neuron (:func:`sq_norm_along_orbit`)."""
    return sq_norm_along_orbit(base["theta_sq0"], base["u_sq"], base["a_sq"], s)


def grad_norm_along(base: dict, s):
    """‖∇L‖ at s on the orbit of ``base``'s neuron (:func:`sq_norm_along_orbit`, ∇_u ÷ α, ∇_a × α)."""
    return np.sqrt(sq_norm_along_orbit(base["grad_sq0"], base["g_a_sq"], base["g_u_sq"], s))


def lambda_max_at(model: nn.Module, x, y, neuron: int, s: float, *, layer: int = 0, iters=LIVE_HESSIAN_ITERS):
    """λ_max(∇²L) at s on neuron j's orbit: Lanczos (``iters`` steps) on the moved model."""
    moved = rescale(model, neuron_scales(model, neuron, s, layer))
    return top_hessian_eigenvalue(
        moved, as_input(model, x), as_target(model, y, len(as_input(model, x))), iters=iters
    )


def orbit_state(
    model: nn.Module,
    x,
    y,
    neuron: int,
    s: float,
    *,
    layer: int = 0,
    x_grid=None,
    sharpness: bool = True,
    hessian_iters: int = LIVE_HESSIAN_ITERS,
    base: dict | None = None,
) -> dict:
    """Everything the explorer shows after moving ``neuron`` by α = e^s (``model`` is not changed).

    With θ' = α·θ (only neuron j moved, :func:`neuron_scales`) the returned dict holds plain
    floats and numpy arrays:

    - ``grid``, ``f_before``, ``f_after``: f_θ and f_θ' on the input grid (first output);
      ``max_abs_change`` = max |f_θ' − f_θ| there; ``invariance_error`` = Δ_inv(θ, α) =
      (1/N) Σ_n ‖f_θ'(x_n) − f_θ(x_n)‖ on the grid (THEORY §6). Both measured on the moved model.
    - ``u_norm``, ``a_norm``: ‖u_j‖, ‖a_j‖ after the move; ``u_norm0``, ``a_norm0`` before;
      ``v_norm`` = ‖v_j‖ = ‖u_j‖‖a_j‖ after the move; ``v_change`` = max |v_j' − v_j| (entries).
    - ``delta`` = δ_j = ‖u_j‖² − ‖a_j‖², ``rho`` = ρ_j = log(‖u_j‖/‖a_j‖) after; ``delta0``, ``rho0``
      before. Theory: ρ_j = ρ_j⁰ + 2s, δ_j = 2‖v_j‖ sinh ρ_j.
    - ``s_balanced`` = s* = log √(‖a_j‖/‖u_j‖) (the move onto δ_j = 0).
    - ``theta_sq`` = ‖θ'‖² and ``grad_norm`` = ‖∇L(θ')‖ in closed form from the s = 0 values
      (:func:`theta_sq_along`, :func:`grad_norm_along`); ``loss`` = L (half MSE on x, y: unchanged);
      ``lambda_max`` = top eigenvalue of ∇²L(θ') by ``hessian_iters`` Lanczos steps
      (None when ``sharpness`` is False).
    - ``all_u_norm``, ``all_a_norm``: ‖u_i‖, ‖a_i‖ of every neuron of that layer, after the move.
    - ``active_fraction``: the share of the data x on which neuron j's pre-activation is > 0
      (:func:`active_fraction`; 0 means inactive everywhere: ∇L and λ_max cannot change).

    ``base`` (:func:`orbit_base` of the same model, neuron, layer and grid) skips the s = 0 work.
    """
    layer, neuron = _check_neuron(model, layer, neuron)
    s = _check_s(s)
    if base is None:
        base = orbit_base(model, x, y, neuron, layer=layer, x_grid=x_grid)
    elif (base["layer"], base["neuron"]) != (layer, neuron):
        raise ValueError(
            f"base: expected orbit_base of neuron {neuron}, layer {layer}; "
            f"got neuron {base['neuron']}, layer {base['layer']}"
        )
    grid = base["grid_t"]
    scales = neuron_scales(model, neuron, s, layer)
    moved = rescale(model, scales)
    with torch.no_grad():
        f_after = moved(grid)
        (u0, a0), (u1, a1) = _neuron_vectors_of(model, layer), _neuron_vectors_of(moved, layer)
        v0 = a0[neuron][:, None] * u0[neuron][None, :]
        v1 = a1[neuron][:, None] * u1[neuron][None, :]
        nu1, na1 = (t.detach() for t in neuron_norms(moved)[layer])
    lam = lambda_max_at(model, x, y, neuron, s, layer=layer, iters=hessian_iters) if sharpness else None
    return {
        "layer": layer,
        "neuron": neuron,
        "s": s,
        "alpha": math.exp(s),
        "grid_is_x": base["grid_is_x"],
        "grid": base["grid"],
        "f_before": base["f_before"],
        "f_after": f_after[:, 0].numpy().copy(),
        "max_abs_change": float((f_after - base["f_t"]).abs().max()),
        "invariance_error": invariance_error(model, scales, grid),
        "u_norm0": base["u_norm0"],
        "a_norm0": base["a_norm0"],
        "u_norm": float(nu1[neuron]),
        "a_norm": float(na1[neuron]),
        "v_norm": float(path_norm(moved)[layer][neuron].detach()),
        "v_change": float((v1 - v0).abs().max()),
        "delta0": base["delta0"],
        "delta": float(imbalance(moved)[layer][neuron].detach()),
        "rho0": base["rho0"],
        "rho": float(log_scale(moved)[layer][neuron].detach()),
        "s_balanced": base["s_balanced"],
        "theta_sq": theta_sq_along(base, s),
        "loss": base["loss"],
        "grad_norm": float(grad_norm_along(base, s)),
        "lambda_max": lam,
        "all_u_norm": nu1.numpy().copy(),
        "all_a_norm": na1.numpy().copy(),
        "active_fraction": base["active_fraction"],
    }


def _neuron_vectors_of(model: nn.Module, layer: int):
    from gaugelab.coords import neuron_vectors

    u, a = neuron_vectors(model)[layer]
    return u.detach(), a.detach()


def _check_s_values(s_values) -> np.ndarray:
    s_values = np.asarray(s_values, dtype=float)
    if s_values.ndim != 1 or s_values.size == 0 or not np.isfinite(s_values).all():
        raise ValueError(f"s_values: expected a non-empty 1-D array of finite numbers, got {s_values!r}")
    return s_values


def orbit_profile(
    model: nn.Module,
    x,
    y,
    neuron: int,
    s_values,
    *,
    layer: int = 0,
    sharpness: bool = True,
    hessian_iters: int = LIVE_HESSIAN_ITERS,
    base: dict | None = None,
) -> dict:
    """‖θ‖², ‖∇L‖ and λ_max (None if ``sharpness`` is False) along the orbit, at each s in ``s_values``.

    Returns {"s", "theta_sq", "grad_norm", "lambda_max"} as numpy arrays: ‖θ‖², ‖∇L‖ in closed form
    (:func:`theta_sq_along`, :func:`grad_norm_along`), λ_max by Lanczos at every s (:func:`lambda_max_at`).
    """
    layer, neuron = _check_neuron(model, layer, neuron)
    s_values = _check_s_values(s_values)
    if base is None:
        base = orbit_base(model, x, y, neuron, layer=layer)
    lam = None
    if sharpness:
        lam = np.array(
            [lambda_max_at(model, x, y, neuron, float(s), layer=layer, iters=hessian_iters) for s in s_values]
        )
    return {
        "s": s_values,
        "theta_sq": np.atleast_1d(theta_sq_along(base, s_values)),
        "grad_norm": np.atleast_1d(grad_norm_along(base, s_values)),
        "lambda_max": lam,
    }


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "—"
    if v == 0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e4:
        return f"{v:.2e}"
    return f"{v:.{digits}g}"


LAMBDA_PENDING = "pending: updates when the slider rests"


def readout_rows(state: dict, start: dict) -> list[tuple[str, str, str, str]]:
    """Rows (quantity, at s = 0, now, what the theory says) of the explorer's readout table.

    λ_max is computed off the drag path: while ``state["lambda_pending"]`` is true its cell says
    so (:data:`LAMBDA_PENDING`) instead of showing an old number."""
    rows = [
        ("max |f′ − f| on the grid", "0", _fmt(state["max_abs_change"]), "0 (rounding only, ~1e-16)"),
        ("invariance error Δ_inv", "0", _fmt(state["invariance_error"]), "0 (rounding only)"),
        ("loss L", _fmt(start["loss"], 6), _fmt(state["loss"], 6), "unchanged"),
        ("‖v_j‖ = ‖u_j‖‖a_j‖", _fmt(start["v_norm"], 6), _fmt(state["v_norm"], 6), "unchanged"),
        (
            "ρ_j = log(‖u_j‖/‖a_j‖)",
            _fmt(start["rho"]),
            _fmt(state["rho"]),
            f"ρ⁰ + 2s = {_fmt(start['rho'] + 2 * state['s'])}",
        ),
        (
            "δ_j = ‖u_j‖² − ‖a_j‖²",
            _fmt(start["delta"]),
            _fmt(state["delta"]),
            "2‖v_j‖ sinh ρ_j; 0 at s* = " + _fmt(state["s_balanced"], 3),
        ),
        ("‖θ‖²", _fmt(start["theta_sq"]), _fmt(state["theta_sq"]), "smallest at s*"),
        (
            "neuron active on",
            f"{100 * start['active_fraction']:.0f} % of the data",
            f"{100 * state['active_fraction']:.0f} %",
            "unchanged (if 0 %: ∇L, λ_max cannot change)",
        ),
        (
            "‖∇L‖",
            _fmt(start["grad_norm"]),
            _fmt(state["grad_norm"]),
            "changes with this neuron's part: ∇_u ÷ α, ∇_a × α",
        ),
    ]
    if "lambda_max" in state and (state["lambda_max"] is not None or state.get("lambda_pending")):
        now = LAMBDA_PENDING if state.get("lambda_pending") else _fmt(state["lambda_max"])
        then = "pending" if start.get("lambda_pending") else _fmt(start["lambda_max"])
        rows.append(("λ_max(∇²L), on release", then, now, "changes (Hessian blocks × α^∓2)"))
    return rows


def readout_html(state: dict, start: dict) -> str:
    """The readout table as HTML (escaped)."""
    head = "".join(
        f"<th style='text-align:left;padding:0 10px'>{h}</th>"
        for h in ("quantity", "at s = 0", "now", "theory")
    )
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:0 10px'>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in readout_rows(state, start)
    )
    return (
        f"<div style='font-size:12px;font-family:monospace;line-height:1.35'><b>neuron {state['neuron']}"
        f" (hidden layer {state['layer']}), s = log α = {state['s']:+.3f}, α = {state['alpha']:.4g}</b>"
        f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table></div>"
    )


def compact_readout_html(state: dict) -> str:
    """The one-line readout of the compact demo: s, the largest change of f, ρ_j."""
    return (
        f"<div style='font-size:12.5px;font-family:monospace'>neuron {state['neuron']}: "
        f"s = log α = {state['s']:+.2f}, max |f′ − f| on the grid = {_fmt(state['max_abs_change'])}, "
        f"ρ_j = {state['rho']:+.2f} (ρ_j⁰ + 2s), ‖u_j‖·‖a_j‖ = {_fmt(state['v_norm'], 6)}</div>"
    )


# ----------------------------------------------------------------------------------------------
# the figure (pure: state in, plotly figure out)
# ----------------------------------------------------------------------------------------------

_C_BEFORE, _C_AFTER, _C_ORBIT, _C_GREY = "#7fb2e5", "#d62728", "#1f77b4", "#b0b0b0"
#: Radius of the draggable point, as a fraction of the orbit plane's log10 axis range (≈ 8 px).
DRAG_RADIUS_DEC = 0.03
#: Trace indexes of :func:`orbit_figure`.
T_DATA, T_F0, T_F, T_OTHERS, T_ORBIT, T_DIAG, T_START, T_NOW = range(8)
T_PROFILE, T_MARKERS, T_SSTAR = (8, 9, 10), 11, 12


def _title(state: dict) -> str:
    return f"neuron {state['neuron']}: drag the slider or the red point — f stays put"


def other_neurons(state: dict) -> tuple[np.ndarray, np.ndarray]:
    """(‖u_i‖, ‖a_i‖) of the layer's other neurons (they do not move)."""
    keep = np.arange(len(state["all_u_norm"])) != state["neuron"]
    return state["all_u_norm"][keep], state["all_a_norm"][keep]


def profile_ratios(profile: dict) -> list[np.ndarray]:
    """‖θ‖², ‖∇L‖, λ_max along the orbit divided by their value at the grid point nearest s = 0
    (λ_max all NaN while not yet computed)."""
    s = profile["s"]
    i0 = int(np.argmin(np.abs(s)))
    out = [profile["theta_sq"] / profile["theta_sq"][i0], profile["grad_norm"] / profile["grad_norm"][i0]]
    lam = profile["lambda_max"]
    out.append(np.full_like(s, np.nan) if lam is None else lam / lam[i0])
    return out


def _sstar_line(state: dict, profile: dict) -> tuple[list, list]:
    vals = np.concatenate([r[np.isfinite(r)] for r in profile_ratios(profile)])
    lo, hi = float(vals.min()), float(vals.max())
    return [state["s_balanced"]] * 2, [lo / 1.3, hi * 1.3]


def drag_shape(state: dict, span: float = 3.5) -> dict:
    """The draggable red point of the orbit plane: a circle centred on (‖u_j‖, ‖a_j‖) spanning a
    fixed factor in both norms, i.e. a fixed size on the log–log axes (:data:`DRAG_RADIUS_DEC`
    of the axis range). plotly moves x0, x1, y0, y1 together when it is dragged (config
    edits.shapePosition); the centre is their geometric mean (:func:`shape_centre`)."""
    lo, hi = orbit_plane_range(state, span)
    k = 10 ** (DRAG_RADIUS_DEC * (hi - lo))
    u, a = state["u_norm"], state["a_norm"]
    return dict(
        type="circle",
        xref="x2",
        yref="y2",
        x0=u / k,
        x1=u * k,
        y0=a / k,
        y1=a * k,
        fillcolor=_C_AFTER,
        line=dict(color="white", width=1.5),
        layer="above",
    )


def shape_centre(x0: float, x1: float, y0: float, y1: float, log: bool = True) -> tuple[float, float]:
    """Centre of a dragged circle shape: geometric means on log axes, arithmetic on linear ones."""
    if log:
        return math.sqrt(x0 * x1), math.sqrt(y0 * y1)
    return 0.5 * (x0 + x1), 0.5 * (y0 + y1)


#: plotly config of the figure: shapes can be dragged (only the draggable point is a shape).
FIG_CONFIG = {"edits": {"shapePosition": True}, "displaylogo": False}


def project_on_orbit(state: dict, u: float, a: float) -> float:
    """The s whose orbit point (‖u_j⁰‖e^s, ‖a_j⁰‖e^{−s}) is nearest to (u, a) on the log–log plane
    (where the orbit is the line log a = const − log u): s = ½[(log u − log u⁰) − (log a − log a⁰)]."""
    u = positive_float(u, "u")
    a = positive_float(a, "a")
    return 0.5 * ((math.log(u) - math.log(state["u_norm0"])) - (math.log(a) - math.log(state["a_norm0"])))


def positive_float(v, name: str) -> float:
    v = finite_number(v, name, "a positive norm")
    if v <= 0:
        raise ValueError(f"{name}: expected a positive norm, got {v!r}")
    return v


def orbit_figure(state: dict, profile: dict | None = None, x=None, y=None, span: float = 3.5):
    """A plotly figure of ``state``: f before/after, the orbit in the (‖u‖, ‖a‖) plane with the
    draggable point (:func:`drag_shape`) and, if ``profile`` is given, ‖θ‖², ‖∇L‖, λ_max along the
    orbit relative to their values at s = 0.

    Trace order (the widget updates them by index, ``T_*``): 0 data, 1 f before, 2 f after,
    3 other neurons, 4 orbit curve, 5 balanced slice, 6 start point, 7 current point, then for the
    profile 8–10 curves, 11 current s markers, 12 the balanced s* (dotted line).
    """
    from plotly.subplots import make_subplots

    cols = 3 if profile is not None else 2
    fig = make_subplots(
        rows=1,
        cols=cols,
        column_widths=[0.36, 0.32, 0.32] if cols == 3 else [0.55, 0.45],
        subplot_titles=(
            "f before (wide), after (dashed)",
            "orbit: ‖u_j‖·‖a_j‖ = ‖v_j‖ (drag the red point)",
            "along the orbit, ÷ value at s = 0",
        )[:cols],
        horizontal_spacing=0.07,
    )
    fig.update_annotations(font_size=12)
    xs = state["grid"]
    if x is not None and y is not None and np.asarray(x).ndim == 2 and np.asarray(x).shape[1] == 1:
        fig.add_scatter(
            x=np.asarray(x)[:, 0],
            y=np.asarray(y)[:, 0],
            mode="markers",
            name="training data",
            marker=dict(color=_C_GREY, size=5),
            row=1,
            col=1,
        )
    else:
        fig.add_scatter(x=[], y=[], mode="markers", name="training data", showlegend=False, row=1, col=1)
    fig.add_scatter(
        x=xs,
        y=state["f_before"],
        mode="lines",
        name="f before (s = 0)",
        line=dict(color=_C_BEFORE, width=7),
        row=1,
        col=1,
    )
    fig.add_scatter(
        x=xs,
        y=state["f_after"],
        mode="lines",
        name="f after (s)",
        line=dict(color=_C_AFTER, width=2, dash="dash"),
        row=1,
        col=1,
    )
    ou_, oa_ = other_neurons(state)
    fig.add_scatter(
        x=ou_, y=oa_, mode="markers", name="other neurons", marker=dict(color=_C_GREY, size=6), row=1, col=2
    )
    ou, oa = orbit_curve(state["u_norm0"], state["a_norm0"], np.linspace(-span, span, 61))
    fig.add_scatter(
        x=ou, y=oa, mode="lines", name="orbit of neuron j", line=dict(color=_C_ORBIT), row=1, col=2
    )
    diag = _diagonal(state, span)
    fig.add_scatter(
        x=diag,
        y=diag,
        mode="lines",
        name="balanced slice δ = 0",
        line=dict(color=theme.ROLE_COLORS["target"], dash="dot", width=1),
        row=1,
        col=2,
    )
    fig.add_scatter(
        x=[state["u_norm0"]],
        y=[state["a_norm0"]],
        mode="markers",
        name="start (s = 0)",
        marker=dict(color=_C_BEFORE, size=12, symbol="circle-open", line=dict(width=3)),
        row=1,
        col=2,
    )
    fig.add_scatter(
        x=[state["u_norm"]],
        y=[state["a_norm"]],
        mode="markers",
        name="now (drag it)",
        marker=dict(color=_C_AFTER, size=12),
        row=1,
        col=2,
    )
    rng = list(orbit_plane_range(state, span))
    fig.update_xaxes(type="log", range=rng, title_text="‖u_j‖ (incoming + bias)", row=1, col=2)
    fig.update_yaxes(type="log", range=rng, title_text="‖a_j‖ (outgoing)", row=1, col=2)
    fig.update_xaxes(title_text="x" if state["grid_is_x"] else "input number n", row=1, col=1)
    fig.update_yaxes(title_text="f(x)", row=1, col=1)
    if profile is not None:
        s = profile["s"]
        names = ("‖θ‖²", "‖∇L‖", "λ_max (on release)" if profile["lambda_max"] is not None else "λ_max (off)")
        colors = ("#2ca02c", "#9467bd", "#ff7f0e")
        for name, vals, color in zip(names, profile_ratios(profile), colors):
            fig.add_scatter(x=s, y=vals, mode="lines", name=name, line=dict(color=color), row=1, col=3)
        fig.add_scatter(
            x=[state["s"]] * 3,
            y=_profile_markers(state, profile),
            mode="markers",
            name="now",
            marker=dict(color=_C_AFTER, size=9),
            showlegend=False,
            row=1,
            col=3,
        )
        lx, ly = _sstar_line(state, profile)
        fig.add_scatter(
            x=lx,
            y=ly,
            mode="lines",
            name="balanced s*",
            line=dict(color=theme.ROLE_COLORS["target"], dash="dot", width=1),
            showlegend=False,
            hoverinfo="skip",
            row=1,
            col=3,
        )
        fig.update_xaxes(title_text="s = log α", row=1, col=3)
        fig.update_yaxes(type="log", row=1, col=3)
    fig.add_shape(**drag_shape(state, span))
    fig.update_layout(
        title=dict(text=_title(state), font=dict(size=13)),
        height=400,
        margin=dict(l=50, r=20, t=60, b=40),
        legend=dict(orientation="h", y=-0.2, font=dict(size=11)),
        template=theme.template(),
    )
    return fig


def orbit_plane_range(state: dict, span: float) -> tuple[float, float]:
    """log10 range shared by both axes of the orbit plane: every neuron, and the chosen neuron's
    orbit for |s| ≤ ``span`` (so the orbit is a line of slope −1 at 45° and the point never leaves)."""
    u0, a0 = state["u_norm0"], state["a_norm0"]
    vals = np.concatenate(
        [state["all_u_norm"], state["all_a_norm"], [u0 * math.exp(-span), a0 * math.exp(-span)]]
    )
    vals = vals[vals > 0]
    lo = float(vals.min())
    hi = max(float(vals.max()), u0 * math.exp(span), a0 * math.exp(span))
    return math.log10(lo) - 0.1, math.log10(hi) + 0.1


def _diagonal(state: dict, span: float) -> np.ndarray:
    lo, hi = orbit_plane_range(state, span)
    return np.array([10**lo, 10**hi])


def _profile_markers(state: dict, profile: dict) -> list[float]:
    s = profile["s"]
    i0 = int(np.argmin(np.abs(s)))
    lam = profile["lambda_max"]
    out = [state["theta_sq"] / profile["theta_sq"][i0], state["grad_norm"] / profile["grad_norm"][i0]]
    ok = lam is not None and state.get("lambda_max") is not None and np.isfinite(lam[i0])
    out.append(state["lambda_max"] / lam[i0] if ok else float("nan"))
    return out


# ----------------------------------------------------------------------------------------------
# the app
# ----------------------------------------------------------------------------------------------


class OrbitExplorer:
    """Drag one hidden neuron along its rescaling orbit and watch what changes and what does not.

    Controls: a Dropdown picking the neuron, a FloatSlider for s = log α, a "balance" button
    (s = s*, the point of the orbit on δ_j = 0), a "reset" button (s = 0), and the red point of the
    orbit plane itself: drag it, and it is projected back onto its orbit (:func:`project_on_orbit`,
    rounded to the slider's step), the slider follows. ``compact=True`` keeps only the slider and the
    first two panels (no λ_max): the one-slider demo of notebook 00.

    The figure is a :class:`~gaugelab.widgets.front.FrontFigure`, redrawn in the page from tables:
    one along the slider for the current neuron (every value of its grid and s*: the point, the
    circle, the profile markers, the readout) and one along the dropdown (every neuron at s = 0,
    whose choice puts the slider back to 0). A key step, a slider drag or a neuron switch is drawn
    in the browser with no kernel work; a state no table holds is asked of the kernel (:meth:`serve`).
    Building both tables takes one :func:`orbit_state` per grid value (≈ 0.2 ms each, closed forms
    for ‖θ‖², ‖∇L‖, one forward pass for f′) when the neuron changes.

    λ_max (Lanczos, ≈ 20 ms per point) stays off the drag path: once the input has rested for
    ``lambda_delay`` s (:class:`~gaugelab.widgets.live.WhenIdle`) the kernel computes it at the
    current point and sends it to the page, then the neuron's λ profile, then (``lambda_ahead``)
    the slider's grid near s, the other neurons' profiles and the rest of the grid, one Lanczos run
    per event-loop turn, refreshing the tables as it goes; until then the readout says "pending".
    Without an event loop (plain Python) call :meth:`settle`.

    ``model`` is copied, never changed; s is always measured from it. ``.widget`` is the live app,
    ``.fig`` the Python-side ``go.Figure`` mirror of what the page draws, ``.readout.value`` its
    readout, ``.state`` the current :func:`orbit_state` (all brought up to date when read),
    ``.show_static()`` shows the initial figure without a kernel-backed widget,
    ``.update(s=..., neuron=...)`` moves it from code.
    """

    def __init__(
        self,
        model: nn.Module,
        x,
        y,
        *,
        neuron: int | None = None,
        layer: int = 0,
        s_max: float = 3.0,
        step: float = 0.05,
        compact: bool = False,
        sharpness: bool | None = None,
        hessian_iters: int = LIVE_HESSIAN_ITERS,
        profile_points: int = 25,
        continuous_update: bool = True,
        lambda_delay: float = 0.3,
    ):
        self.model = copy.deepcopy(model)
        self.x = as_input(self.model, x)
        self.y = as_target(self.model, y, self.x.shape[0])
        self.grid = input_grid(self.model, self.x)
        if not (isinstance(s_max, (int, float)) and math.isfinite(s_max) and s_max > 0):
            raise ValueError(f"s_max: expected a positive finite number, got {s_max!r}")
        if not (isinstance(step, (int, float)) and math.isfinite(step) and 0 < step <= s_max):
            raise ValueError(f"step: expected a positive number ≤ s_max, got {step!r}")
        if isinstance(profile_points, bool) or not isinstance(profile_points, int) or profile_points < 3:
            raise ValueError(f"profile_points: expected an integer ≥ 3, got {profile_points!r}")
        self.layer = _check_layer_only(self.model, layer)
        self.compact = bool(compact)
        self.sharpness = (not self.compact) if sharpness is None else bool(sharpness)
        self.hessian_iters = hessian_iters
        self.s_max = float(s_max)
        self.step = float(step)
        self.profile_points = profile_points
        self.span = self.s_max + 0.5
        nu, na = neuron_norms(self.model)[self.layer]
        ok = ((nu > 0) & (na > 0)).tolist()
        if not any(ok):
            raise ValueError(
                f"model: every neuron of hidden layer {layer} is degenerate (u_j = 0 or a_j = 0)"
            )
        v = path_norm(self.model)[self.layer].detach()
        rho = log_scale(self.model, on_degenerate="nan")[self.layer].detach()
        active = active_fraction(self.model, self.x, self.layer)
        if neuron is None:  # the active neuron with the largest path norm: the clearest to watch
            usable = torch.tensor(ok) & torch.from_numpy(active > 0)
            if not usable.any():
                usable = torch.tensor(ok)
            neuron = int(torch.where(usable, v, torch.full_like(v, -1.0)).argmax())
        neuron = _check_neuron(self.model, self.layer, neuron)[1]
        self._bases: dict[int, dict] = {}
        self._starts: dict[int, dict] = {}
        self._states: dict[tuple[int, float], dict] = {}  # orbit_state without λ, per (neuron, s)
        self._lam: dict[tuple[int, float], float] = {}
        self.s_grid = np.linspace(-self.s_max, self.s_max, self.profile_points)
        self._quiet = False
        self._exact: float | None = None  # an s off the slider's grid (s*), while the slider shows it rounded
        self._tables_for: tuple | None = None  # (neuron, λ values known) the page's tables were built with
        if self.sharpness:  # the first neuron's λ profile now, so the static figure is complete
            for s in self.s_grid:
                self._lambda(neuron, float(s))
            self._lambda(neuron, 0.0)

        import ipywidgets as widgets

        self.slider = widgets.FloatSlider(
            value=0.0,
            min=-self.s_max,
            max=self.s_max,
            step=step,
            description="s = log α",
            continuous_update=continuous_update,
            readout_format="+.2f",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="400px"),
        )
        options = [
            (
                f"neuron {j}: ‖v_j‖ = {float(v[j]):.3g}, ρ_j = {float(rho[j]):+.2f}"
                + (" (inactive on all data)" if active[j] == 0 else ""),
                j,
            )
            for j in range(len(ok))
            if ok[j]
        ]
        self.dropdown = widgets.Dropdown(
            options=options,
            value=neuron,
            description="neuron",
            layout=widgets.Layout(width="360px"),
        )
        self.balance_button = widgets.Button(description="balance (s = s*)", tooltip="move onto δ_j = 0")
        self.reset_button = widgets.Button(description="reset (s = 0)")
        self._state = self._state_at(neuron, 0.0)
        self._shown = (neuron, 0.0)  # what the mirror shows
        self._stale = False
        self._fig = self.figure()  # the Python-side mirror of what the page draws
        self._static = go.Figure(self._fig)
        self._readout = front.Text(self._readout_value(self._state))
        controls = {"s": self.slider} if self.compact else {"s": self.slider, "neuron": self.dropdown}
        self.front = front.FrontFigure(
            self._fig,
            controls,
            self.serve,
            readout=self._readout.value,
            readout_min_height="1.4em" if self.compact else "14.5em",
            on_shape=self._on_shape,
            config=FIG_CONFIG,
            # everything but the point and the profile markers stays put while s moves: drawn
            # underneath, once per neuron (and when λ_max arrives)
            under_traces=[i for i in range(len(self._fig.data)) if i not in (T_NOW, T_MARKERS)],
        )
        self.tables_idle = WhenIdle(self._tables_work, delay=0.1)
        self.lambda_idle = WhenIdle(self._lambda_work, delay=lambda_delay)
        self.lambda_ahead = WhenIdle(self._lambda_ahead_work, delay=0.0)
        self.slider.observe(self._on_slider, names="value")
        self.dropdown.observe(self._on_neuron, names="value")
        self.balance_button.on_click(self._on_balance)
        self.reset_button.on_click(lambda _b: self._set_s(0.0))
        hint = widgets.HTML(
            "<span style='font-size:12px;color:var(--jp-ui-font-color2, #555)'>drag the slider, press "
            "← →, or drag the red point"
            + ("; λ_max updates when you let go" if self.sharpness else "")
            + "</span>"
        )
        if self.compact:
            self.widget = widgets.VBox([widgets.HBox([self.slider, hint]), self.front])
        else:
            # the slider first (the first slider of the page, which the browser test moves); the
            # readout between the controls and the figure, all of it inside a 1400×900 window
            more = widgets.HBox([self.dropdown, self.balance_button, self.reset_button])
            self.widget = widgets.VBox([widgets.HBox([self.slider, hint]), more, self.front])
        self.publish_tables()

    # --- computing (no widgets involved) --------------------------------------------------------
    def base(self, neuron: int) -> dict:
        """:func:`orbit_base` of ``neuron`` (cached)."""
        if neuron not in self._bases:
            self._bases[neuron] = orbit_base(
                self.model, self.x, self.y, neuron, layer=self.layer, x_grid=self.grid
            )
        return self._bases[neuron]

    @staticmethod
    def _key(neuron: int, s: float) -> tuple[int, float]:
        # 12 decimals: the page's 0.15000000000000002 is the slider's 0.15; s* keeps its own key
        return int(neuron), round(float(s), 12)

    def _lambda(self, neuron: int, s: float) -> float:
        key = self._key(neuron, s)
        if key not in self._lam:
            self._lam[key] = lambda_max_at(
                self.model, self.x, self.y, neuron, s, layer=self.layer, iters=self.hessian_iters
            )
        return self._lam[key]

    def _state_at(self, neuron: int, s: float) -> dict:
        """:func:`orbit_state` at (neuron, s) (cached) with the λ_max known so far (else pending)."""
        key = self._key(neuron, s)
        if key not in self._states:
            self._states[key] = orbit_state(
                self.model, self.x, self.y, neuron, float(s), layer=self.layer, sharpness=False,
                base=self.base(neuron),
            )  # fmt: skip
        st = dict(self._states[key])
        if self.sharpness:
            st["lambda_max"] = self._lam.get(key)
            st["lambda_pending"] = st["lambda_max"] is None
        return st

    def _readout_value(self, st: dict) -> str:
        if self.compact:
            return compact_readout_html(st)
        return readout_html(st, self._start(st["neuron"]))

    def _start(self, neuron: int) -> dict:
        """The state at s = 0, with its λ_max once known."""
        return self._state_at(neuron, 0.0)

    def profile(self, neuron: int | None = None) -> dict | None:
        """‖θ‖², ‖∇L‖ (closed form) and λ_max (the cached Lanczos values, NaN where not yet
        computed) over s ∈ [−s_max, s_max] for ``neuron``; None if compact."""
        neuron = self.neuron if neuron is None else neuron
        if self.compact:
            return None
        b = self.base(neuron)
        lam = None
        if self.sharpness:
            lam = np.array([self._lam.get(self._key(neuron, s), np.nan) for s in self.s_grid])
        return {
            "s": self.s_grid,
            "theta_sq": theta_sq_along(b, self.s_grid),
            "grad_norm": grad_norm_along(b, self.s_grid),
            "lambda_max": lam,
        }

    def figure(self):
        """A static plotly figure of the current state."""
        return orbit_figure(self.state, self.profile(), self.x.numpy(), self.y.numpy(), span=self.span)

    def show_static(self) -> None:
        """Show the initial figure as static plotly + PNG (readable without a live kernel)."""
        from gaugelab.display import show

        show(self._static)

    # --- what the page draws ----------------------------------------------------------------------
    def state_update(self, neuron: int, s: float, whole: bool = True) -> dict:
        """The update drawing (neuron, s): the point, its circle, the profile markers and the
        readout; with ``whole`` also what belongs to the neuron (other neurons, its orbit, the
        balanced slice, the start, the axes' range, the title, the profile curves)."""
        st = self._state_at(neuron, s)
        shape = drag_shape(st, self.span)
        traces = {T_NOW: {"x": [st["u_norm"]], "y": [st["a_norm"]]}}
        layout = {f"shapes[0].{k}": shape[k] for k in ("x0", "x1", "y0", "y1")}
        profile = self.profile(neuron)
        if whole:
            ou_, oa_ = other_neurons(st)
            ou, oa = orbit_curve(st["u_norm0"], st["a_norm0"], np.linspace(-self.span, self.span, 61))
            diag = _diagonal(st, self.span)
            rng = list(orbit_plane_range(st, self.span))
            traces.update(
                {
                    T_OTHERS: {"x": ou_, "y": oa_},
                    T_ORBIT: {"x": ou, "y": oa},
                    T_DIAG: {"x": diag, "y": diag},
                    T_START: {"x": [st["u_norm0"]], "y": [st["a_norm0"]]},
                }
            )
            layout.update({"xaxis2.range": rng, "yaxis2.range": rng, "title.text": _title(st)})
            if profile is not None:
                traces.update(self._profile_traces(st, profile))
        if profile is not None:
            traces[T_MARKERS] = {"x": [st["s"]] * 3, "y": _profile_markers(st, profile)}
        return front.update(traces, layout, self._readout_value(st))

    def serve(self, state: dict) -> dict:
        """The update for a state the page's tables do not hold (asked by the page)."""
        neuron = int(state.get("neuron", self.neuron))
        return self.state_update(neuron, self._s_for(float(state["s"])))

    def _profile_traces(self, st: dict, profile: dict) -> dict:
        ratios = profile_ratios(profile)
        out = {k: {"y": r} for k, r in zip(T_PROFILE, ratios)}
        lx, ly = _sstar_line(st, profile)
        out[T_SSTAR] = {"x": lx, "y": ly}
        return out

    def _s_values(self, neuron: int) -> list[float]:
        """The s of the slider's table: its grid, s* (the balance button) and an exact s set."""
        extra = {self._clip(self.base(neuron)["s_balanced"])}
        return sorted(set(self.slider_grid()) | extra)

    def _lambda_known(self, neuron: int) -> int:
        return sum(1 for j, _s in self._lam if j == neuron)

    def publish_tables(self) -> None:
        """Send the page its tables for the current neuron (see the class docstring)."""
        for _ in self._table_steps():
            pass

    def _table_steps(self):
        neuron = self.neuron
        exact = self._exact
        values = self._s_values(neuron)
        ups = []
        for k, v in enumerate(values):  # ≈ 2 ms per new state: a step every 16, so input waits little
            ups.append(self.state_update(neuron, self._s_for(v), whole=False))
            if k % 16 == 15:
                yield
        tables = [front.table("s", {"neuron": neuron}, values, ups, complete=False)]
        if self.compact:
            tables = [front.table("s", {}, values, ups, complete=False)]
        else:
            yield
            neurons = self.neurons()
            ups = [self.state_update(j, 0.0) for j in neurons]
            tables.append(front.table("neuron", {"s": 0.0}, neurons, ups, sets={"s": 0.0}))
        self.front.tables = tables
        self._tables_for = (neuron, exact, self._lambda_known(neuron), len(self._lam))

    def _tables_current(self) -> bool:
        return self._tables_for == (self.neuron, self._exact, self._lambda_known(self.neuron), len(self._lam))

    # --- the Python-side mirror ---------------------------------------------------------------
    @property
    def neuron(self) -> int:
        """The neuron the dropdown shows."""
        return int(self.dropdown.value)

    def _s_now(self) -> float:
        return self._s_for(float(self.slider.value))

    def _s_for(self, s: float) -> float:
        """The slider's value, or the exact s* it shows rounded to its step."""
        if self._exact is not None and abs(s - self.snap(self._exact)) <= 1e-9:
            return self._exact
        if self._exact is not None and abs(s - self._exact) <= 1e-9:
            return self._exact
        return float(s)

    def _sync(self) -> None:
        if not self._stale:
            return
        self._stale = False
        neuron, s = self.neuron, self._s_now()
        self._state = self._state_at(neuron, s)
        front.apply(self._fig, self.state_update(neuron, s, whole=neuron != self._shown[0]))
        self._readout.value = self._readout_value(self._state)
        self._shown = (neuron, s)

    def _refresh(self) -> None:
        """Bring the mirror up to date now (e.g. after λ arrived) and draw it in the page."""
        self._stale = True
        self._sync()
        self.front.push(self.state_update(*self._shown))

    @property
    def state(self) -> dict:
        """:func:`orbit_state` of the current (neuron, s), with λ_max if known."""
        self._sync()
        return self._state

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

    def settle(self) -> dict:
        """Run the pending idle work now (tables, λ_max here and along the neuron's profile): what
        the event loop does once the input rests."""
        self.tables_idle.flush()
        self.lambda_idle.flush()
        return self.state

    # --- idle work ----------------------------------------------------------------------------
    def _tables_work(self):
        yield
        self._sync()
        if not self._tables_current():
            yield from self._table_steps()

    def _lambda_work(self):
        """Idle-time work (a generator: one Lanczos run per event-loop turn): λ_max at the current
        point, sent to the page at once; the missing points of this neuron's λ profile, drawn when
        complete; the tables refreshed. Then :meth:`_lambda_ahead_work` starts."""
        neuron, s = self.neuron, self._s_now()
        if self._key(neuron, s) not in self._lam or self._key(neuron, 0.0) not in self._lam:
            self._lambda(neuron, s)
            self._lambda(neuron, 0.0)
            self._refresh()
            yield
        missing = [float(v) for v in self.s_grid if self._key(neuron, v) not in self._lam]
        for v in missing:
            self._lambda(neuron, v)
            yield
        if missing:  # the profile curves: on the mirror and in the page
            upd = self.state_update(neuron, s)
            front.apply(self._fig, upd)
            self.front.push(upd)
        if not self._tables_current():
            yield from self._table_steps()
        self.lambda_ahead.poke()

    def _lambda_ahead_work(self):
        """Background cache fill (one Lanczos run per event-loop turn, only while input rests):
        λ_max at s*, on the slider's grid near s, the other neurons' profiles, the rest of the grid; the
        tables are refreshed every 20 runs and at the end."""
        neuron, s = self.neuron, self._s_now()
        grid = sorted(self.slider_grid(), key=lambda v: abs(v - s))
        # s* first: the balance button then lands on a known λ_max (no Lanczos run after the click)
        ahead = [(neuron, self._clip(self.base(neuron)["s_balanced"]))]
        ahead += [(neuron, v) for v in grid[:21]]
        ahead += [(j, float(v)) for j in self.neurons() if j != neuron for v in self.s_grid]
        ahead += [(neuron, v) for v in grid[21:]]
        done = 0
        for j, v in ahead:
            if self._key(j, v) not in self._lam:
                self._lambda(j, v)
                done += 1
                yield
                if done % 20 == 0:
                    yield from self._table_steps()
        if not self._tables_current():
            yield from self._table_steps()

    def _poke(self) -> None:
        self._stale = True
        self.tables_idle.poke()
        if self.sharpness:
            self.lambda_ahead.cancel()
            self.lambda_idle.poke()

    # --- wiring -----------------------------------------------------------------------------
    def update(self, s: float | None = None, neuron: int | None = None) -> dict:
        """Move to (neuron, s) from code: the controls follow, the page draws it; returns the state."""
        if neuron is not None:
            neuron = _check_neuron(self.model, self.layer, neuron)[1]
            if neuron != self.neuron:
                self.dropdown.value = neuron  # puts the slider back to 0 (as the page does)
        if s is not None:
            self._set_s(_check_s(s))
        return self.state

    def _set_s(self, s: float) -> None:
        """Put the slider at ``s`` (clipped to its range). An s off the slider's grid (s*, a dragged
        point) is kept exactly: the slider shows its grid point next to s, the page is sent the
        update for s itself at once, and the tables (in which that grid point then stands for s)
        follow when the input is idle; rebuilding them first had kept the student waiting."""
        s = self._clip(s)
        on_grid = abs(s - self.snap(s)) <= 1e-9
        self._exact = None if on_grid else s
        shown = s if on_grid else self.snap(s)
        if on_grid and self.slider.value != shown:
            self.slider.value = shown  # drawn by the page from its table
            return
        # s's update first, for the slider value that follows: the page draws once (not the
        # table's grid point first, then s)
        self.front.push(self.state_update(self.neuron, s), state={"s": shown})
        self._quiet = True
        try:
            self.slider.value = shown
        finally:
            self._quiet = False
        self._poke()

    def _on_slider(self, change) -> None:
        if self._quiet:
            return
        if self._exact is not None and abs(change["new"] - self._exact) > 1e-9:
            if abs(change["new"] - self.snap(self._exact)) > 1e-9:
                self._exact = None  # moved away from s*: back to the slider's grid (tables when idle)
        # nothing computed here: the page draws from its tables or asks (serve); the mirror
        # follows when read or once the input is idle
        self._poke()

    def _on_neuron(self, change) -> None:
        if self._quiet:
            return
        self._exact = None
        self._quiet = True
        try:
            self.slider.value = 0.0  # the page sets it too (the neuron table's ``sets``)
        finally:
            self._quiet = False
        self._poke()

    def slider_grid(self) -> list[float]:
        """The values the slider can take (multiples of its step in [−s_max, s_max])."""
        n = int(math.floor(self.s_max / self.step + 1e-9))
        return [round(k * self.step, 10) for k in range(-n, n + 1)]

    def neurons(self) -> list[int]:
        """The neurons the dropdown offers."""
        return [value for _label, value in self.dropdown.options]

    def _clip(self, s: float) -> float:
        return min(max(float(s), -self.s_max), self.s_max)

    def snap(self, s: float) -> float:
        """``s`` clipped to the slider's range and rounded to its step."""
        s = self._clip(s)
        return round(round(s / self.step) * self.step, 10)

    def drag_to(self, u: float, a: float) -> dict:
        """What dropping the red point at (‖u‖, ‖a‖) = (u, a) does: project it onto the orbit
        (:func:`project_on_orbit`), snap to the slider's grid, move the slider there, and redraw the
        point on the orbit (also when s did not change)."""
        self._set_s(self.snap(project_on_orbit(self.state, u, a)))
        return self.state

    def _on_shape(self, data: dict) -> None:
        """The page reports the circle dragged to x0, x1, y0, y1 (plotly's shape edit)."""
        try:
            x0, x1, y0, y1 = (float(data[f"shapes[0].{k}"]) for k in ("x0", "x1", "y0", "y1"))
            self.drag_to(*shape_centre(x0, x1, y0, y1))
        except (KeyError, TypeError, ValueError):  # dragged off the positive quadrant: back onto the orbit
            self.front.push(self.state_update(self.neuron, self._s_now()))

    def _on_balance(self, _button) -> None:
        self._set_s(self.base(self.neuron)["s_balanced"])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _check_layer_only(model: nn.Module, layer) -> int:
    n = len(hidden_layers(model))
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n:
        raise ValueError(f"layer: expected a hidden-layer index in [0, {n - 1}], got {layer!r}")
    return layer


def orbit_explorer(model: nn.Module, x, y, **kwargs) -> OrbitExplorer:
    """Build an :class:`OrbitExplorer` (same keywords)."""
    return OrbitExplorer(model, x, y, **kwargs)


def orbit_demo(model: nn.Module, x, y, **kwargs) -> OrbitExplorer:
    """The one-slider version (``compact=True``): the function and the orbit plane only."""
    kwargs.setdefault("compact", True)
    return OrbitExplorer(model, x, y, **kwargs)
