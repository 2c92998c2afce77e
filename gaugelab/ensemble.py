"""Many training runs as one batched tensor program (``torch.func.stack_module_state`` + ``vmap``).

:func:`ensemble_train` trains B models of one architecture with full-batch gradient descent, member b
with its own step η_b and penalty strength λ_b, on the same data. Member b follows exactly the
update of :func:`gaugelab.train` with ``optimizer="gd"``:

    θ_b ← θ_b − η_b ∇(L(θ_b) + R_{λ_b}(θ_b)),   L = half MSE (:func:`gaugelab.losses.half_mse`),
    R_λ = (λ/4) Σ_j δ_j² (:func:`gaugelab.penalty.gauge_penalty`, evaluated as λ_b · R_1),

and the same divergence rule: at step t the full-batch training loss L(θ_t) (no penalty) is checked
before the update; a member whose parameters or loss are not finite, or whose loss exceeds
``divergence_factor`` × max(L(θ_0), L_0, 1e-12) with L_0 = (1/2N) Σ‖y_n‖², is marked diverged at
step t, keeps its last finite parameters θ_{t−1} and is dropped from the batch while the others
carry on. Nothing here writes a second copy of a formula: the loss, the penalty, the imbalance and
the validation error are the package's own functions, called on each member through
``torch.func.functional_call``.
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

from gaugelab._check import positive_int, positive_number
from gaugelab.coords import flat, imbalance
from gaugelab.losses import half_mse, mse
from gaugelab.nets import as_input, as_target, hidden_layers
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

    lr, lam: (B,) the member's η_b, λ_b. steps: (R,) record steps (0, every ``record_every``, the last).
    recorded: (B, R) bool, False after a member diverged (its entries there are NaN and must be
    masked, never plotted). loss: (B, R) training loss L (no penalty). val_mse: (B, R) validation MSE
    (None without validation data). delta: (B, R, H) imbalances δ_j. diverged: (B,) bool;
    diverged_step: (B,) int, −1 for members that did not diverge. final_params: the last finite
    parameters of every member, stacked (names as in the model); final_loss, final_val_mse,
    final_delta: the same quantities at those parameters.
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


def ensemble_train(
    models: Sequence[nn.Module],
    x,
    y,
    *,
    lr,
    lam=0.0,
    weight_decay=0.0,
    steps: int = 1000,
    record_every: int = 1,
    x_val=None,
    y_val=None,
    divergence_factor: float = 1e4,
    device: str | torch.device | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    desc: str = "ensemble",
) -> EnsembleResult:
    """Train every model in ``models`` by full-batch GD on (x, y), as one vmapped program.

    ``lr``, ``lam`` and ``weight_decay`` (μ): one number for all, or one per member; with μ_b > 0 the
    update is θ_b ← θ_b − η_b(∇(L + R_{λ_b})(θ_b) + μ_b θ_b) on every parameter (torch.optim.SGD's
    weight decay). Member b gives the same result as ``gl.train(models[b], x, y, steps=steps,
    lr=lr[b], lam=lam[b], weight_decay=weight_decay[b], optimizer="gd", record_every=record_every,
    x_val=x_val, y_val=y_val, divergence_factor=divergence_factor)``
    up to floating-point rounding (the tests check 1e-10 in float64). ``device``: where the batched
    program runs (e.g. "cuda"); results come back on the CPU. ``chunk_size``: members per batch
    (default: all at once). Models are not modified.
    """
    models = list(models)
    if not models:
        raise ValueError("models: expected at least one model")
    template = models[0]
    hidden_layers(template)
    names = [n for n, _ in template.named_parameters()]
    shapes = [p.shape for p in template.parameters()]
    dtype = next(template.parameters()).dtype
    for i, m in enumerate(models):
        hidden_layers(m)
        if [n for n, _ in m.named_parameters()] != names or [p.shape for p in m.parameters()] != shapes:
            raise ValueError(f"models: member {i} does not have the architecture of member 0")
        if next(m.parameters()).dtype != dtype:
            raise ValueError(f"models: member {i} has dtype {next(m.parameters()).dtype}, member 0 {dtype}")
    b = len(models)
    lr = _per_member(lr, b, "lr", allow_zero=False)
    lam = _per_member(lam, b, "lam", allow_zero=True)
    wd = _per_member(weight_decay, b, "weight_decay", allow_zero=True)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    record_every = positive_int(record_every, "record_every")
    divergence_factor = positive_number(divergence_factor, "divergence_factor")
    chunk_size = b if chunk_size is None else positive_int(chunk_size, "chunk_size")
    device = torch.device("cpu") if device is None else torch.device(device)

    x = as_input(template, x)
    y = as_target(template, y, x.shape[0])
    has_val = x_val is not None and y_val is not None
    if has_val:
        x_val = as_input(template, x_val, "x_val")
        y_val = as_target(template, y_val, x_val.shape[0], "y_val")

    record_steps = sorted(set(range(0, steps + 1, record_every)) | {steps})
    n_rec, n_hidden = len(record_steps), sum(h.width for h in hidden_layers(template))
    nan = float("nan")
    out = dict(
        recorded=torch.zeros(b, n_rec, dtype=torch.bool),
        loss=torch.full((b, n_rec), nan, dtype=dtype),
        val=torch.full((b, n_rec), nan, dtype=dtype),
        delta=torch.full((b, n_rec, n_hidden), nan, dtype=dtype),
        diverged_step=torch.full((b,), -1, dtype=torch.long),
    )
    final = {n: torch.empty((b, *s), dtype=dtype) for n, s in zip(names, shapes)}

    base = copy.deepcopy(template).to(device)
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
    bar = tqdm(total=b * steps, disable=not progress, desc=desc, leave=False, unit="member-step")

    for start in range(0, b, chunk_size):
        idx = torch.arange(start, min(start + chunk_size, b))
        stacked, _ = stack_module_state([models[i] for i in idx.tolist()])
        params = {f"model.{n}": stacked[n].detach().to(device).clone() for n in names}
        lr_d, lam_d, wd_d = lr[idx].to(device), lam[idx].to(device), wd[idx].to(device)
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
                if not torch.isfinite(loss).all():
                    bad0 = idx[~torch.isfinite(loss).cpu()].tolist()
                    raise ValueError(f"models: the initial training loss of members {bad0[:5]} is not finite")
                threshold = divergence_factor * torch.clamp(loss, min=max(zero_scale, 1e-12))
            bad = ~finite | ~torch.isfinite(loss) | (loss > threshold)
            if bad.any():
                bad_c = bad.cpu()
                gone = idx[bad_c]
                out["diverged_step"][gone] = t
                for n, pn in zip(names, pnames):
                    final[n][gone] = prev[pn][bad].cpu()
                keep = ~bad
                params = {k: v[keep] for k, v in params.items()}
                if grads is not None:
                    grads = {k: v[keep] for k, v in grads.items()}
                lr_d, lam_d, threshold, loss = lr_d[keep], lam_d[keep], threshold[keep], loss[keep]
                wd_d = wd_d[keep]
                bar.update(int(bad_c.sum()) * (steps - t))
                idx = idx[~bad_c]
                if idx.numel() == 0:
                    break
            if t % record_every == 0 or t == steps:
                r = record_steps.index(t)
                with torch.no_grad():
                    delta, val = probe_fn(params, xv, yv)
                out["recorded"][idx, r] = True
                out["loss"][idx, r] = loss.detach().cpu()
                out["delta"][idx, r] = delta.cpu()
                if has_val:
                    out["val"][idx, r] = val.cpu()
            if t == steps:
                break
            prev = params
            if bool((wd_d > 0).any()):
                grads = {k: g + _bcast(wd_d, g) * params[k] for k, g in grads.items()}
            params = {k: params[k] - _bcast(lr_d, params[k]) * grads[k] for k in params}
            bar.update(idx.numel())
        for n, pn in zip(names, pnames):
            if idx.numel():
                final[n][idx] = params[pn].cpu()
    bar.close()

    final_loss, final_val, final_delta = _evaluate(template, final, x, y, x_val, y_val)
    diverged = out["diverged_step"] >= 0
    return EnsembleResult(
        lr=lr,
        lam=lam,
        steps=torch.tensor(record_steps),
        recorded=out["recorded"],
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
        ),
    )


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
