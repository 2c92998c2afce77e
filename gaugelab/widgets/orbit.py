"""The orbit explorer: drag one hidden neuron along its rescaling orbit (THEORY §1, §2, §5, §6).

Neuron j of a hidden layer is moved by α = e^s: (u_j, a_j) ↦ (e^s u_j, e^{−s} a_j). The function f,
hence the loss L, stays put (to rounding); the neuron's point slides along its orbit
‖u_j‖·‖a_j‖ = ‖v_j‖ in the (‖u_j‖, ‖a_j‖) plane (a straight line of slope −1 on log–log axes);
ρ_j ↦ ρ_j + 2s, δ_j = 2‖v_j‖ sinh ρ_j, v_j fixed; ‖θ‖² is smallest on the balanced slice
s* = ½ log(‖a_j‖/‖u_j‖); ‖∇L‖ and the top Hessian eigenvalue λ_max change.

The computing part is pure (:func:`orbit_state`, :func:`orbit_curve`, :func:`orbit_profile`:
model and control values in, plain numbers and numpy arrays out), so tests call it without a
browser. :class:`OrbitExplorer` only wires it to ipywidgets and a plotly ``FigureWidget``.
"""

from __future__ import annotations

import copy
import html
import math

import numpy as np
import torch
from torch import nn

from gaugelab._check import finite_number
from gaugelab.coords import imbalance, log_scale, neuron_norms, path_norm
from gaugelab.gauge import balancing_scales, invariance_error, rescale
from gaugelab.losses import half_mse
from gaugelab.nets import as_input, as_target, hidden_layers, input_width, model_dtype
from gaugelab.sharpness import top_hessian_eigenvalue

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


def readout_rows(state: dict, start: dict) -> list[tuple[str, str, str, str]]:
    """Rows (quantity, at s = 0, now, what the theory says) of the explorer's readout table."""
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
        (
            "λ_max(∇²L)",
            _fmt(start["lambda_max"]),
            _fmt(state["lambda_max"]),
            "changes (Hessian blocks × α^∓2)",
        ),
    ]
    if state["lambda_max"] is None:
        rows = rows[:-1]
    return rows


def readout_html(state: dict, start: dict) -> str:
    """The readout table as HTML (escaped)."""
    head = "".join(
        f"<th style='text-align:left;padding:1px 10px'>{h}</th>"
        for h in ("quantity", "at s = 0", "now", "theory")
    )
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:1px 10px'>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in readout_rows(state, start)
    )
    return (
        f"<div style='font-size:12.5px;font-family:monospace'><b>neuron {state['neuron']}"
        f" (hidden layer {state['layer']}), s = log α = {state['s']:+.3f}, α = {state['alpha']:.4g}</b>"
        f"<table style='border-collapse:collapse'><tr>{head}</tr>{body}</table></div>"
    )


# ----------------------------------------------------------------------------------------------
# the figure (pure: state in, plotly figure out)
# ----------------------------------------------------------------------------------------------

_C_BEFORE, _C_AFTER, _C_ORBIT, _C_GREY = "#7fb2e5", "#d62728", "#1f77b4", "#b0b0b0"


def _title(state: dict) -> str:
    return (
        f"neuron {state['neuron']}: s = log α = {state['s']:+.2f} — "
        f"max |f′ − f| = {state['max_abs_change']:.1e}, ρ_j = {state['rho']:+.2f}"
    )


