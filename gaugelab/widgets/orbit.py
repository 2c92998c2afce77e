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
:class:`OrbitExplorer` only wires it to ipywidgets and a plotly ``FigureWidget``.
"""

from __future__ import annotations

import copy
import html
import math

import numpy as np
import torch
from torch import nn

from gaugelab import theme
from gaugelab._check import finite_number
from gaugelab.coords import imbalance, log_scale, neuron_norms, path_norm
from gaugelab.gauge import balancing_scales, invariance_error, rescale
from gaugelab.losses import half_mse
from gaugelab.nets import as_input, as_target, hidden_layers, input_width, model_dtype
from gaugelab.sharpness import top_hessian_eigenvalue
from gaugelab.widgets.live import LatestWins, WhenIdle, restyle

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

    What runs on a step (gaugelab.widgets.live): ‖θ‖², ‖∇L‖ in closed form from the s = 0 state,
    f' on the grid (for max |f′ − f|, never redrawn: f does not change), one ``batch_update`` of the
    moving traces and the point. λ_max (Lanczos) runs when the input has rested for
    ``lambda_delay`` s (:class:`~gaugelab.widgets.live.WhenIdle`), then the λ profile of the neuron
    along the slider's range, one point per event-loop turn; until then the readout says "pending".
    Results are cached per (neuron, s). Without an event loop (plain Python) call :meth:`settle`.

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
        self.neuron = _check_neuron(self.model, self.layer, neuron)[1]
        self._bases: dict[int, dict] = {}
        self._starts: dict[int, dict] = {}
        self._lam: dict[tuple[int, float], float] = {}
        self.s_grid = np.linspace(-self.s_max, self.s_max, self.profile_points)
        self._quiet = False
        self.lambda_idle = WhenIdle(self._lambda_work, delay=lambda_delay)
        self.lambda_ahead = WhenIdle(self._lambda_ahead_work, delay=0.0)
        if self.sharpness:  # the first neuron's λ profile now, so the static figure is complete
            for s in self.s_grid:
                self._lambda(self.neuron, float(s))
            self._lambda(self.neuron, 0.0)
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
            value=self.neuron,
            description="neuron",
            layout=widgets.Layout(width="360px"),
        )
        self.balance_button = widgets.Button(description="balance (s = s*)", tooltip="move onto δ_j = 0")
        self.reset_button = widgets.Button(description="reset (s = 0)")
        self.readout = widgets.HTML(self._readout_value(self.state))
        self.fig = go.FigureWidget(self.figure())
        self.fig._config = dict(FIG_CONFIG)
        self._move = LatestWins(lambda s: self.update(s=s))
        self._switch = LatestWins(self._on_neuron_value)
        self.slider.observe(self._on_slider, names="value")
        self.dropdown.observe(lambda ch: self._switch(ch["new"]), names="value")
        self.balance_button.on_click(self._on_balance)
        self.reset_button.on_click(lambda _b: setattr(self.slider, "value", 0.0))
        self.fig.layout.shapes[0].on_change(self._on_drag, "x0", "x1", "y0", "y1")
        hint = widgets.HTML(
            "<span style='font-size:12px;color:#555'>drag the slider, press ← →, or drag the red point"
            + ("; λ_max updates when you let go" if self.sharpness else "")
            + "</span>"
        )
        if self.compact:
            self.widget = widgets.VBox([widgets.HBox([self.slider, hint]), self.fig, self.readout])
        else:
            # the slider first (the first slider of the page, which the browser test moves); the
            # readout right under the figure, so that all of it fits a 1400×900 window
            more = widgets.HBox([self.dropdown, self.balance_button, self.reset_button])
            self.widget = widgets.VBox([widgets.HBox([self.slider, hint]), more, self.fig, self.readout])

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
        return neuron, round(float(s), 9)

    def _lambda(self, neuron: int, s: float) -> float:
        key = self._key(neuron, s)
        if key not in self._lam:
            self._lam[key] = lambda_max_at(
                self.model, self.x, self.y, neuron, s, layer=self.layer, iters=self.hessian_iters
            )
        return self._lam[key]

    def _compute(self, neuron: int, s: float) -> dict:
        st = orbit_state(
            self.model, self.x, self.y, neuron, s, layer=self.layer, sharpness=False, base=self.base(neuron)
        )
        if self.sharpness:
            st["lambda_max"] = self._lam.get(self._key(neuron, s))
            st["lambda_pending"] = st["lambda_max"] is None
        return st

    def _readout_value(self, st: dict) -> str:
        if self.compact:
            return compact_readout_html(st)
        return readout_html(st, self._start(st["neuron"]))

    def _start(self, neuron: int) -> dict:
        """The state at s = 0 (cached per neuron; its λ_max filled in once known)."""
        if neuron not in self._starts:
            self._starts[neuron] = self._compute(neuron, 0.0)
        st = self._starts[neuron]
        if self.sharpness and st["lambda_pending"]:
            st["lambda_max"] = self._lam.get(self._key(neuron, 0.0))
            st["lambda_pending"] = st["lambda_max"] is None
        return st

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
        """Show the current figure as static plotly + PNG (readable without a live kernel)."""
        from gaugelab.display import show

        show(self.figure())

    def settle(self) -> dict:
        """Run the pending λ_max work now (what the event loop does once the input rests)."""
        self.lambda_idle.flush()
        return self.state

    # --- wiring -----------------------------------------------------------------------------
    def update(self, s: float | None = None, neuron: int | None = None) -> dict:
        """Recompute the state for (neuron, s) and redraw what moved (one batch_update)."""
        neuron = self.neuron if neuron is None else _check_neuron(self.model, self.layer, neuron)[1]
        s = self.slider.value if s is None else _check_s(s)
        new_neuron = neuron != self.neuron
        self.neuron = neuron
        self.state = st = self._compute(neuron, s)
        traces = {T_NOW: {"x": [st["u_norm"]], "y": [st["a_norm"]]}}
        shape = drag_shape(st, self.span)
        layout = {f"shapes[0].{k}": shape[k] for k in ("x0", "x1", "y0", "y1")}
        profile = self.profile() if not self.compact else None
        if new_neuron:
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
            traces[T_MARKERS] = {"x": [s] * 3, "y": _profile_markers(st, profile)}
        self._quiet = True
        try:
            restyle(self.fig, traces, layout)
        finally:
            self._quiet = False
        self.readout.value = self._readout_value(st)
        if self.sharpness:
            self.lambda_ahead.cancel()
            if st["lambda_pending"] or np.isnan(profile["lambda_max"]).any():
                self.lambda_idle.poke()
            else:
                self.lambda_ahead.poke()
        return st

    def _profile_traces(self, st: dict, profile: dict) -> dict:
        ratios = profile_ratios(profile)
        out = {k: {"y": r} for k, r in zip(T_PROFILE, ratios)}
        lx, ly = _sstar_line(st, profile)
        out[T_SSTAR] = {"x": lx, "y": ly}
        return out

    def _lambda_work(self):
        """Idle-time work (a generator: one Lanczos run per event-loop turn): λ_max at the current
        point, shown at once; the missing points of this neuron's λ profile, drawn when complete.
        Then :meth:`_lambda_ahead_work` starts: λ_max on the slider's grid near s, the other
        neurons' profiles and the rest of the grid, so later key steps and neuron switches find
        it cached and need no second redraw."""
        neuron, s = self.neuron, self.state["s"]
        if self.state.get("lambda_pending"):
            self._lambda(neuron, s)
            self._lambda(neuron, 0.0)
            self._show_lambda()
            yield
        missing = [float(v) for v in self.s_grid if self._key(neuron, v) not in self._lam]
        for v in missing:
            self._lambda(neuron, v)
            yield
        if missing:
            profile = self.profile()
            traces = self._profile_traces(self.state, profile)
            traces[T_MARKERS] = {"x": [s] * 3, "y": _profile_markers(self.state, profile)}
            restyle(self.fig, traces)
        self.lambda_ahead.poke()

    def _lambda_ahead_work(self):
        """Background cache fill (one Lanczos run per event-loop turn, only while input rests)."""
        neuron, s = self.neuron, self.state["s"]
        grid = sorted(self.slider_grid(), key=lambda v: abs(v - s))
        ahead = [(neuron, v) for v in grid[:21]]
        ahead += [(j, float(v)) for j in self.neurons() if j != neuron for v in self.s_grid]
        ahead += [(neuron, v) for v in grid[21:]]
        for j, v in ahead:
            if self._key(j, v) not in self._lam:
                self._lambda(j, v)
                yield

    def slider_grid(self) -> list[float]:
        """The values the slider can take (multiples of its step in [−s_max, s_max])."""
        n = int(math.floor(self.s_max / self.step + 1e-9))
        return [round(k * self.step, 10) for k in range(-n, n + 1)]

    def neurons(self) -> list[int]:
        """The neurons the dropdown offers."""
        return [value for _label, value in self.dropdown.options]

    def _show_lambda(self) -> None:
        st = self.state
        st["lambda_max"] = self._lam.get(self._key(st["neuron"], st["s"]))
        st["lambda_pending"] = st["lambda_max"] is None
        profile = self.profile()
        restyle(self.fig, {T_MARKERS: {"x": [st["s"]] * 3, "y": _profile_markers(st, profile)}})
        self.readout.value = self._readout_value(st)

    def _on_slider(self, change) -> None:
        if not self._quiet:
            self._move(change["new"])

    def _on_neuron_value(self, neuron: int) -> None:
        self._quiet = True
        try:
            self.slider.value = 0.0
        finally:
            self._quiet = False
        self.update(s=0.0, neuron=neuron)

    def snap(self, s: float) -> float:
        """``s`` clipped to the slider's range and rounded to its step."""
        s = min(max(float(s), -self.s_max), self.s_max)
        return round(round(s / self.step) * self.step, 10)

    def drag_to(self, u: float, a: float) -> dict:
        """What dropping the red point at (‖u‖, ‖a‖) = (u, a) does: project it onto the orbit
        (:func:`project_on_orbit`), snap to the slider's grid, move the slider there (and redraw the
        point on the orbit, also when s did not change)."""
        s = self.snap(project_on_orbit(self.state, u, a))
        if s == self.slider.value:
            self.update(s=s)
        else:
            self.slider.value = s
        return self.state

    def _on_drag(self, _shape, x0, x1, y0, y1) -> None:
        if self._quiet or None in (x0, x1, y0, y1):
            return
        try:
            self.drag_to(*shape_centre(float(x0), float(x1), float(y0), float(y1)))
        except (TypeError, ValueError):  # dragged off the positive quadrant: back onto the orbit
            self.update(s=self.slider.value)

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
