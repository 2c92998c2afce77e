"""Many momentum or minibatch-SGD runs as one batched program (the regime map's optimizer cells).

:func:`gaugelab.ensemble.ensemble_train` covers full-batch GD. This module covers the two other
optimizers of the regime map, member by member the same run as :func:`gaugelab.train`:

- ``optimizer="momentum"``: heavy ball as ``torch.optim.SGD(momentum=β)``:
  d = ∇(L + R_λ)(θ) + μθ,  b ← d (first step), b ← βb + d (later),  θ ← θ − η b;
- ``optimizer="sgd"``: the same with β = 0 and the loss of a minibatch of ``batch_size`` rows,
  drawn as ``gl.train`` draws them (``torch.randperm(N, generator)[:batch_size]`` per step, the
  generator seeded with the member's ``seed``), so that member b equals
  ``gl.train(models[b], x, y, optimizer=..., seed=seed[b], batch_size=batch_size, ...)``.

The divergence rule and the recorded quantities are those of :func:`gaugelab.train` and
:class:`gaugelab.ensemble.EnsembleResult` (full-batch training loss checked before every update;
a diverged member keeps θ_{t−1}). The loss, penalty, imbalance and validation error are the
package's own functions, called through ``torch.func.functional_call``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from gaugelab._check import positive_int, positive_number
from gaugelab.coords import flat, imbalance
from gaugelab.ensemble import EnsembleResult
from gaugelab.losses import half_mse, mse
from gaugelab.nets import as_input, as_target, hidden_layers
from gaugelab.penalty import gauge_penalty

OPTIMIZERS = ("gd", "momentum", "sgd")


class _Objective(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        return half_mse(self.model(x), y), gauge_penalty(self.model, 1.0)


class _Probe(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x_val, y_val):
        delta = flat(imbalance(self.model))
        if x_val is None:
            return delta, torch.zeros((), dtype=delta.dtype)
        return delta, mse(self.model(x_val), y_val)


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


def ensemble_train_optim(
    models: Sequence[nn.Module],
    x,
    y,
    *,
    optimizer: str,
    lr,
    lam=0.0,
    weight_decay=0.0,
    momentum: float = 0.9,
    batch_size: int | None = None,
    seed=0,
    steps: int = 1000,
    record_every: int = 1,
    x_val=None,
    y_val=None,
    divergence_factor: float = 1e4,
    trajectory: int = 0,
) -> EnsembleResult:
    """Train every model by ``optimizer`` ("gd", "momentum" or "sgd") on (x, y), as one vmapped program.

    ``lr``, ``lam``, ``weight_decay``, ``seed``: one value for all or one per member. ``batch_size``:
    as in :func:`gaugelab.train` (default for "sgd": min(32, N); for "momentum": full batch).
    Member b equals ``gl.train(models[b], x, y, optimizer=optimizer, lr=lr[b], lam=lam[b],
    weight_decay=weight_decay[b], momentum=momentum, batch_size=batch_size, seed=seed[b], ...)``
    up to floating-point rounding. Models are not modified; results are on the CPU.
    ``trajectory`` = K > 0 also keeps the flat parameters θ_t of every member for t = 0..K in
    ``result.config["trajectory"]``, (B, K + 1, D), NaN from a member's divergence step on.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {optimizer!r}")
    models = list(models)
    if not models:
        raise ValueError("models: expected at least one model")
    template = models[0]
    hidden_layers(template)
    names = [n for n, _ in template.named_parameters()]
    shapes = [p.shape for p in template.parameters()]
    for i, m in enumerate(models):
        if [n for n, _ in m.named_parameters()] != names or [p.shape for p in m.parameters()] != shapes:
            raise ValueError(f"models: member {i} does not have the architecture of member 0")
    b = len(models)
    lr = _per_member(lr, b, "lr", allow_zero=False)
    lam = _per_member(lam, b, "lam", allow_zero=True)
    wd = _per_member(weight_decay, b, "weight_decay", allow_zero=True)
    seeds = torch.as_tensor(seed).reshape(-1)
    seeds = seeds.expand(b).clone() if seeds.numel() == 1 else seeds
    if seeds.numel() != b or seeds.is_floating_point():
        raise ValueError(f"seed: expected one integer or one per member ({b})")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum: expected a number in [0, 1), got {momentum}")
    beta = momentum if optimizer == "momentum" else 0.0
    if isinstance(trajectory, bool) or not isinstance(trajectory, int) or trajectory < 0:
        raise ValueError(f"trajectory: expected an integer >= 0, got {trajectory!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps: expected an integer >= 0, got {steps!r}")
    record_every = positive_int(record_every, "record_every")
    divergence_factor = positive_number(divergence_factor, "divergence_factor")
    x = as_input(template, x)
    y = as_target(template, y, x.shape[0])
    n = x.shape[0]
    if optimizer == "sgd" and batch_size is None:
        batch_size = min(32, n)
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size")
    minibatch = batch_size is not None and batch_size < n
    has_val = x_val is not None and y_val is not None
    if has_val:
        x_val = as_input(template, x_val, "x_val")
        y_val = as_target(template, y_val, x_val.shape[0], "y_val")

    # the minibatch rows of every step, per distinct seed, drawn exactly as gl.train draws them
    if minibatch:
        rows = {}
        for s in sorted(set(seeds.tolist())):
            gen = torch.Generator().manual_seed(int(s))
            rows[s] = torch.stack(
                [torch.randperm(n, generator=gen)[:batch_size] for _ in range(max(steps, 1))]
            )
        member_rows = torch.stack([rows[s] for s in seeds.tolist()])  # (B, steps, batch)

    objective, probe = _Objective(copy.deepcopy(template)), _Probe(copy.deepcopy(template))

    def member_objective(params, lam_b, xb, yb):
        loss, r1 = functional_call(objective, params, (xb, yb))
        return loss + torch.where(lam_b > 0, lam_b * r1, torch.zeros_like(r1))

    batched_objective = vmap(
        member_objective, in_dims=(0, 0, 0 if minibatch else None, 0 if minibatch else None)
    )
    full_loss = vmap(lambda p, xb, yb: functional_call(objective, p, (xb, yb))[0], in_dims=(0, None, None))
    probe_fn = vmap(lambda p, xv, yv: functional_call(probe, p, (xv, yv)), in_dims=(0, None, None))

    record_steps = sorted(set(range(0, steps + 1, record_every)) | {steps})
    n_rec, n_hidden = len(record_steps), sum(h.width for h in hidden_layers(template))
    dtype = next(template.parameters()).dtype
    nan = float("nan")
    recorded = torch.zeros(b, n_rec, dtype=torch.bool)
    loss_rec = torch.full((b, n_rec), nan, dtype=dtype)
    val_rec = torch.full((b, n_rec), nan, dtype=dtype)
    delta_rec = torch.full((b, n_rec, n_hidden), nan, dtype=dtype)
    diverged_step = torch.full((b,), -1, dtype=torch.long)
    final = {nm: torch.empty((b, *s), dtype=dtype) for nm, s in zip(names, shapes)}

    n_params = sum(s.numel() for s in shapes)
    traj = torch.full((b, trajectory + 1, n_params), nan, dtype=dtype) if trajectory else None
    stacked, _ = stack_module_state(models)
    params = {f"model.{nm}": stacked[nm].detach().clone() for nm in names}
    buf = None
    idx = torch.arange(b)
    lr_d, lam_d, wd_d = lr.clone(), lam.clone(), wd.clone()
    zero_scale = float(half_mse(torch.zeros_like(y), y))
    threshold, prev = None, None
    for t in range(steps + 1):
        with torch.no_grad():
            loss = full_loss(params, x, y)
        finite = torch.ones(idx.numel(), dtype=torch.bool)
        for p in params.values():
            finite &= torch.isfinite(p.flatten(1)).all(dim=1)
        if threshold is None:
            if not torch.isfinite(loss).all():
                raise ValueError("models: the initial training loss of some members is not finite")
            threshold = divergence_factor * torch.clamp(loss, min=max(zero_scale, 1e-12))
        bad = ~finite | ~torch.isfinite(loss) | (loss > threshold)
        if bad.any():
            gone = idx[bad]
            diverged_step[gone] = t
            for nm in names:
                final[nm][gone] = prev[f"model.{nm}"][bad]
            keep = ~bad
            params = {k: v[keep] for k, v in params.items()}
            if buf is not None:
                buf = {k: v[keep] for k, v in buf.items()}
            lr_d, lam_d, wd_d, threshold, loss = (
                lr_d[keep],
                lam_d[keep],
                wd_d[keep],
                threshold[keep],
                loss[keep],
            )
            idx = idx[keep]
            if idx.numel() == 0:
                break
        if traj is not None and t <= trajectory:
            traj[idx, t] = torch.cat(
                [params[f"model.{nm}"].reshape(idx.numel(), -1) for nm in names], 1
            ).detach()
        if t % record_every == 0 or t == steps:
            r = record_steps.index(t)
            with torch.no_grad():
                delta, val = probe_fn(params, x_val, y_val)
            recorded[idx, r] = True
            loss_rec[idx, r] = loss
            delta_rec[idx, r] = delta
            if has_val:
                val_rec[idx, r] = val
        if t == steps:
            break
        prev = params
        if minibatch:
            rb = member_rows[idx, t]  # (B', batch)
            xb, yb = x[rb], y[rb]
        else:
            xb, yb = x, y
        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        total = batched_objective(leaves, lam_d, xb, yb)
        grads = dict(zip(leaves, torch.autograd.grad(total.sum(), list(leaves.values()))))
        with torch.no_grad():
            d = {k: g + _bcast(wd_d, g) * params[k] for k, g in grads.items()}
            if beta > 0:
                buf = d if buf is None else {k: beta * buf[k] + d[k] for k in d}
                d = buf
            params = {k: params[k] - _bcast(lr_d, params[k]) * d[k] for k in params}
    for nm in names:
        if idx.numel():
            final[nm][idx] = params[f"model.{nm}"].detach()

    fp = {f"model.{nm}": v for nm, v in final.items()}
    with torch.no_grad():
        final_loss = full_loss(fp, x, y)
        final_delta, final_val = probe_fn(fp, x_val, y_val)
    return EnsembleResult(
        lr=lr,
        lam=lam,
        steps=torch.tensor(record_steps),
        recorded=recorded,
        loss=loss_rec,
        val_mse=val_rec if has_val else None,
        delta=delta_rec,
        diverged=diverged_step >= 0,
        diverged_step=diverged_step,
        final_params=final,
        final_loss=final_loss,
        final_val_mse=final_val if has_val else None,
        final_delta=final_delta,
        template=copy.deepcopy(template),
        config=dict(
            optimizer=optimizer,
            momentum=beta,
            batch_size=batch_size,
            steps=steps,
            record_every=record_every,
            divergence_factor=divergence_factor,
            device="cpu",
            trajectory=traj,
        ),
    )


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (like.ndim - 1)))
