"""Many training runs at once: a fused two-layer trainer, or one batched tensor program (``vmap``).

:func:`ensemble_train` trains B models of one architecture with full-batch gradient descent, member b
with its own step η_b, penalty strength λ_b and weight decay μ_b, on the same data. Member b follows
exactly the update of :func:`gaugelab.train` with ``optimizer="gd"``:

    θ_b ← θ_b − η_b (∇(L + R_{λ_b})(θ_b) + μ_b θ_b),   L = half MSE (:func:`gaugelab.losses.half_mse`),
    R_λ = (λ/4) Σ_j δ_j² (:func:`gaugelab.penalty.gauge_penalty`, evaluated as λ_b · R_1),

with μ_b as torch.optim.SGD's ``weight_decay`` (on every parameter), and the same divergence rule:
at step t the full-batch training loss L(θ_t) (no penalty) is checked before the update; a member
whose parameters or loss are not finite, or whose loss exceeds ``divergence_factor`` ×
max(L(θ_0), L_0, 1e-12) with L_0 = (1/2N) Σ‖y_n‖², is marked diverged at step t, keeps its last
finite parameters θ_{t−1} and is dropped from the batch while the others carry on.

Two backends compute this. ``"fused"`` (:mod:`gaugelab.fused`, numba): hand-derived gradients with
configurations as SIMD lanes, for ``Sequential(Linear, σ, Linear)`` with σ ∈ {ReLU, LeakyReLU,
Identity} in float64 on the CPU; more than ten times faster (``benchmarks/ensemble.py``).
``"vmap"``: any architecture the package accepts, any dtype and ``device``; the loss, the penalty,
the imbalance and the validation error are the package's own functions, called on each member
through ``torch.func.functional_call``. ``backend="auto"`` (default) takes the fused trainer
wherever it applies; ``result.config["backend"]`` says which one ran.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from gaugelab import fused
from gaugelab._check import positive_int, positive_number, validation_pair
from gaugelab.coords import flat, imbalance
from gaugelab.losses import half_mse, mse
from gaugelab.nets import HOMOGENEOUS_ACTIVATIONS, as_input, as_target, hidden_layers
from gaugelab.penalty import gauge_penalty


class _Objective(nn.Module):
    """(x, y) ↦ (L(θ), R_1(θ)) for one member: the half MSE and the penalty at λ = 1."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        return half_mse(self.model(x), y), gauge_penalty(self.model, 1.0)


class _Probe(nn.Module):
    """(x_val, y_val) ↦ (δ over all hidden neurons, validation MSE) for one member."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x_val, y_val):
        delta = flat(imbalance(self.model))
        if x_val is None:
            return delta, torch.zeros((), dtype=delta.dtype, device=delta.device)
        return delta, mse(self.model(x_val), y_val)


@dataclass
class EnsembleResult:
    """What :func:`ensemble_train` recorded, member by member (tensors on the CPU).

    lr, lam, weight_decay: (B,) the member's η_b, λ_b, μ_b. steps: (R,) record steps (0, every
    ``record_every``, the last). recorded: (B, R) bool, False after a member diverged (its entries
    there are NaN and must be masked, never plotted). loss: (B, R) training loss L (no penalty).
    val_mse: (B, R) validation MSE (None without validation data). delta: (B, R, H) imbalances δ_j.
    diverged: (B,) bool; diverged_step: (B,) int, −1 for members that did not diverge. final_params:
    the last finite parameters of every member, stacked (names as in the model); final_loss,
    final_val_mse, final_delta: the same quantities at those parameters. config: the settings, with
    ``backend`` ("fused" or "vmap"), why (``backend_reason``) and the number of ``threads``.
    """

    lr: torch.Tensor
    lam: torch.Tensor
    steps: torch.Tensor
    recorded: torch.Tensor
    loss: torch.Tensor
    val_mse: torch.Tensor | None
    delta: torch.Tensor
    diverged: torch.Tensor
    diverged_step: torch.Tensor
    final_params: dict[str, torch.Tensor]
    final_loss: torch.Tensor
    final_val_mse: torch.Tensor | None
    final_delta: torch.Tensor
    template: nn.Module = field(repr=False)
    config: dict = field(default_factory=dict)
    weight_decay: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return int(self.lr.numel())

    def mean_abs_delta(self) -> torch.Tensor:
        """(B, R) mean_j |δ_j(t)|: the size of the imbalance (NaN where not recorded)."""
        return self.delta.abs().mean(dim=-1)

    def drift_from_start(self) -> torch.Tensor:
        """(B, R) mean_j |δ_j(t) − δ_j(0)|: how far the imbalance moved (NaN where not recorded)."""
        return (self.delta - self.delta[:, :1]).abs().mean(dim=-1)

    def model(self, i: int) -> nn.Module:
        """Member ``i``'s final (last finite) parameters as an ordinary model."""
        if not 0 <= i < self.size:
            raise ValueError(f"i: expected a member index in [0, {self.size}), got {i}")
        model = copy.deepcopy(self.template)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(self.final_params[name][i])
        return model


