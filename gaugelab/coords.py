"""Gauge-adapted coordinates: the invariant v_j and the redundant δ_j, ρ_j (THEORY §2).

For hidden neuron j with incoming u_j = (w_j, b_j) and outgoing a_j:
  v_j = a_j u_jᵀ                      (invariant; ‖v_j‖ = ‖a_j‖ ‖u_j‖),
  δ_j = ‖u_j‖² − ‖a_j‖²               (imbalance),
  ρ_j = log(‖u_j‖ / ‖a_j‖)            (log-scale; ρ_j ↦ ρ_j + 2 s_j under α_j = e^{s_j}),
with δ_j = 2‖v_j‖ sinh ρ_j and (‖u_j‖² + ‖a_j‖²)² = δ_j² + 4‖v_j‖².
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from gaugelab.nets import hidden_layers


def _vectors(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(U, A) per hidden layer, differentiable (what :func:`imbalance` and :func:`log_scale` use)."""
    out = []
    for layer in hidden_layers(model):
        u = layer.incoming.weight
        if layer.incoming.bias is not None:
            u = torch.cat([u, layer.incoming.bias[:, None]], dim=1)
        out.append((u, layer.outgoing.weight.T))
    return out


def neuron_vectors(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per hidden layer, (U, A): U[j] = u_j = (W_in[j, :], b_in[j]) and A[j] = a_j = W_out[:, j].

    Values to read (detached from autograd, so ``float(...)`` and ``.numpy()`` work without a
    warning). For a differentiable quantity inside a loss use :func:`imbalance`, :func:`log_scale`
    or :func:`path_norm`, or the parameters themselves.
    """
    return [(u.detach(), a.detach()) for u, a in _vectors(model)]


def neuron_norms(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per hidden layer, (‖u_j‖, ‖a_j‖) as two 1-D tensors (values to read, detached)."""
    return [(u.norm(dim=1), a.norm(dim=1)) for u, a in neuron_vectors(model)]


def _norms(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(u.norm(dim=1), a.norm(dim=1)) for u, a in _vectors(model)]


def imbalance(model: nn.Module) -> list[torch.Tensor]:
    """δ_j = ‖u_j‖² − ‖a_j‖², one 1-D tensor per hidden layer (differentiable)."""
    return [(u * u).sum(1) - (a * a).sum(1) for u, a in _vectors(model)]


def path_norm(model: nn.Module) -> list[torch.Tensor]:
    """‖v_j‖ = ‖a_j‖ ‖u_j‖, one 1-D tensor per hidden layer (differentiable)."""
    return [nu * na for nu, na in _norms(model)]


def log_scale(model: nn.Module, on_degenerate: str = "raise") -> list[torch.Tensor]:
    """ρ_j = log(‖u_j‖ / ‖a_j‖), one 1-D tensor per hidden layer.

    ρ_j is undefined where u_j = 0 or a_j = 0. ``on_degenerate="raise"`` (default) raises a
    ValueError naming those neurons; ``"nan"`` puts NaN there on purpose (mask them before plotting).
    Differentiable (the log penalty uses it).
    """
    if on_degenerate not in ("raise", "nan"):
        raise ValueError(f"on_degenerate: expected 'raise' or 'nan', got {on_degenerate!r}")
    out = []
    for i, (nu, na) in enumerate(_norms(model)):
        bad = (nu == 0) | (na == 0)
        if bad.any() and on_degenerate == "raise":
            raise ValueError(
                f"log_scale: hidden layer {i} neurons {bad.nonzero().flatten().tolist()} have u_j = 0 "
                f"or a_j = 0, where ρ_j is undefined; pass on_degenerate='nan' to mask them"
            )
        rho = torch.log(nu) - torch.log(na)
        out.append(torch.where(bad, torch.full_like(rho, float("nan")), rho))
    return out


def imbalance_from_log_scale(rho: torch.Tensor, v_norm: torch.Tensor) -> torch.Tensor:
    """δ = 2‖v‖ sinh ρ (THEORY §2)."""
    return 2 * v_norm * torch.sinh(rho)


def flat(per_layer: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate per-layer 1-D tensors into one vector over all H hidden neurons."""
    return torch.cat([t.reshape(-1) for t in per_layer])


@dataclass
class GaugeCoordinates:
    """The chart of a two-layer net: θ ↔ (v, ρ, a_dir, c).

    v: (m, k, p) with v_j = a_j u_jᵀ (p = d + 1 with a hidden bias, d without);
    rho: (m,) log-scales; a_dir: (m, k) unit directions of a_j (the sign convention);
    c: output bias or None; activation: the hidden activation module.
    """

    v: torch.Tensor
    rho: torch.Tensor
    a_dir: torch.Tensor
    c: torch.Tensor | None
    activation: nn.Module
    hidden_bias: bool


def _two_layer(model: nn.Module):
    layers = hidden_layers(model)
    if len(layers) != 1:
        raise ValueError(
            f"model: the chart is defined for two-layer nets (one hidden layer), this one has "
            f"{len(layers)} hidden layers"
        )
    acts = [m for m in model if not isinstance(m, nn.Linear)]
    return layers[0], acts


@torch.no_grad()
def gauge_coordinates(model: nn.Module) -> GaugeCoordinates:
    """θ = (u_j, a_j, c) ↦ (v_j = a_j u_jᵀ, ρ_j, â_j = a_j/‖a_j‖, c) for a two-layer net."""
    layer, acts = _two_layer(model)
    if len(acts) != 1 or list(model).index(acts[0]) != 1:
        raise ValueError("model: the chart expects Sequential(Linear, activation, Linear)")
    ((u, a),) = neuron_vectors(model)
    (rho,) = log_scale(model)
    v = a[:, :, None] * u[:, None, :]
    c = None if layer.outgoing.bias is None else layer.outgoing.bias.detach().clone()
    return GaugeCoordinates(
        v=v.clone(),
        rho=rho.clone(),
        a_dir=a / a.norm(dim=1, keepdim=True),
        c=c,
        activation=acts[0],
        hidden_bias=layer.incoming.bias is not None,
    )


@torch.no_grad()
def from_gauge_coordinates(coords: GaugeCoordinates) -> nn.Sequential:
    """The inverse chart: ‖u_j‖ = √‖v_j‖ e^{ρ_j/2}, ‖a_j‖ = √‖v_j‖ e^{−ρ_j/2}, a_j ∥ â_j.

    u_j's direction is recovered as v_jᵀ â_j / ‖v_j‖.
    """
    v, rho, a_dir = coords.v, coords.rho, coords.a_dir
    m, k, p = v.shape
    v_norm = v.flatten(1).norm(dim=1)
    u_dir = torch.einsum("mkp,mk->mp", v, a_dir) / v_norm[:, None]
    u = u_dir * (v_norm.sqrt() * torch.exp(rho / 2))[:, None]
    a = a_dir * (v_norm.sqrt() * torch.exp(-rho / 2))[:, None]
    d = p - 1 if coords.hidden_bias else p
    first = nn.Linear(d, m, bias=coords.hidden_bias, dtype=v.dtype)
    second = nn.Linear(m, k, bias=coords.c is not None, dtype=v.dtype)
    first.weight.copy_(u[:, :d])
    if coords.hidden_bias:
        first.bias.copy_(u[:, d])
    second.weight.copy_(a.T)
    if coords.c is not None:
        second.bias.copy_(coords.c)
    return nn.Sequential(first, copy.deepcopy(coords.activation), second)
