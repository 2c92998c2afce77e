"""Symmetry teleportation: moving along the orbit to change an objective, with f held fixed.

THEORY §7 (Zhao, Dehmamy, Walters & Yu 2022, arXiv:2205.10637). Every point α(s)·θ of the orbit,
α_j = e^{s_j} with one log-scale s_j per hidden neuron, computes the same function, hence has the
same loss. Teleportation runs gradient ascent or descent on s of an objective J(α(s)·θ):

* ``"grad_norm"``   J = ‖∇L(α·θ)‖²  (Zhao et al. maximise it: a faster first step afterwards),
* ``"sharpness"``   J = λ_max(∇²L(α·θ))  (minimising it widens the stable step 2/λ_max),
* ``"weight_norm"`` J = ‖α·θ‖²  (its minimiser is the balanced point, δ_j = 0: ENorm).

In flat form α(s)·θ = θ ⊙ exp(P s) with P from :func:`gaugelab.optim.parameter_log_factors`.
The λ_max gradient uses Hellmann–Feynman: ∂λ/∂s = qᵀ (∂H/∂s) q with q the top eigenvector of the
(full, small) Hessian, so keep the nets small (D up to a few hundred parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import grad, hessian, jvp

from gaugelab._check import log_scale_limit, nonnegative_number, positive_int, positive_number
from gaugelab.gauge import rescale
from gaugelab.nets import as_input, as_target, hidden_layers
from gaugelab.optim import parameter_log_factors
from gaugelab.sharpness import flat_loss

OBJECTIVES = ("grad_norm", "sharpness", "weight_norm")


@dataclass
class TeleportResult:
    """model = α(s)·θ at the end; scales: α per hidden layer; s: (T+1, H) log-scales;
    objective: (T+1,) J along the way; function_change: max_n ‖f_{α·θ}(x_n) − f_θ(x_n)‖."""

    model: nn.Module
    scales: list[torch.Tensor]
    s: torch.Tensor
    objective: torch.Tensor
    function_change: float


def orbit_objective(model: nn.Module, x, y, objective: str, lam: float = 0.0):
    """(J, θ, P): J(s) as a differentiable function of the log-scales s (shape (H,)).

    J(s) is the objective of module docstring evaluated at θ ⊙ exp(P s); L is the half MSE (+ R_λ).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {OBJECTIVES}, got {objective!r}")
    x = as_input(model, x)
    y = as_target(model, y, x.shape[0])
    loss, theta = flat_loss(model, x, y, nonnegative_number(lam, "lam"))
    P = parameter_log_factors(model)

    def point(s):
        return theta * torch.exp(P @ s)

    if objective == "weight_norm":
        return (lambda s: (point(s) ** 2).sum()), theta, P
    if objective == "grad_norm":
        g = grad(loss)
        return (lambda s: (g(point(s)) ** 2).sum()), theta, P
    g = grad(loss)

    def sharp(s):
        with torch.no_grad():
            evals, evecs = torch.linalg.eigh(hessian(loss)(point(s).detach()))
            q = evecs[:, -1]
        return torch.dot(q, jvp(g, (point(s),), (q,))[1])

    return sharp, theta, P


def teleport(
    model: nn.Module,
    x,
    y,
    *,
    objective: str = "sharpness",
    maximize: bool = False,
    steps: int = 50,
    lr: float = 0.05,
    normalize: bool = True,
    max_step: float = 0.25,
    lam: float = 0.0,
) -> TeleportResult:
    """Gradient ascent (``maximize``) or descent on s of J(α(s)·θ); returns the teleported model.

    s_0 = 0; s_{t+1} = s_t ± lr · ∇_s J / max_j |∂J/∂s_j| (``normalize``, the default: the objectives
    differ by orders of magnitude, so the largest log-scale moves by exactly ``lr`` per step), or
    s_t ± clip(lr · ∇_s J, ±max_step). The function never changes (only the gauge is applied);
    ``function_change`` measures it on x.
    """
    steps = positive_int(steps, "steps")
    lr = positive_number(lr, "lr")
    max_step = positive_number(max_step, "max_step")
    J, theta, P = orbit_objective(model, x, y, objective, lam)
    s = torch.zeros(P.shape[1], dtype=theta.dtype)
    sign = 1.0 if maximize else -1.0
    limit = log_scale_limit(theta.dtype)
    ss, js = [s.clone()], []
    for t in range(steps):
        s_req = s.clone().requires_grad_(True)
        value = J(s_req)
        (g,) = torch.autograd.grad(value, s_req)
        js.append(float(value.detach()))
        g = g.detach()
        if not (math.isfinite(js[-1]) and bool(torch.isfinite(g).all())):
            if t == 0:
                raise ValueError(f"model: the objective {objective!r} or its gradient is not finite here")
            raise ValueError(
                f"lr: the objective {objective!r} overflowed after {t} steps of lr={lr:g} (log-scales up "
                f"to |s| = {float(s.abs().max()):.3g}); use a smaller lr or fewer steps"
            )
        if normalize:
            top = float(g.abs().max())
            step = lr * g / top if top > 0 else torch.zeros_like(g)
        else:
            step = torch.clamp(lr * g, -max_step, max_step)
        s = s + sign * step
        if float(s.abs().max()) > limit:
            raise ValueError(
                f"lr: {t + 1} steps of lr={lr:g} moved a log-scale to |s| = {float(s.abs().max()):.3g}, "
                f"beyond ±{limit:.0f} where α = e^s and the rescaled weights stay finite in {theta.dtype}; "
                f"use a smaller lr or fewer steps"
            )
        ss.append(s.clone())
    js.append(float(J(s).detach()))
    widths = [h.width for h in hidden_layers(model)]
    scales = [torch.exp(part) for part in torch.split(s, widths)]
    new = rescale(model, scales)
    x = as_input(model, x)
    with torch.no_grad():
        change = float((new(x) - model(x)).norm(dim=1).max())
    return TeleportResult(
        model=new,
        scales=[a.detach() for a in scales],
        s=torch.stack(ss),
        objective=torch.tensor(js, dtype=theta.dtype),
        function_change=change,
    )


def orbit_line(model: nn.Module, shifts, x, y, objective: str = "sharpness", lam: float = 0.0):
    """J along the one-parameter orbit s = t·1 (every neuron rescaled by e^t), for t in ``shifts``."""
    J, theta, P = orbit_objective(model, x, y, objective, lam)
    H = P.shape[1]
    return torch.tensor(
        [float(J(torch.full((H,), float(t), dtype=theta.dtype)).detach()) for t in shifts],
        dtype=theta.dtype,
    )


__all__ = ["OBJECTIVES", "TeleportResult", "orbit_line", "orbit_objective", "teleport"]
