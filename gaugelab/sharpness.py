"""Sharpness: the top eigenvalue of the training-loss Hessian, from Hessian-vector products.

THEORY §5: GD near a minimum is linearly stable iff η < 2/λ_max(H). The loss is constant along an
orbit, the Hessian is not. The Hessian is never formed: Lanczos iteration (with full
reorthogonalisation) on H·v products by double backward (:func:`double_backward_hvp`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call

from gaugelab._check import model_values, nonnegative_number, positive_int
from gaugelab._check import seed as check_seed
from gaugelab.losses import TrainingObjective
from gaugelab.nets import as_input, as_target


def flat_loss(model: nn.Module, x, y, lam: float = 0.0):
    """θ (flat vector) ↦ L(θ) + R_λ(θ) for the model's architecture, and the current θ.

    ``x``, ``y`` must already be tensors of the model's dtype and shape (see ``nets.as_input``).
    """
    objective = TrainingObjective(model, lam)
    names = [f"model.{n}" for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(vec):
        params = dict(
            zip(names, (t.reshape(s) for t, s in zip(vec.split([s.numel() for s in shapes]), shapes)))
        )
        return functional_call(objective, params, (x, y))

    return loss, theta


def double_backward_hvp(total, theta: torch.Tensor):
    """v ↦ ∇²F(θ) v for F = ``total`` (θ ↦ a scalar), by reverse over reverse: g = ∇F(θ) is taken
    once with its graph kept, then H v = ∇_θ ⟨g, v⟩ is one more backward pass per product.

    For a batch of independent problems (θ of shape (B, D), F = Σ_b F_b(θ_b)) the same call gives
    every H_b v_b at once: the cross terms vanish. Plain ``torch.autograd`` rather than
    ``torch.func.grad``: the latter imports ``torch._dynamo`` on first use, ≈ 1.5–3 s of start-up
    that every notebook kernel computing a sharpness would pay (torch 2.13).
    """
    theta = theta.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(total(theta), theta, create_graph=True)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        if not g.requires_grad:  # F is affine in θ: H = 0
            return torch.zeros_like(v)
        (hv,) = torch.autograd.grad(g, theta, v, retain_graph=True, allow_unused=True)
        return torch.zeros_like(v) if hv is None else hv.detach()

    return hvp


def hessian_vector_product(model: nn.Module, x, y, lam: float = 0.0):
    """A function v ↦ H v, H = ∇²(L + R_λ) at the model's parameters (flat order), and θ."""
    x = as_input(model, x)
    y = as_target(model, y, x.shape[0])
    loss, theta = flat_loss(model, x, y, nonnegative_number(lam, "lam"))
    return double_backward_hvp(loss, theta), theta


def top_hessian_eigenvalue(
    model: nn.Module, x, y, *, lam: float = 0.0, iters: int = 100, seed: int = 0
) -> float:
    """λ_max of the Hessian of the training loss (half MSE, + R_λ if ``lam`` > 0) at ``model``.

    Lanczos with ``min(iters, D)`` steps and full reorthogonalisation; with D or more steps it is
    exact up to rounding. Returns the largest algebraic eigenvalue.
    """
    iters = positive_int(iters, "iters")
    seed = check_seed(seed)
    model_values(model)
    hvp, theta = hessian_vector_product(model, x, y, lam)
    d = theta.numel()
    k = min(iters, d)
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(d, generator=gen, dtype=theta.dtype)
    q = q / q.norm()
    basis = [q]
    alphas, betas = [], []
    for i in range(k):
        w = hvp(basis[-1])
        alpha = torch.dot(w, basis[-1])
        alphas.append(alpha)
        Q = torch.stack(basis)
        w = w - Q.T @ (Q @ w)
        w = w - Q.T @ (Q @ w)
        beta = w.norm()
        if i == k - 1 or beta <= 1e-12 * max(1.0, float(alpha.abs())):
            break
        betas.append(beta)
        basis.append(w / beta)
    T = torch.diag(torch.stack(alphas))
    if betas:
        off = torch.stack(betas)
        T = T + torch.diag(off, 1) + torch.diag(off, -1)
    if not bool(torch.isfinite(T).all()):
        raise ValueError(
            "model: the Hessian-vector products overflow to NaN/inf at this point (weights or inputs "
            "too large for the model's dtype)"
        )
    return float(torch.linalg.eigvalsh(T)[-1])


def max_stable_lr(model: nn.Module, x, y, **kwargs) -> float:
    """η_max = 2 / λ_max: the largest step at which GD is linearly stable at this point.

    ``math.inf`` where λ_max = 0 (the loss is flat to second order: curvature limits no step, e.g.
    at θ = 0 of a net without biases); a ValueError naming ``model`` where λ_max < 0 (a maximum:
    no step is linearly stable).
    """
    lam_max = top_hessian_eigenvalue(model, x, y, **kwargs)
    if lam_max > 0:
        return 2.0 / lam_max
    if lam_max == 0:
        return math.inf
    raise ValueError(f"model: λ_max = {lam_max:.3g} < 0 here (a maximum of the loss): no step is stable")