def orbit_figure(state: dict, profile: dict | None = None, x=None, y=None, span: float = 3.5):
    """A plotly figure of ``state``: f before/after, the orbit in the (‖u‖, ‖a‖) plane and, if
    ``profile`` is given, ‖θ‖², ‖∇L‖, λ_max along the orbit relative to their values at s = 0.

    Trace order (the widget updates them by index): 0 data, 1 f before, 2 f after, 3 other neurons,
    4 orbit curve, 5 balanced slice, 6 start point, 7 current point, then for the profile
    8–10 curves and 11 current s markers.
    """
    from plotly.subplots import make_subplots

    cols = 3 if profile is not None else 2
    fig = make_subplots(
        rows=1,
        cols=cols,
        column_widths=[0.4, 0.3, 0.3][:cols] if cols == 3 else [0.55, 0.45],
        subplot_titles=(
            "f before (wide), after (dashed)",
            "orbit: ‖u_j‖·‖a_j‖ = ‖v_j‖",
            "along the orbit, ÷ value at s = 0",
        )[:cols],
        horizontal_spacing=0.08,
    )
    fig.update_annotations(font_size=13)
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
    # orbit plane (log–log: the orbit is a line of slope −1, the balanced slice the diagonal)
    fig.add_scatter(
        x=state["all_u_norm"],
        y=state["all_a_norm"],
        mode="markers",
        name="other neurons",
        marker=dict(color=_C_GREY, size=6),
        row=1,
        col=2,
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
        line=dict(color="black", dash="dot", width=1),
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
        name="now",
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
        i0 = int(np.argmin(np.abs(s)))
        curves = [("‖θ‖²", profile["theta_sq"], "#2ca02c"), ("‖∇L‖", profile["grad_norm"], "#9467bd")]
        if profile["lambda_max"] is not None:
            curves.append(("λ_max", profile["lambda_max"], "#ff7f0e"))
        else:
            curves.append(("λ_max (off)", np.full_like(s, np.nan), "#ff7f0e"))
        for name, vals, color in curves:
            fig.add_scatter(
                x=s, y=vals / vals[i0], mode="lines", name=name, line=dict(color=color), row=1, col=3
            )
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
        fig.add_vline(x=state["s_balanced"], line=dict(color="black", dash="dot", width=1), row=1, col=3)
        fig.update_xaxes(title_text="s = log α", row=1, col=3)
        fig.update_yaxes(type="log", row=1, col=3)
    fig.update_layout(
        title=dict(text=_title(state), font=dict(size=14)),
        height=430,
        margin=dict(l=50, r=20, t=80, b=50),
        legend=dict(orientation="h", y=-0.18, font=dict(size=11)),
        template="plotly_white",
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
    out.append(state["lambda_max"] / lam[i0] if lam is not None and state["lambda_max"] is not None else None)
    return out


# ----------------------------------------------------------------------------------------------
# the app
# ----------------------------------------------------------------------------------------------


class OrbitExplorer:
    """Drag one hidden neuron along its rescaling orbit and watch what changes and what does not.

    Controls: a Dropdown picking the neuron, a FloatSlider for s = log α, a "balance" button
    (s = s*, the point of the orbit on δ_j = 0) and a "reset" button (s = 0). ``compact=True``
    keeps only the slider and the first two panels (no λ_max): the one-slider demo of notebook 00.

    ``model`` is copied, never changed; s is always measured from it. ``.widget`` is the live app,
    ``.show_static()`` shows the initial figure without a kernel-backed widget, ``.state`` is the
    last :func:`orbit_state`, ``.update(s=..., neuron=...)`` moves it from code.
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
    ):
        self.model = copy.deepcopy(model)
        self.x = as_input(self.model, x)
        self.y = as_target(self.model, y, self.x.shape[0])
        self.grid = input_grid(self.model, self.x)
        if not (isinstance(s_max, (int, float)) and math.isfinite(s_max) and s_max > 0):
            raise ValueError(f"s_max: expected a positive finite number, got {s_max!r}")
        self.layer = _check_layer_only(self.model, layer)
        self.compact = bool(compact)
        self.sharpness = (not self.compact) if sharpness is None else bool(sharpness)
        self.hessian_iters = hessian_iters
        self.s_max = float(s_max)
        self.profile_points = profile_points
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
        self.neuron = _check_neuron(self.model, self.layer, neuron)[1]
        self._start_cache: dict[int, dict] = {}
        self._profile_cache: dict[int, dict | None] = {}
        self.state = self._compute(self.neuron, 0.0)

        import ipywidgets as widgets
        import plotly.graph_objects as go

        self.slider = widgets.FloatSlider(
            value=0.0,
            min=-self.s_max,
            max=self.s_max,
            step=step,
            description="s = log α",
            continuous_update=continuous_update,
            readout_format="+.2f",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
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
            value=self.neuron,
            description="neuron",
            layout=widgets.Layout(width="400px"),
        )
        self.balance_button = widgets.Button(description="balance (s = s*)", tooltip="move onto δ_j = 0")
        self.reset_button = widgets.Button(description="reset (s = 0)")
        self.readout = widgets.HTML(readout_html(self.state, self._start(self.neuron)))
        self.fig = go.FigureWidget(self.figure())
        self.slider.observe(self._on_slider, names="value")
        self.dropdown.observe(self._on_neuron, names="value")
        self.balance_button.on_click(self._on_balance)
        self.reset_button.on_click(lambda _b: setattr(self.slider, "value", 0.0))
        if self.compact:
            controls = widgets.HBox([self.slider])
            self.widget = widgets.VBox([controls, self.fig])
        else:
            # the slider first and alone on its row: it is the main control (and the first slider of
            # the page, which the browser test moves)
            more = widgets.HBox([self.dropdown, self.balance_button, self.reset_button])
            self.widget = widgets.VBox([widgets.HBox([self.slider]), more, self.fig, self.readout])

    # --- computing (no widgets involved) --------------------------------------------------------
    def _compute(self, neuron: int, s: float) -> dict:
        return orbit_state(
            self.model,
            self.x,
            self.y,
            neuron,
            s,
            layer=self.layer,
            x_grid=self.grid,
            sharpness=self.sharpness,
            hessian_iters=self.hessian_iters,
        )

    def _start(self, neuron: int) -> dict:
        if neuron not in self._start_cache:
            self._start_cache[neuron] = self._compute(neuron, 0.0)
        return self._start_cache[neuron]

    def profile(self, neuron: int | None = None) -> dict | None:
        """:func:`orbit_profile` over s ∈ [−s_max, s_max] for ``neuron`` (cached; None if compact)."""
        neuron = self.neuron if neuron is None else neuron
        if self.compact:
            return None
        if neuron not in self._profile_cache:
            s = np.linspace(-self.s_max, self.s_max, self.profile_points)
            self._profile_cache[neuron] = orbit_profile(
                self.model,
                self.x,
                self.y,
                neuron,
                s,
                layer=self.layer,
                sharpness=self.sharpness,
                hessian_iters=self.hessian_iters,
            )
        return self._profile_cache[neuron]

    def figure(self):
        """A static plotly figure of the current state."""
        return orbit_figure(self.state, self.profile(), self.x.numpy(), self.y.numpy(), span=self.s_max + 0.5)

    def show_static(self) -> None:
        """Show the current figure as static plotly + PNG (readable without a live kernel)."""
        from gaugelab.display import show

        show(self.figure())

    # --- wiring -----------------------------------------------------------------------------
    def update(self, s: float | None = None, neuron: int | None = None) -> dict:
        """Recompute the state for (neuron, s) and redraw the figure and the readouts."""
        neuron = self.neuron if neuron is None else _check_neuron(self.model, self.layer, neuron)[1]
        s = self.slider.value if s is None else _check_s(s)
        new_neuron = neuron != self.neuron
        self.neuron = neuron
        self.state = st = self._compute(neuron, s)
        profile = self.profile()
        fig = self.fig
        with fig.batch_update():
            fig.data[2].y = st["f_after"]
            fig.data[3].x, fig.data[3].y = st["all_u_norm"], st["all_a_norm"]
            fig.data[7].x, fig.data[7].y = [st["u_norm"]], [st["a_norm"]]
            if new_neuron:
                span = self.s_max + 0.5
                ou, oa = orbit_curve(st["u_norm0"], st["a_norm0"], np.linspace(-span, span, 61))
                fig.data[4].x, fig.data[4].y = ou, oa
                fig.data[6].x, fig.data[6].y = [st["u_norm0"]], [st["a_norm0"]]
                rng = list(orbit_plane_range(st, span))
                fig.data[5].x = fig.data[5].y = _diagonal(st, span)
                fig.layout.xaxis2.range = fig.layout.yaxis2.range = rng
                if profile is not None:
                    i0 = int(np.argmin(np.abs(profile["s"])))
                    for k, key in zip((8, 9, 10), ("theta_sq", "grad_norm", "lambda_max")):
                        if profile[key] is not None:
                            fig.data[k].y = profile[key] / profile[key][i0]
                    fig.layout.shapes[0].x0 = fig.layout.shapes[0].x1 = st["s_balanced"]
            if profile is not None:
                fig.data[11].x = [s] * 3
                fig.data[11].y = _profile_markers(st, profile)
            fig.layout.title.text = _title(st)
        self.readout.value = readout_html(st, self._start(neuron))
        return st

    def _on_slider(self, change) -> None:
        self.update(s=change["new"])

    def _on_neuron(self, change) -> None:
        if self.slider.value != 0.0:
            self.slider.unobserve(self._on_slider, names="value")
            self.slider.value = 0.0
            self.slider.observe(self._on_slider, names="value")
        self.update(s=0.0, neuron=change["new"])

    def _on_balance(self, _button) -> None:
        s_star = self.state["s_balanced"]
        self.slider.value = float(min(max(s_star, -self.s_max), self.s_max))

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
