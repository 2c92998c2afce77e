"""Models: ``nn.Sequential`` stacks of ``nn.Linear`` and positively homogeneous activations.

THEORY §1. A two-layer net is f_θ(x) = Σ_j a_j σ(w_j·x + b_j) + c with σ(αz) = α σ(z) for α > 0.
Every other module finds its hidden neurons through :func:`hidden_layers`: hidden neuron j of
hidden layer l has the incoming vector u_j = (W_l[j, :], b_l[j]) and the outgoing vector
a_j = W_{l+1}[:, j]. The output bias is gauge-invariant and never touched.

Models are float64 by default. float32 models are accepted everywhere (inputs are cast to the
model's dtype), but the machine-precision statements of the course hold in float64 only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gaugelab._check import (
    META_DEVICE,
    finite_number,
    finite_tensor,
    integer,
    log_scale_limit,
    positive_number,
)
from gaugelab._check import seed as check_seed

#: Activation modules with σ(αz) = α σ(z) for every α > 0 (degree-1 positive homogeneity).
HOMOGENEOUS_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU, nn.Identity)

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "identity": nn.Identity}


@dataclass(frozen=True)
class HiddenLayer:
    """Hidden layer ``index``: its neurons' incoming ``Linear`` and outgoing ``Linear``."""

    index: int
    incoming: nn.Linear
    outgoing: nn.Linear

    @property
    def width(self) -> int:
        return self.incoming.out_features


def hidden_layers(model: nn.Module) -> list[HiddenLayer]:
    """The hidden layers of ``model``, checking that it carries the rescaling symmetry.

    ``model`` must be an ``nn.Sequential`` of ``nn.Linear`` layers and activations from
    :data:`HOMOGENEOUS_ACTIVATIONS`, with at least two ``Linear`` layers. Every ``Linear`` but the
    last feeds a hidden layer. Raises ``TypeError`` naming the first layer that breaks this.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"model: expected a torch.nn.Sequential of nn.Linear layers and ReLU/LeakyReLU/Identity "
            f"activations, got {type(model).__name__}"
        )
    linears: list[nn.Linear] = []
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            if linears and linears[-1].out_features != layer.in_features:
                raise ValueError(
                    f"model: layer {i} (Linear) expects {layer.in_features} inputs but the previous "
                    f"Linear gives {linears[-1].out_features}"
                )
            linears.append(layer)
        elif any(True for _ in layer.parameters()):
            raise TypeError(
                f"model: layer {i} ({type(layer).__name__}) has weights but is not an nn.Linear; gaugelab "
                f"handles stacks of nn.Linear layers and ReLU/LeakyReLU/Identity activations only"
            )
        elif not isinstance(layer, HOMOGENEOUS_ACTIVATIONS):
            raise TypeError(
                f"model: layer {i} ({type(layer).__name__}) is not positively homogeneous, so the "
                f"network has no rescaling symmetry there; use nn.ReLU, nn.LeakyReLU or nn.Identity"
            )
    if len(linears) < 2:
        raise ValueError(
            f"model: expected at least two nn.Linear layers (one hidden layer), found {len(linears)}"
        )
    for layer in linears:
        for p in layer.parameters():
            if p.is_meta:
                raise ValueError(META_DEVICE)
    return [HiddenLayer(i, linears[i], linears[i + 1]) for i in range(len(linears) - 1)]


def hidden_widths(model: nn.Module) -> list[int]:
    """Number of hidden neurons in each hidden layer."""
    return [h.width for h in hidden_layers(model)]


def input_width(model: nn.Module) -> int:
    return hidden_layers(model)[0].incoming.in_features


def output_width(model: nn.Module) -> int:
    return hidden_layers(model)[-1].outgoing.out_features


def model_dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def _as_tensor(model: nn.Module, value, name: str) -> torch.Tensor:
    try:
        return torch.as_tensor(value, dtype=model_dtype(model))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name}: expected a tensor or array of numbers, got {type(value).__name__}") from exc


def as_input(model: nn.Module, x, name: str = "x") -> torch.Tensor:
    """``x`` as a (N, d_in) tensor of the model's dtype with N >= 1 finite rows; else a ValueError."""
    d_in = input_width(model)
    x = _as_tensor(model, x, name)
    if x.ndim == 1 and d_in == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d_in:
        raise ValueError(f"{name}: expected shape (N, {d_in}) for this model, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one input row, got shape {tuple(x.shape)}")
    return finite_tensor(x, name)


