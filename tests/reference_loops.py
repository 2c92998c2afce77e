"""Hand-written reference computations for the rule tests: no gaugelab training code is used.

Each function states the rule it implements, from the module docstrings of gaugelab.train and
gaugelab.ensemble, with torch autograd for gradients only.
"""

from __future__ import annotations

import copy
import math

import torch


def half_mse(pred, y):
    """L = (1/2N) Σ_n ‖pred_n − y_n‖², written out."""
    return 0.5 * ((pred - y) ** 2).sum(dim=1).mean()


def penalty(model, lam: float):
    """R_λ = (λ/4) Σ_j δ_j² over every hidden neuron, δ_j = ‖u_j‖² − ‖a_j‖², from the Linear layers."""
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    total = torch.zeros((), dtype=linears[0].weight.dtype)
    for inc, out in zip(linears[:-1], linears[1:]):
        u2 = (inc.weight**2).sum(1) + (inc.bias**2 if inc.bias is not None else 0)
        a2 = (out.weight**2).sum(0)
        total = total + ((u2 - a2) ** 2).sum()
    return lam / 4 * total


def gd_losses(model, x, y, lr: float, lam: float, steps: int) -> list[float]:
    """L(θ_t) for t = 0..steps of θ ← θ − η ∇(L + R_λ); stops after the first non-finite value."""
    model = copy.deepcopy(model)
    params = list(model.parameters())
    out = []
    for _ in range(steps + 1):
        loss = half_mse(model(x), y)
        out.append(float(loss.detach()))
        if not math.isfinite(out[-1]) or not all(bool(torch.isfinite(p).all()) for p in params):
            out[-1] = math.nan
            break
        grads = torch.autograd.grad(loss + penalty(model, lam) if lam > 0 else loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)
    return out


def predicted_divergence_step(losses: list[float], y, factor: float) -> int | None:
    """The documented rule: the first t whose loss is not finite or exceeds
    factor · max(L(θ_0), L_0, 1e-12), L_0 = (1/2N) Σ ‖y_n‖² (the zero predictor's loss)."""
    base = max(losses[0], float(0.5 * (y**2).sum(dim=1).mean()), 1e-12)
    for t, v in enumerate(losses):
        if not math.isfinite(v) or v > factor * base:
            return t
    return None


def factors_around_each_record(losses: list[float], y) -> list[tuple[float, int | None]]:
    """(factor, predicted step) pairs 1 % below and above every new maximum of loss_t / base:
    an implementation with a different threshold (or base) fails on one of them."""
    base = max(losses[0], float(0.5 * (y**2).sum(dim=1).mean()), 1e-12)
    pairs, best = [], 1.0
    for v in losses[1:]:
        if math.isfinite(v) and v / base > best * 1.05:
            best = v / base
            for f in (best / 1.01, best * 1.01):
                pairs.append((f, predicted_divergence_step(losses, y, f)))
    return pairs
