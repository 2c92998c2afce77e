"""Soft gauge fixing: the orbit-selection functional and its closed-form relaxation (THEORY §4).

R_λ(θ) = (λ/4) Σ_j δ_j²  with  ∇_{u_j}R = λ δ_j u_j,  ∇_{a_j}R = −λ δ_j a_j,  i.e. ∇R = λ Σ_j δ_j ξ_j:
it points along the orbits only. Under the flow of R alone every v_j (hence f) stays fixed and
  tanh(ρ_j(t)/2) = tanh(ρ_j(0)/2) · exp(−4λ‖v_j‖ t).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gaugelab._check import finite_tensor, nonnegative_number, positive_number
from gaugelab.coords import flat, imbalance, log_scale, neuron_norms


def gauge_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """R_λ(θ) = (λ/4) Σ_j δ_j² over every hidden neuron of every hidden layer.

    A differentiable scalar: add it to the loss in any torch training loop.
    """
    lam = nonnegative_number(lam, "lam")
    return lam / 4 * (flat(imbalance(model)) ** 2).sum()


def log_gauge_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    """The log form (λ/2) Σ_j ρ_j², for comparison (undefined at degenerate neurons)."""
    lam = nonnegative_number(lam, "lam")
    return lam / 2 * (flat(log_scale(model)) ** 2).sum()


def relaxation(rho0, v_norm, lam: float, t) -> torch.Tensor:
    """ρ(t) under the gradient flow of R_λ alone: ρ(t) = 2 artanh(tanh(ρ0/2) e^{−4λ‖v‖t}).

    Arguments broadcast (e.g. ``rho0`` and ``v_norm`` of shape (m,) against ``t[:, None]``); each
    must be finite (``t`` >= 0, ``v_norm`` >= 0). The matching δ(t) is
    :func:`gaugelab.coords.imbalance_from_log_scale` (δ = 2‖v‖ sinh ρ).

    With z = tanh(|ρ0|/2) e^{−k}, k = 4λ‖v‖t: ρ = sign ρ0 · 2 artanh z for z < 1/2, and
    sign ρ0 · (log(1 + z) − log(1 − z)) with 1 − z = (1 − e^{−k}) + e^{−k} · 2σ(−|ρ0|) above, accurate
    for every finite ρ0 (the plain formula returns inf once tanh(ρ0/2) rounds to 1, at |ρ0| ≳ 38).
    """
    lam = nonnegative_number(lam, "lam")
    rho0 = _finite_tensor(rho0, "rho0")
    v_norm = _finite_tensor(v_norm, "v_norm")
    t = _finite_tensor(t, "t")
    if (t < 0).any():
        raise ValueError("t: expected times >= 0")
    if (v_norm < 0).any():
        raise ValueError("v_norm: expected ‖v_j‖ >= 0")
    k = 4 * lam * v_norm * t
    r = rho0.abs()
    z = torch.tanh(r / 2) * torch.exp(-k)
    log_1m_z = torch.logaddexp(torch.log(-torch.expm1(-k)), -k + math.log(2) + F.logsigmoid(-r))
    near_one = torch.log1p(z) - log_1m_z  # no cancellation once z >= 1/2
    return torch.sign(rho0) * torch.where(z < 0.5, 2 * torch.atanh(torch.clamp(z, max=0.5)), near_one)


def _finite_tensor(value, name: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name}: expected numbers or a tensor, got {type(value).__name__}") from exc
    return finite_tensor(t, name)


def relaxation_rate(v_norm, lam: float) -> torch.Tensor:
    """The linear rate 4λ‖v_j‖ at which ρ_j and δ_j decay near balance."""
    lam = nonnegative_number(lam, "lam")
    return 4 * lam * torch.as_tensor(v_norm, dtype=torch.float64)


def penalty_stiffness(model: nn.Module) -> torch.Tensor:
    """max_j (‖u_j‖² + ‖a_j‖²): one GD step of R_λ multiplies δ_j by ≈ 1 − 2ηλ(‖u_j‖² + ‖a_j‖²)."""
    return torch.stack([(nu**2 + na**2).max() for nu, na in neuron_norms(model)]).max().detach()


def lambda_upper_limit(model: nn.Module, lr: float) -> float:
    """λ above which the penalty's own imbalance mode overshoots under GD with step ``lr``.

    The per-step factor 1 − 2ηλ(‖u_j‖² + ‖a_j‖²) turns negative (oscillating relaxation) at
    ηλ(‖u_j‖² + ‖a_j‖²) = 1/2 and passes −1 (divergence) at ≈ 1; this returns the latter,
    1 / (η max_j(‖u_j‖² + ‖a_j‖²)), at the model's current point (``math.inf`` when every neuron
    is zero: then there is no imbalance mode to overshoot).
    """
    lr = positive_number(lr, "lr")
    return float(1.0 / (lr * penalty_stiffness(model)))