def as_target(model: nn.Module, y, n: int, name: str = "y") -> torch.Tensor:
    """``y`` as a (N, d_out) tensor of the model's dtype with finite entries; else a ValueError."""
    k = output_width(model)
    y = _as_tensor(model, y, name)
    if y.ndim == 1 and k == 1:
        y = y[:, None]
    if y.shape != (n, k):
        raise ValueError(f"{name}: expected shape ({n}, {k}) for this model, got {tuple(y.shape)}")
    return finite_tensor(y, name)


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]()


def mlp(
    widths,
    *,
    activation: str = "relu",
    seed: int = 0,
    rho0=None,
    init_scale: float = 1.0,
    bias: bool = True,
    dtype: torch.dtype = torch.float64,
) -> nn.Sequential:
    """A deep MLP ``widths = [d_in, h_1, ..., h_{L-1}, d_out]`` with a controllable imbalance.

    Weights start from PyTorch's default initialisation (seeded) times ``init_scale``.
    ``rho0=None`` keeps that start as it is (its imbalance is whatever the init gives);
    a number ``rho0`` first balances the net (:func:`gaugelab.gauge.balance`) and then rescales
    every hidden neuron by α = e^{rho0/2}, which for a two-layer net sets every log-scale
    ρ_j = log(‖u_j‖/‖a_j‖) to exactly ``rho0`` without changing the function. |rho0| is limited to
    ln(max float)/4 (177 in float64, 22 in float32: :func:`gaugelab._check.log_scale_limit`), beyond
    which ‖u_j‖⁴ overflows. Widths and ``seed`` must be integers (a float is refused, not truncated).
    """
    try:
        widths = [integer(w, "widths") for w in widths]
    except (TypeError, ValueError):
        raise ValueError(
            f"widths: expected a list of integers [d_in, hidden..., d_out] (no fractions), got {widths!r}"
        ) from None
    if len(widths) < 3 or min(widths) < 1:
        raise ValueError(
            f"widths: expected [d_in, hidden..., d_out] with at least one hidden layer and all "
            f"widths >= 1, got {widths}"
        )
    init_scale = positive_number(init_scale, "init_scale")
    seed = check_seed(seed)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype: expected a floating-point torch dtype such as torch.float64, got {dtype!r}")
    if rho0 is not None:
        rho0 = finite_number(rho0, "rho0", "or None")
        limit = log_scale_limit(dtype)
        if abs(rho0) > limit:
            raise ValueError(
                f"rho0: expected |rho0| <= {limit:.0f} for {dtype} (beyond it ‖u_j‖⁴ = e^(2 rho0)‖v_j‖² "
                f"overflows), got {rho0}"
            )
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1], bias=bias, dtype=dtype))
            if i < len(widths) - 2:
                layers.append(_activation(activation))
    finally:
        torch.random.set_rng_state(gen_state)
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(init_scale)
    if rho0 is not None:
        from gaugelab.gauge import balance, rescale_

        model = balance(model)
        alpha = math.exp(rho0 / 2)
        rescale_(model, [torch.full((w,), alpha, dtype=dtype) for w in widths[1:-1]])
    return model


def two_layer(
    d_in: int = 1,
    width: int = 16,
    d_out: int = 1,
    **kwargs,
) -> nn.Sequential:
    """The two-layer net f(x) = Σ_j a_j σ(w_j·x + b_j) + c; keywords as in :func:`mlp`."""
    return mlp([d_in, width, d_out], **kwargs)
