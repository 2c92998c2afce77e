"""gaugelab/train.py as it was at commit 21a06eb, before its per-step bookkeeping was cut: the oracle
of tests/test_train_reference.py (today's gl.train must give its outputs bit for bit, on this machine).

Kept verbatim below this docstring (``git show 21a06eb:gaugelab/train.py``); not used by the package.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from gaugelab._check import nonnegative_number, positive_int, positive_number
from gaugelab.coords import flat, imbalance, log_scale
from gaugelab.losses import half_mse, mse
from gaugelab.nets import as_input, as_target
from gaugelab.penalty import gauge_penalty

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")


@dataclass
class TrainResult:
    """What :func:`train` recorded at steps ``steps`` (always including step 0 and the last).

    loss: training loss L(θ_t) (no penalty); val_mse: validation MSE (if x_val, y_val given);
    delta, rho: (R, H) imbalances δ_j and log-scales ρ_j over all hidden neurons (ρ is NaN at a
    degenerate neuron); function_change: mean_n ‖f_{θ_t}(x_n) − f_{θ_0}(x_n)‖ on the probe inputs
    (x_val if given, else x); diverged / diverged_step / reason: the divergence report;
    outputs: (R, N, k) f_{θ_t} on the probe inputs (with ``record_outputs=True``); optimizer: the
    torch optimizer at the end (its state included).
    """

    model: nn.Module
    steps: torch.Tensor
    loss: torch.Tensor
    delta: torch.Tensor
    rho: torch.Tensor
    function_change: torch.Tensor
    val_mse: torch.Tensor | None = None
    diverged: bool = False
    diverged_step: int | None = None
    reason: str | None = None
    config: dict = field(default_factory=dict)
    outputs: torch.Tensor | None = None
    optimizer: torch.optim.Optimizer | None = None

    @property
    def final_loss(self) -> float:
        return float(self.loss[-1])

    def summary(self) -> str:
        head = f"{self.config.get('optimizer', '?')} lr={self.config.get('lr')} lam={self.config.get('lam')}"
        if self.diverged:
            return f"{head}: DIVERGED at step {self.diverged_step} ({self.reason})"
        return (
            f"{head}: loss {float(self.loss[0]):.4g} -> {self.final_loss:.4g}, "
            f"mean|δ| {float(self.delta[0].abs().mean()):.3g} -> {float(self.delta[-1].abs().mean()):.3g}"
        )


def make_optimizer(params, optimizer: str, lr: float, weight_decay: float, momentum: float, betas):
    """The torch optimizer behind each name: gd/sgd → SGD, momentum → SGD(momentum), adam → Adam."""
    if optimizer in ("gd", "sgd"):
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)


def train(
    model: nn.Module,
    x,
    y,
    *,
    steps: int = 1000,
    lr: float = 0.01,
    optimizer: str = "gd",
    lam: float = 0.0,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    batch_size: int | None = None,
    seed: int = 0,
    record_every: int = 1,
    x_val=None,
    y_val=None,
    divergence_factor: float = 1e4,
    probe=None,
    record_outputs: bool = False,
    before_step=None,
    progress: bool = False,
    inplace: bool = False,
) -> TrainResult:
    """Train ``model`` on (x, y) minimising L + R_λ; see the module docstring for the rules.

    optimizer: "gd" (full batch), "sgd" (minibatches of ``batch_size``, default min(32, N)),
    "momentum" (heavy ball, ``momentum``), "adam" (``betas``), or any callable
    ``make_optimizer(model) -> torch.optim.Optimizer`` (e.g. :class:`gaugelab.optim.PathSGD`; then
    ``lr`` is only recorded and ``weight_decay``, ``momentum``, ``betas`` are the factory's business).
    ``batch_size`` turns any of them stochastic. ``probe``: the inputs on which the function change
    (and, with ``record_outputs``, f itself) is recorded; default x_val, else x.
    ``before_step(t, model, optimizer)`` is called at every step t before the loss is evaluated
    (e.g. to apply a gauge transformation mid-run). ``model`` is copied unless ``inplace``.
    """
    if not (callable(optimizer) or optimizer in OPTIMIZERS):
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS} or a callable, got {optimizer!r}")
    lr = positive_number(lr, "lr")
    lam = nonnegative_number(lam, "lam")
    weight_decay = nonnegative_number(weight_decay, "weight_decay")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    record_every = positive_int(record_every, "record_every")
    divergence_factor = positive_number(divergence_factor, "divergence_factor")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum: expected a number in [0, 1), got {momentum}")
    model = model if inplace else copy.deepcopy(model)
    x = as_input(model, x)
    y = as_target(model, y, x.shape[0])
    n = x.shape[0]
    if optimizer == "sgd" and batch_size is None:
        batch_size = min(32, n)
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size")
    has_val = x_val is not None and y_val is not None
    if has_val:
        x_val = as_input(model, x_val, "x_val")
        y_val = as_target(model, y_val, x_val.shape[0], "y_val")
    if probe is not None:
        probe = as_input(model, probe, "probe")
    else:
        probe = x_val if has_val else x
    with torch.no_grad():
        f0 = model(probe)
    gen = torch.Generator().manual_seed(seed)
    params = list(model.parameters())
    if callable(optimizer):
        opt = optimizer(model)
    else:
        opt = make_optimizer(params, optimizer, lr, weight_decay, momentum, betas)

    rec: dict[str, list] = {k: [] for k in ("steps", "loss", "delta", "rho", "fchange", "val", "out")}
    diverged_step, reason, threshold, prev = None, None, None, None
    for t in tqdm(range(steps + 1), disable=not progress, desc="train", leave=False):
        if before_step is not None:
            before_step(t, model, opt)
        loss = half_mse(model(x), y)
        value = float(loss.detach())
        if threshold is None:
            scale = float(half_mse(torch.zeros_like(y), y))  # the loss of predicting 0
            threshold = divergence_factor * max(value, scale, 1e-12)
        bad_params = not all(torch.isfinite(p).all() for p in params)
        if bad_params or not value == value or abs(value) == float("inf") or value > threshold:
            if prev is None:
                raise ValueError(f"model: the initial training loss is {value}, not finite")
            diverged_step = t
            reason = (
                "non-finite parameters or loss"
                if bad_params or not value < float("inf")
                else f"loss {value:.3g} > {divergence_factor:g} x initial loss"
            )
            with torch.no_grad():
                for p, q in zip(params, prev):
                    p.copy_(q)
            break
        if t % record_every == 0 or t == steps:
            with torch.no_grad():
                rec["steps"].append(t)
                rec["loss"].append(value)
                rec["delta"].append(flat(imbalance(model)).detach().clone())
                rec["rho"].append(flat(log_scale(model, on_degenerate="nan")).detach().clone())
                f_t = model(probe)
                rec["fchange"].append(float((f_t - f0).norm(dim=1).mean()))
                if record_outputs:
                    rec["out"].append(f_t.clone())
                if has_val:
                    rec["val"].append(float(mse(model(x_val), y_val)))
        if t == steps:
            break
        prev = [p.detach().clone() for p in params]
        if batch_size is not None and batch_size < n:
            idx = torch.randperm(n, generator=gen)[:batch_size]
            loss = half_mse(model(x[idx]), y[idx])
        if lam > 0:
            loss = loss + gauge_penalty(model, lam)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    dtype = x.dtype
    return TrainResult(
        model=model,
        steps=torch.tensor(rec["steps"]),
        loss=torch.tensor(rec["loss"], dtype=dtype),
        delta=torch.stack(rec["delta"]),
        rho=torch.stack(rec["rho"]),
        function_change=torch.tensor(rec["fchange"], dtype=dtype),
        val_mse=torch.tensor(rec["val"], dtype=dtype) if has_val else None,
        diverged=diverged_step is not None,
        diverged_step=diverged_step,
        reason=reason,
        outputs=torch.stack(rec["out"]) if record_outputs else None,
        optimizer=opt,
        config=dict(
            optimizer=optimizer if isinstance(optimizer, str) else getattr(optimizer, "__name__", "custom"),
            lr=lr,
            lam=lam,
            weight_decay=weight_decay,
            steps=steps,
            batch_size=batch_size,
            seed=seed,
        ),
    )
