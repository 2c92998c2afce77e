"""Scale drift: how one finite gradient-descent step changes the imbalances (THEORY §3, §5).

Plain GD with step η and weight decay μ, θ ← θ − η(g + μθ) with g = ∇L, changes every imbalance
δ_j = ‖u_j‖² − ‖a_j‖² exactly by

    δ_j ← (1 − ημ)² δ_j + η² (‖g_{u_j}‖² − ‖g_{a_j}‖²)

(Euler's identity u_j·g_{u_j} = a_j·g_{a_j} cancels the O(η) cross term). The O(η²) term is the
*scale drift*; :func:`drift_term` returns ‖g_{u_j}‖² − ‖g_{a_j}‖² for every hidden neuron of any
depth, :func:`one_step_imbalance` the right-hand side above.

Its sign, for a two-layer net with one output (THEORY §5). With residuals r_n = f(x_n) − y_n,
x̃_n = (x_n, 1) and the training loss L = (1/2N) Σ_n r_n², let

    s_j = (1/N) Σ_n r_n σ'(u_j·x̃_n) x̃_n .

Since σ(z) = σ'(z) z for a positively homogeneous σ, g_{u_j} = a_j s_j and g_{a_j} = u_j·s_j, so

    ‖g_{u_j}‖² − ‖g_{a_j}‖² = ‖s_j‖² (‖u_j‖² sin²φ_j − δ_j),

φ_j the angle between u_j and s_j (:func:`drift_decomposition`). For small η a neuron with
δ_j < 0, or with δ_j > ‖u_j‖² sin²φ_j, is pushed toward balance (|δ_j| shrinks); one with
0 ≤ δ_j < ‖u_j‖² sin²φ_j is pushed away from it (a balanced neuron gains δ_j > 0). The direction
is set neuron by neuron by the data and the current point, not by the optimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gaugelab._check import nonnegative_number, positive_number
from gaugelab.coords import imbalance
from gaugelab.losses import half_mse
from gaugelab.nets import HOMOGENEOUS_ACTIVATIONS, as_input, as_target, hidden_layers


def neuron_gradients(model: nn.Module, x, y) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per hidden layer, (G_U, G_A): rows g_{u_j} = ∇_{u_j}L and g_{a_j} = ∇_{a_j}L, L the half MSE.

    g_{u_j} = (∇_{W_l[j,:]}L, ∇_{b_l[j]}L) and g_{a_j} = ∇_{W_{l+1}[:,j]}L, laid out like
    :func:`gaugelab.neuron_vectors`; detached tensors (the model is not changed).
    """
    layers = hidden_layers(model)
    x = as_input(model, x)
    y = as_target(model, y, x.shape[0])
    params = list(model.parameters())
    grads = dict(zip(params, torch.autograd.grad(half_mse(model(x), y), params)))
    out = []
    for layer in layers:
        g_u = grads[layer.incoming.weight]
        if layer.incoming.bias is not None:
            g_u = torch.cat([g_u, grads[layer.incoming.bias][:, None]], dim=1)
        out.append((g_u.detach(), grads[layer.outgoing.weight].T.detach()))
    return out


def drift_term(model: nn.Module, x, y) -> list[torch.Tensor]:
    """‖g_{u_j}‖² − ‖g_{a_j}‖² for every hidden neuron (one 1-D tensor per hidden layer).

    One GD step of size η without weight decay changes δ_j by exactly η² times this.
    """
    return [(g_u**2).sum(1) - (g_a**2).sum(1) for g_u, g_a in neuron_gradients(model, x, y)]


def one_step_imbalance(model: nn.Module, x, y, lr: float, weight_decay: float = 0.0) -> list[torch.Tensor]:
    """δ_j after one full-batch GD step: (1 − ημ)² δ_j + η² (‖g_{u_j}‖² − ‖g_{a_j}‖²).

    ``lr`` = η > 0, ``weight_decay`` = μ ≥ 0 (the update θ ← θ − η(g + μθ) of ``gl.train``).
    """
    lr = positive_number(lr, "lr")
    weight_decay = nonnegative_number(weight_decay, "weight_decay")
    shrink = (1 - lr * weight_decay) ** 2
    terms = drift_term(model, x, y)
    return [shrink * d.detach() + lr**2 * t for d, t in zip(imbalance(model), terms, strict=True)]