def _per_member(value, b: int, name: str, allow_zero: bool) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float64).reshape(-1)
    if t.numel() == 1:
        t = t.expand(b).clone()
    if t.numel() != b:
        raise ValueError(f"{name}: expected one number or one per member ({b}), got {t.numel()}")
    ok = torch.isfinite(t) & ((t >= 0) if allow_zero else (t > 0))
    if not ok.all():
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name}: expected {kind} finite numbers, got {t[~ok][:3].tolist()}")
    return t


BACKENDS = ("auto", "fused", "vmap")


def fused_unsupported(template: nn.Module, dtype: torch.dtype, device: torch.device) -> str | None:
    """Why the fused trainer cannot train members shaped like ``template`` here (None: it can)."""
    if not fused.available():
        return "numba is not installed"
    if device.type != "cpu":
        return f"device {device} is not the CPU"
    if dtype != torch.float64:
        return f"dtype {dtype} is not float64"
    layers = list(template) if isinstance(template, nn.Sequential) else []
    if not (
        len(layers) == 3
        and isinstance(layers[0], nn.Linear)
        and isinstance(layers[1], HOMOGENEOUS_ACTIVATIONS)
        and isinstance(layers[2], nn.Linear)
    ):
        return "the model is not Sequential(Linear, activation, Linear)"
    return None


def _activation_key(m: nn.Module) -> list:
    return [(type(a).__name__, getattr(a, "negative_slope", None)) for a in m if not isinstance(a, nn.Linear)]


