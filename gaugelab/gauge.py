"""The gauge group G = (R_{>0})^H acting on a network, and the hard gauge fix.

THEORY §1: neuron j of a hidden layer is rescaled by α_j > 0 as (u_j, a_j) ↦ (α_j u_j, a_j / α_j):
its incoming row and bias are multiplied by α_j, its outgoing column divided by α_j.
For positively homogeneous σ the function f is exactly unchanged.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from gaugelab._check import finite_number, log_scale_limit, positive_int, positive_number
from gaugelab._check import seed as check_seed
from gaugelab.coords import neuron_norms
from gaugelab.nets import as_input, hidden_layers, model_dtype


def check_scales(model: nn.Module, scales) -> list[torch.Tensor]:
    """``scales`` as a list with one 1-D tensor of positive finite numbers per hidden layer.

    A bare 1-D tensor (or list of numbers) is accepted when the model has one hidden layer.
    """
    layers = hidden_layers(model)
    dtype = model_dtype(model)
    if isinstance(scales, torch.Tensor) or (
        isinstance(scales, (list, tuple)) and scales and all(isinstance(s, (int, float)) for s in scales)
    ):
        scales = [scales]
    if not isinstance(scales, (list, tuple)):
        raise TypeError(
            f"scales: expected a list with one 1-D tensor per hidden layer, got {type(scales).__name__}"
        )
    if len(scales) != len(layers):
        raise ValueError(f"scales: expected {len(layers)} tensor(s), one per hidden layer, got {len(scales)}")
    out = []
    for layer, s in zip(layers, scales):
        s = torch.as_tensor(s, dtype=dtype)
        if s.shape != (layer.width,):
            raise ValueError(
                f"scales: hidden layer {layer.index} has {layer.width} neurons, so its scales must "
                f"have shape ({layer.width},), got {tuple(s.shape)}"
            )
        if not torch.isfinite(s).all() or (s <= 0).any():
            bad = s[~(torch.isfinite(s) & (s > 0))]
            raise ValueError(
                f"scales: hidden layer {layer.index} needs positive finite scales, got {bad[:3].tolist()}"
            )
        out.append(s)
    return out


@torch.no_grad()
def rescale_(model: nn.Module, scales) -> nn.Module:
    """In place: u_j ← α_j u_j, a_j ← a_j / α_j for every hidden neuron. Returns ``model``.

    A ValueError naming ``scales`` (and ``model`` left as it was) if a rescaled weight would
    overflow to inf or underflow from a non-zero value to 0.
    """
    new = {}
    for layer, alpha in zip(hidden_layers(model), check_scales(model, scales)):
        w_in = new.get(layer.incoming.weight, layer.incoming.weight)
        new[layer.incoming.weight] = w_in * alpha[:, None]
        if layer.incoming.bias is not None:
            new[layer.incoming.bias] = layer.incoming.bias * alpha
        new[layer.outgoing.weight] = layer.outgoing.weight / alpha[None, :]
    for p, value in new.items():
        lost = (value == 0) & (p != 0)
        if not bool(torch.isfinite(value).all()) or bool(lost.any()):
            raise ValueError(
                "scales: the rescaled weights overflow or underflow in "
                f"{p.dtype} (largest |log α| too large for these weights)"
            )
    for p, value in new.items():
        p.copy_(value)
    return model


def rescale(model: nn.Module, scales) -> nn.Module:
    """A new model α·θ (see :func:`rescale_`); ``model`` is left untouched."""
    return rescale_(copy.deepcopy(model), scales)


def random_scales(model: nn.Module, low: float = -3.0, high: float = 3.0, seed: int = 0):
    """A random gauge element: log α_j ~ U[low, high] independently for every hidden neuron.

    |low| and |high| are limited to ln(max float)/4 (177 in float64, 22 in float32), so that α_j
    and 1/α_j, and the rescaled net's ‖u_j‖⁴, stay finite.
    """
    low = finite_number(low, "low", "log α")
    high = finite_number(high, "high", "log α")
    if low > high:
        raise ValueError(f"low, high: expected low <= high, got {low}, {high}")
    dtype = model_dtype(model)
    limit = log_scale_limit(dtype)
    if max(abs(low), abs(high)) > limit:
        raise ValueError(
            f"low, high: expected log-scales within ±{limit:.0f} for {dtype} (α = e^{{±{limit:.0f}}}), "
            f"got {low}, {high}"
        )
    gen = torch.Generator().manual_seed(check_seed(seed))
    return [
        torch.exp(low + (high - low) * torch.rand(h.width, generator=gen, dtype=dtype))
        for h in hidden_layers(model)
    ]


@torch.no_grad()
def invariance_error(model: nn.Module, scales, x, relative: bool = False) -> float:
    """Δ_inv(θ, α) = (1/N) Σ_n ‖f_{α·θ}(x_n) − f_θ(x_n)‖ (THEORY §6).

    For one output this is the mean absolute difference. ``relative=True`` divides by
    (1/N) Σ_n ‖f_θ(x_n)‖ (0 when both are 0, inf when only f_θ is 0 on x). ``x`` must hold at least
    one finite row.
    """
    x = as_input(model, x)
    f0 = model(x)
    diff = float((rescale(model, scales)(x) - f0).norm(dim=1).mean())
    if relative:
        size = float(f0.norm(dim=1).mean())
        diff = diff / size if size > 0 else (0.0 if diff == 0 else float("inf"))
    return diff


def orbit_generators(model: nn.Module) -> torch.Tensor:
    """The H orbit generators ξ_j(θ) as rows of an (H, D) matrix in flat parameter order.

    ξ_j = (u_j, −a_j) on neuron j's coordinates, zero elsewhere (THEORY §1); the flat order is
    that of ``torch.nn.utils.parameters_to_vector(model.parameters())``.
    """
    layers = hidden_layers(model)
    offsets, d = {}, 0
    for p in model.parameters():
        offsets[p] = d
        d += p.numel()
    rows = []
    for layer in layers:
        w_in, b_in, w_out = layer.incoming.weight, layer.incoming.bias, layer.outgoing.weight
        for j in range(layer.width):
            xi = torch.zeros(d, dtype=w_in.dtype)
            start = offsets[w_in] + j * w_in.shape[1]
            xi[start : start + w_in.shape[1]] = w_in[j].detach()
            if b_in is not None:
                xi[offsets[b_in] + j] = b_in[j].detach()
            cols = offsets[w_out] + j + w_out.shape[1] * torch.arange(w_out.shape[0])
            xi[cols] = -w_out[:, j].detach()
            rows.append(xi)
    return torch.stack(rows)


def degenerate_neurons(model: nn.Module) -> list[torch.Tensor]:
    """Per hidden layer, a boolean mask of neurons with u_j = 0 or a_j = 0 (fixed points of G)."""
    return [(nu == 0) | (na == 0) for nu, na in neuron_norms(model)]


def balancing_scales(model: nn.Module) -> list[torch.Tensor]:
    """α_j = √(‖a_j‖ / ‖u_j‖), which moves every neuron onto the balanced slice δ_j = 0.

    Exact for one hidden layer (THEORY §2); degenerate neurons get α_j = 1.
    """
    scales = []
    for nu, na in neuron_norms(model):
        ok = (nu > 0) & (na > 0)
        scales.append(torch.where(ok, torch.sqrt(na / torch.where(ok, nu, 1)), torch.ones_like(nu)))
    return [s.detach() for s in scales]


class BalanceWarning(UserWarning):
    """:func:`balance` could not balance every neuron: degenerate neurons, or no convergence."""


def balance(model: nn.Module, tol: float = 1e-13, max_sweeps: int = 10_000) -> nn.Module:
    """The balanced point of ``model``'s orbit: δ_j = 0, the same function, the smallest ‖θ‖².

    One hidden layer: a single exact rescaling α_j = √(‖a_j‖/‖u_j‖). Deep nets: ENorm-style sweeps
    (Stock et al. 2019) balancing one hidden layer at a time, each sweep the exact minimiser of
    ‖θ‖² over that layer's scales; ‖θ‖² is convex in the log-scales, so the sweeps converge to its
    minimiser, where every δ_j = 0. Stops when max_j |δ_j| ≤ tol · max_j (‖u_j‖² + ‖a_j‖²), the max
    over the non-degenerate neurons.

    Degenerate neurons (u_j = 0 or a_j = 0, see :func:`degenerate_neurons`) are fixed points of the
    gauge group: they are left as they are (δ_j = −‖a_j‖² or ‖u_j‖² stays), excluded from the
    stopping rule, and reported by a :class:`BalanceWarning` naming their layer and index. A deep net
    that has not met the rule after ``max_sweeps`` sweeps is returned with a BalanceWarning too.
    """
    tol = positive_number(tol, "tol")
    max_sweeps = positive_int(max_sweeps, "max_sweeps")
    model = copy.deepcopy(model)
    n_layers = len(hidden_layers(model))
    live = [~m for m in degenerate_neurons(model)]
    if not all(bool(m.all()) for m in live):
        where = "; ".join(
            f"hidden layer {i} neurons {(~m).nonzero().flatten().tolist()}"
            for i, m in enumerate(live)
            if not bool(m.all())
        )
        warnings.warn(
            f"balance: degenerate neurons (u_j = 0 or a_j = 0) have no balanced point and are left as "
            f"they are: {where}",
            BalanceWarning,
            stacklevel=2,
        )
    for _ in range(max_sweeps if n_layers > 1 else 1):
        for i in range(n_layers):
            scales = [torch.ones(h.width, dtype=model_dtype(model)) for h in hidden_layers(model)]
            scales[i] = balancing_scales(model)[i]
            rescale_(model, scales)
        if n_layers == 1:
            break
        worst, size = _imbalance_size(model, live)
        if worst <= tol * size:
            break
    else:
        warnings.warn(
            f"balance: not balanced after max_sweeps={max_sweeps} sweeps: max_j |δ_j| = {worst:.3g} > "
            f"tol · max_j (‖u_j‖² + ‖a_j‖²) = {tol * size:.3g}",
            BalanceWarning,
            stacklevel=2,
        )
    return model


def _imbalance_size(model: nn.Module, live: list[torch.Tensor]) -> tuple[float, float]:
    """(max_j |δ_j|, max_j (‖u_j‖² + ‖a_j‖²)) over the neurons marked in ``live``."""
    worst, size = 0.0, 0.0
    for (nu, na), ok in zip(neuron_norms(model), live):
        if bool(ok.any()):
            worst = max(worst, float((nu**2 - na**2)[ok].abs().max()))
            size = max(size, float((nu**2 + na**2)[ok].max()))
    return worst, size