@dataclass
class DriftDecomposition:
    """The pieces of ‖g_{u_j}‖² − ‖g_{a_j}‖² = ‖s_j‖² (‖u_j‖² sin²φ_j − δ_j), one entry per neuron.

    s: (m, p) rows s_j; s_norm_sq: ‖s_j‖²; u_norm_sq: ‖u_j‖²; sin2_phi: sin²φ_j (0 where s_j = 0
    or u_j = 0); delta: δ_j; term: ‖s_j‖² (‖u_j‖² sin²φ_j − δ_j); toward_balance: True where
    the drift shrinks |δ_j| (term and δ_j of opposite signs).
    """

    s: torch.Tensor
    s_norm_sq: torch.Tensor
    u_norm_sq: torch.Tensor
    sin2_phi: torch.Tensor
    delta: torch.Tensor
    term: torch.Tensor

    @property
    def toward_balance(self) -> torch.Tensor:
        return self.term * self.delta < 0


def residual_directions(model: nn.Module, x, y) -> torch.Tensor:
    """s_j = (1/N) Σ_n r_n σ'(u_j·x̃_n) x̃_n for a two-layer net with one output, as an (m, p) matrix.

    r_n = f(x_n) − y_n; x̃_n = (x_n, 1) with a hidden bias, x_n without (p = d + 1 or d); σ' is
    the activation's derivative (autograd: 0 at the kink of ReLU).
    """
    layer, act = _two_layer_one_output(model)
    x = as_input(model, x)
    y = as_target(model, y, x.shape[0])
    with torch.no_grad():
        r = (model(x) - y)[:, 0]  # (N,)
        z = layer.incoming(x)  # (N, m) pre-activations u_j·x̃_n
    z = z.clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(act(z).sum(), z)  # σ'(z), elementwise
    x_tilde = x if layer.incoming.bias is None else torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
    return torch.einsum("n,nm,np->mp", r, slope, x_tilde) / x.shape[0]


def drift_decomposition(model: nn.Module, x, y) -> DriftDecomposition:
    """‖s_j‖², ‖u_j‖², sin²φ_j, δ_j and the drift term ‖s_j‖² (‖u_j‖² sin²φ_j − δ_j) (module docstring).

    Two-layer nets with one output only; for those ``term`` equals :func:`drift_term` exactly.
    """
    layer, _ = _two_layer_one_output(model)
    s = residual_directions(model, x, y)
    with torch.no_grad():
        u = layer.incoming.weight
        if layer.incoming.bias is not None:
            u = torch.cat([u, layer.incoming.bias[:, None]], dim=1)
        a = layer.outgoing.weight[0]
        s2, u2 = (s * s).sum(1), (u * u).sum(1)
        denom = s2 * u2
        cos2 = torch.where(denom > 0, (u * s).sum(1) ** 2 / torch.where(denom > 0, denom, 1), 1.0)
        sin2 = 1 - cos2
        delta = u2 - a * a
        term = s2 * (u2 * sin2 - delta)
    return DriftDecomposition(s=s, s_norm_sq=s2, u_norm_sq=u2, sin2_phi=sin2, delta=delta, term=term)


def _two_layer_one_output(model: nn.Module):
    layers = hidden_layers(model)
    if len(layers) != 1 or len(model) != 3 or not isinstance(model[1], HOMOGENEOUS_ACTIVATIONS):
        raise ValueError(
            "model: the drift decomposition is for two-layer nets Sequential(Linear, activation, Linear); "
            f"this one has {len(layers)} hidden layers and {len(model)} modules"
        )
    if layers[0].outgoing.out_features != 1:
        raise ValueError(
            "model: the drift decomposition is for one output, this net has "
            f"{layers[0].outgoing.out_features}"
        )
    return layers[0], model[1]