def ensemble_train(
    models: Sequence[nn.Module],
    x,
    y,
    *,
    lr,
    lam=0.0,
    steps: int = 1000,
    record_every: int = 1,
    x_val=None,
    y_val=None,
    divergence_factor: float = 1e4,
    device: str | torch.device | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    desc: str = "ensemble",
    weight_decay=0.0,
    backend: str = "auto",
) -> EnsembleResult:
    """Train every model in ``models`` by full-batch GD on (x, y), all at once.

    ``lr``, ``lam`` and ``weight_decay``: one number for all, or one per member. Member b gives the
    same result as ``gl.train(models[b], x, y, steps=steps, lr=lr[b], lam=lam[b],
    weight_decay=weight_decay[b], optimizer="gd", record_every=record_every, x_val=x_val,
    y_val=y_val, divergence_factor=divergence_factor)`` up to floating-point rounding (the tests check
    1e-10 in float64 away from the edge of stability). ``backend``: "auto" (the fused trainer where
    :func:`fused_unsupported` finds nothing against it, else vmap), "fused" (an error where it does
    not apply) or "vmap". ``device``: where the vmap program runs (e.g. "cuda"; the fused trainer is
    CPU only); results come back on the CPU. ``chunk_size``: members per vmap batch (default: all at
    once; the fused trainer holds only blocks of a few dozen members at a time and ignores it).
    Threads: torch's (``torch.set_num_threads``), for both backends. Models are not modified.
    """
    models = list(models)
    if not models:
        raise ValueError("models: expected at least one model")
    template = models[0]
    hidden_layers(template)
    names = [n for n, _ in template.named_parameters()]
    shapes = [p.shape for p in template.parameters()]
    dtype = next(template.parameters()).dtype
    acts = _activation_key(template)
    for i, m in enumerate(models):
        hidden_layers(m)
        if [n for n, _ in m.named_parameters()] != names or [p.shape for p in m.parameters()] != shapes:
            raise ValueError(f"models: member {i} does not have the architecture of member 0")
        if next(m.parameters()).dtype != dtype:
            raise ValueError(f"models: member {i} has dtype {next(m.parameters()).dtype}, member 0 {dtype}")
        if _activation_key(m) != acts:
            raise ValueError(f"models: member {i} has activations {_activation_key(m)}, member 0 {acts}")
    b = len(models)
    lr = _per_member(lr, b, "lr", allow_zero=False)
    lam = _per_member(lam, b, "lam", allow_zero=True)
    weight_decay = _per_member(weight_decay, b, "weight_decay", allow_zero=True)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    record_every = positive_int(record_every, "record_every")
    divergence_factor = positive_number(divergence_factor, "divergence_factor")
    chunk_size = b if chunk_size is None else positive_int(chunk_size, "chunk_size")
    device = torch.device("cpu") if device is None else torch.device(device)
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    reason = fused_unsupported(template, dtype, device)
    if backend == "fused" and reason is not None:
        raise ValueError(f"backend: the fused trainer does not apply here: {reason}")
    use_fused = backend == "fused" or (backend == "auto" and reason is None)

    x = as_input(template, x)
    y = as_target(template, y, x.shape[0])
    has_val = validation_pair(x_val, y_val)
    if has_val:
        x_val = as_input(template, x_val, "x_val")
        y_val = as_target(template, y_val, x_val.shape[0], "y_val")
    else:
        x_val = y_val = None

    record_steps = sorted(set(range(0, steps + 1, record_every)) | {steps})
    bar = tqdm(total=b * steps, disable=not progress, desc=desc, leave=False, unit="member-step")
    args = (models, names, shapes, dtype, x, y, x_val, y_val, lr, lam, weight_decay, steps, record_steps)
    threads = torch.get_num_threads()
    try:
        if use_fused:
            out, final = _train_fused(*args, divergence_factor, bar, threads)
        else:
            out, final = _train_vmap(*args, divergence_factor, bar, device, chunk_size, record_every)
    finally:
        bar.close()

    final_loss, final_val, final_delta = _evaluate(template, final, x, y, x_val, y_val)
    diverged = out["diverged_step"] >= 0
    rec_t = torch.tensor(record_steps)
    recorded = ~diverged[:, None] | (rec_t[None, :] < out["diverged_step"][:, None])
    return EnsembleResult(
        lr=lr,
        lam=lam,
        steps=rec_t,
        recorded=recorded,
        loss=out["loss"],
        val_mse=out["val"] if has_val else None,
        delta=out["delta"],
        diverged=diverged,
        diverged_step=out["diverged_step"],
        final_params=final,
        final_loss=final_loss,
        final_val_mse=final_val,
        final_delta=final_delta,
        template=copy.deepcopy(template),
        config=dict(
            optimizer="gd",
            steps=steps,
            record_every=record_every,
            divergence_factor=divergence_factor,
            device=str(device),
            backend="fused" if use_fused else "vmap",
            backend_reason=f"requested {backend!r}" if backend != "auto" else (reason or "it applies"),
            threads=threads,
        ),
        weight_decay=weight_decay,
    )


