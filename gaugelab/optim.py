"""Gauge-equivariant optimisation: Path-SGD, and rescaling optimizer state with the weights.

THEORY §7. Path-SGD (Neyshabur, Salakhutdinov & Srebro 2015, arXiv:1506.02617) divides the step of
every weight e by κ_e, the sum over all input→output paths through e of the product of the *other*
squared weights on the path:

    θ_e ← θ_e − η (∂L/∂θ_e) / κ_e,   κ_e = γ_in(source of e)² · γ_out(target of e)²,

with γ_in(input node)² = 1, γ_in(j)² = Σ_i W[j,i]² γ_in(i)² + b_j² for a hidden neuron (its bias is
an edge from a constant node with γ_in = 1), γ_out(output node)² = 1 and
γ_out(j)² = Σ_k W_next[k,j]² γ_out(k)². For two layers this is κ(u_j) = ‖a_j‖², κ(a_j) = ‖u_j‖²
and κ(c) = 1. Under the gauge α a parameter picks up a factor p_e (α_j on u_j, 1/α_j on a_j; in a
deep net α_j/α_i on W[j, i]), its gradient 1/p_e and κ_e a factor 1/p_e², so the Path-SGD step picks
up p_e: the update is exactly gauge-equivariant and two gauge-equivalent starts keep computing the
same function.

Optimizer state must follow the weights. A gradient-like buffer (heavy-ball momentum, Adam's first
moment) transforms like the gradient, by 1/p_e (1/α on incoming, α on outgoing); Adam's second moment
by 1/p_e². :func:`rescale_optimizer_state_` applies exactly that.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from gaugelab._check import betas as check_betas
from gaugelab._check import positive_number
from gaugelab.gauge import check_scales, orbit_generators
from gaugelab.nets import hidden_layers
from gaugelab.train import TrainResult, train


def parameter_log_factors(model: nn.Module) -> torch.Tensor:
    """The (D, H) matrix P with log p_e = (P s)_e under α = e^s (flat parameter order).

    P[e, j] = +1 if e is an incoming weight or bias of hidden neuron j, −1 if it is one of j's
    outgoing weights, 0 otherwise; it is :func:`gaugelab.orbit_generators` evaluated at θ = 1.
    """
    ones = copy.deepcopy(model)
    with torch.no_grad():
        for p in ones.parameters():
            p.fill_(1.0)
    return orbit_generators(ones).T.contiguous()


def parameter_factors(model: nn.Module, scales) -> list[torch.Tensor]:
    """The factor p_e by which each parameter is multiplied under the gauge α (one tensor per
    parameter, same shapes): α_j on u_j, 1/α_j on a_j, α_j/α_i on a deep W[j, i], 1 on the output
    bias. A gradient transforms by 1/p_e."""
    s = torch.cat([torch.log(a) for a in check_scales(model, scales)])
    logp = parameter_log_factors(model) @ s
    out, start = [], 0
    for p in model.parameters():
        out.append(torch.exp(logp[start : start + p.numel()]).reshape(p.shape))
        start += p.numel()
    return out


@torch.no_grad()
def path_kappa(model: nn.Module) -> list[torch.Tensor]:
    """κ_e = γ_in(source)² γ_out(target)² for every parameter (same shapes as ``model.parameters()``).

    Two layers: κ(u_j) = ‖a_j‖², κ(a_j) = ‖u_j‖², κ(c) = 1 (see the module docstring for deep nets).
    """
    layers = hidden_layers(model)
    linears = [h.incoming for h in layers] + [layers[-1].outgoing]
    dtype = linears[0].weight.dtype
    g_in = [torch.ones(linears[0].in_features, dtype=dtype)]
    for lin in linears[:-1]:
        gi = (lin.weight**2) @ g_in[-1]
        if lin.bias is not None:
            gi = gi + lin.bias**2
        g_in.append(gi)
    g_out = [torch.ones(linears[-1].out_features, dtype=dtype)]
    for lin in reversed(linears[1:]):
        g_out.insert(0, (lin.weight**2).T @ g_out[0])
    kappa = {}
    for lin, gi, go in zip(linears, g_in, g_out):
        kappa[lin.weight] = go[:, None] * gi[None, :]
        if lin.bias is not None:
            kappa[lin.bias] = go.clone()
    return [kappa[p] for p in model.parameters()]


def _momentum(value) -> float:
    try:
        m = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"momentum: expected a number in [0, 1), got {value!r}") from None
    if not 0 <= m < 1:
        raise ValueError(f"momentum: expected a number in [0, 1), got {value!r}")
    return m


class PathSGD(torch.optim.Optimizer):
    """Path-SGD: θ_e ← θ_e − η d_e / κ_e(θ), with d = g (plain) or the heavy-ball buffer
    d ← μ d + g (``momentum`` = μ > 0; the buffer holds raw gradients, so it transforms like one).

    κ_e is recomputed from the current weights at every step (:func:`path_kappa`). Where κ_e = 0
    (a neuron with no path to the input or output) the gradient is zero too and the step is 0.
    """

    def __init__(self, model: nn.Module, lr: float = 0.01, momentum: float = 0.0):
        lr, momentum = positive_number(lr, "lr"), _momentum(momentum)
        hidden_layers(model)
        self._model = model
        super().__init__(list(model.parameters()), dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        kappa = dict(zip(self._model.parameters(), path_kappa(self._model)))
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if group["momentum"] > 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = d.clone()
                    else:
                        state["momentum_buffer"].mul_(group["momentum"]).add_(d)
                    d = state["momentum_buffer"]
                k = kappa[p]
                p.sub_(group["lr"] * torch.where(k > 0, d / torch.where(k > 0, k, 1), 0))
        return loss


@torch.no_grad()
def rescale_optimizer_state_(optimizer: torch.optim.Optimizer, model: nn.Module, scales, rule="gradient"):
    """Transform ``optimizer``'s per-parameter state for the gauge α applied to ``model``'s weights.

    rule="gradient" (the right law): ``momentum_buffer`` and Adam's ``exp_avg`` are multiplied by
    1/p_e (1/α on incoming, α on outgoing), Adam's ``exp_avg_sq`` by 1/p_e². rule="parameter"
    multiplies the buffers by p_e instead (the wrong law, for demonstrations). Call it together
    with :func:`gaugelab.rescale_` on the same ``scales``; returns ``optimizer``.
    """
    if rule not in ("gradient", "parameter"):
        raise ValueError(f"rule: expected 'gradient' or 'parameter', got {rule!r}")
    factors = dict(zip(model.parameters(), parameter_factors(model, scales)))
    for p, state in optimizer.state.items():
        if p not in factors:
            raise ValueError("optimizer: holds state for a parameter that is not in model")
        f = 1 / factors[p] if rule == "gradient" else factors[p]
        for key in ("momentum_buffer", "exp_avg"):
            if state.get(key) is not None:
                state[key].mul_(f)
        if state.get("exp_avg_sq") is not None:
            state["exp_avg_sq"].mul_(f**2)
    return optimizer


def run_optimizer(
    model: nn.Module,
    x,
    y,
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    *,
    steps: int = 100,
    probe=None,
    lam: float = 0.0,
    rescale_at: dict | None = None,
    state_rule: str | None = "gradient",
    record_every: int = 1,
    inplace: bool = False,
) -> TrainResult:
    """Full-batch :func:`gaugelab.train` of L + R_λ with any torch optimizer ``make_optimizer(model)``,
    recording f on ``probe`` (default x) as ``result.outputs`` (R, N, k).

    ``rescale_at = {t: scales}`` applies the gauge α to the weights just before step t; with
    ``state_rule`` "gradient" or "parameter" the optimizer state is rescaled by that law
    (:func:`rescale_optimizer_state_`), with None it is left as it was. Divergence is reported as
    in :func:`gaugelab.train`, never raised.
    """
    from gaugelab.gauge import rescale_

    rescale_at = rescale_at or {}

    def before_step(t, model, opt):
        if t in rescale_at:
            rescale_(model, rescale_at[t])
            if state_rule is not None:
                rescale_optimizer_state_(opt, model, rescale_at[t], rule=state_rule)

    return train(
        model,
        x,
        y,
        steps=steps,
        optimizer=make_optimizer,
        lam=lam,
        probe=probe if probe is not None else x,
        record_outputs=True,
        record_every=record_every,
        before_step=before_step,
        inplace=inplace,
    )


def sgd(lr: float, momentum: float = 0.0):
    """``make_optimizer`` for :func:`run_optimizer`: torch SGD (heavy ball if ``momentum`` > 0)."""
    lr, momentum = positive_number(lr, "lr"), _momentum(momentum)
    return lambda model: torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def adam(lr: float, betas=(0.9, 0.999)):
    """``make_optimizer`` for :func:`run_optimizer`: torch Adam (``betas`` each in [0, 1))."""
    lr, betas = positive_number(lr, "lr"), check_betas(betas)
    return lambda model: torch.optim.Adam(model.parameters(), lr=lr, betas=betas)


def path_sgd(lr: float, momentum: float = 0.0):
    """``make_optimizer`` for :func:`run_optimizer`: :class:`PathSGD`."""
    lr, momentum = positive_number(lr, "lr"), _momentum(momentum)
    return lambda model: PathSGD(model, lr=lr, momentum=momentum)