def _initial_check(gone: list[int]) -> None:
    raise ValueError(
        f"models: members {gone[:5]} fail the divergence rule at step 0 (the initial training loss or "
        f"parameters are not finite, or divergence_factor < 1)"
    )


def _train_fused(
    models, names, shapes, dtype, x, y, x_val, y_val, lr, lam, mu, steps, record_steps, factor, bar, threads
):
    """The fused trainer (:mod:`gaugelab.fused`) on flat parameters; outputs as torch tensors."""
    first, act, second = list(models[0])
    with torch.no_grad():
        theta = torch.stack([torch.cat([p.reshape(-1) for p in m.parameters()]) for m in models])

    def on_chunk(before, after, t0, t1):
        done = min(t1, steps) - t0
        bar.update(before * done + (before - after) * (steps - min(t1, steps)))

    theta, loss, val, delta, div, _ = fused.run(
        theta.numpy(),
        x.numpy(),
        y.numpy(),
        None if x_val is None else x_val.numpy(),
        None if y_val is None else y_val.numpy(),
        width=first.out_features,
        has_b1=first.bias is not None,
        has_b2=second.bias is not None,
        is_relu=isinstance(act, nn.ReLU),
        slope=float(getattr(act, "negative_slope", 1.0)),
        lr=lr.numpy(),
        lam=lam.numpy(),
        mu=mu.numpy(),
        steps=steps,
        record_steps=record_steps,
        divergence_factor=factor,
        threads=threads,
        on_chunk=on_chunk,
    )
    div = torch.from_numpy(div)
    if (div == 0).any():
        _initial_check(div.eq(0).nonzero().flatten().tolist())
    theta = torch.from_numpy(theta)
    final, start = {}, 0
    for n, s in zip(names, shapes):
        size = math.prod(s)
        final[n] = theta[:, start : start + size].reshape(len(models), *s).clone()
        start += size
    out = dict(
        loss=torch.from_numpy(loss),
        val=None if val is None else torch.from_numpy(val),
        delta=torch.from_numpy(delta),
        diverged_step=div,
    )
    return out, final


def _train_vmap(
    models, names, shapes, dtype, x, y, x_val, y_val, lr, lam, mu, steps, record_steps, factor, bar, device,
    chunk_size, record_every,
):  # fmt: skip
    """The general path: one vmapped program over stacked parameters (``torch.func``)."""
    b = len(models)
    has_val = x_val is not None
    n_rec, n_hidden = len(record_steps), sum(h.width for h in hidden_layers(models[0]))
    nan = float("nan")
    out = dict(
        loss=torch.full((b, n_rec), nan, dtype=dtype),
        val=torch.full((b, n_rec), nan, dtype=dtype),
        delta=torch.full((b, n_rec, n_hidden), nan, dtype=dtype),
        diverged_step=torch.full((b,), -1, dtype=torch.long),
    )
    final = {n: torch.empty((b, *s), dtype=dtype) for n, s in zip(names, shapes)}

    base = copy.deepcopy(models[0]).to(device)
    objective, probe = _Objective(base), _Probe(base)
    pnames = [f"model.{n}" for n in names]

    def member_objective(params, lam_b, xb, yb):
        loss, r1 = functional_call(objective, params, (xb, yb))
        total = loss + torch.where(lam_b > 0, lam_b * r1, torch.zeros_like(r1))
        return total, loss

    objective_fn = vmap(member_objective, in_dims=(0, 0, None, None))

    def step_fn(params, lam_d, xb, yb):
        # Members are independent, so ∇_{θ_b} Σ_c total_c = ∇_{θ_b} total_b: one vmapped forward
        # and one ordinary backward give every member's gradient (cheaper than vmap over grad).
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        total, loss = objective_fn(leaves, lam_d, xb, yb)
        grads = torch.autograd.grad(total.sum(), list(leaves.values()))
        return dict(zip(leaves, grads)), loss.detach()

    loss_fn = vmap(lambda p, xb, yb: functional_call(objective, p, (xb, yb))[0], in_dims=(0, None, None))
    probe_fn = vmap(lambda p, xv, yv: functional_call(probe, p, (xv, yv)), in_dims=(0, None, None))

    xd, yd = x.to(device), y.to(device)
    xv, yv = (x_val.to(device), y_val.to(device)) if has_val else (None, None)
    zero_scale = float(half_mse(torch.zeros_like(y), y))
    decay = bool((mu > 0).any())

    for start in range(0, b, chunk_size):
        idx = torch.arange(start, min(start + chunk_size, b))
        stacked, _ = stack_module_state([models[i] for i in idx.tolist()])
        params = {f"model.{n}": stacked[n].detach().to(device).clone() for n in names}
        lr_d, lam_d, mu_d = (v[idx].to(device, dtype) for v in (lr, lam, mu))  # float32 stays float32
        threshold = None
        prev = None
        for t in range(steps + 1):
            if t < steps:
                grads, loss = step_fn(params, lam_d, xd, yd)
            else:
                grads, loss = None, loss_fn(params, xd, yd)
            finite = torch.ones(idx.numel(), dtype=torch.bool, device=device)
            for p in params.values():
                finite &= torch.isfinite(p.flatten(1)).all(dim=1)
            if threshold is None:
                if not (torch.isfinite(loss).all() and finite.all()):
                    _initial_check(idx[~(torch.isfinite(loss) & finite).cpu()].tolist())
                threshold = factor * torch.clamp(loss, min=max(zero_scale, 1e-12))
            bad = ~finite | ~torch.isfinite(loss) | (loss > threshold)
            if bad.any():
                if prev is None:
                    _initial_check(idx[bad.cpu()].tolist())
                bad_c = bad.cpu()
                gone = idx[bad_c]
                out["diverged_step"][gone] = t
                for n, pn in zip(names, pnames):
                    final[n][gone] = prev[pn][bad].cpu()
                keep = ~bad
                params = {k: v[keep] for k, v in params.items()}
                if grads is not None:
                    grads = {k: v[keep] for k, v in grads.items()}
                lr_d, lam_d, mu_d = lr_d[keep], lam_d[keep], mu_d[keep]
                threshold, loss = threshold[keep], loss[keep]
                bar.update(int(bad_c.sum()) * (steps - t))
                idx = idx[~bad_c]
                if idx.numel() == 0:
                    break
            if t % record_every == 0 or t == steps:
                r = record_steps.index(t)
                with torch.no_grad():
                    delta, val = probe_fn(params, xv, yv)
                out["loss"][idx, r] = loss.detach().cpu()
                out["delta"][idx, r] = delta.cpu()
                if has_val:
                    out["val"][idx, r] = val.cpu()
            if t == steps:
                break
            prev = params
            if decay:  # torch.optim.SGD: d_p = g + μ θ, θ ← θ − η d_p
                grads = {k: grads[k] + _bcast(mu_d, params[k]) * params[k] for k in params}
            params = {k: params[k] - _bcast(lr_d, params[k]) * grads[k] for k in params}
            bar.update(idx.numel())
        for n, pn in zip(names, pnames):
            if idx.numel():
                final[n][idx] = params[pn].cpu()
    if not has_val:
        out["val"] = None
    return out, final


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (like.ndim - 1)))


@torch.no_grad()
def _evaluate(template, params, x, y, x_val, y_val):
    objective, probe = _Objective(template), _Probe(template)
    p = {f"model.{n}": v for n, v in params.items()}
    loss = vmap(lambda q: functional_call(objective, q, (x, y))[0])(p)
    delta, val = vmap(lambda q: functional_call(probe, q, (x_val, y_val)))(p)
    return loss, (val if x_val is not None else None), delta


def stable_fraction(diverged: torch.Tensor) -> float:
    """Fraction of members that did not diverge."""
    return float((~diverged).double().mean()) if diverged.numel() else math.nan
