# ruff: noqa: E501  (the catalogue and the hints are tables, one entry a line)
"""Mutation testing of gaugelab's core: plant one realistic bug at a time, run the fast tests.

Each mutant is a small text substitution in one module (a sign flip, a dropped term, an off-by-one,
a changed threshold, a wrong axis, a removed check...). The script copies ``gaugelab/`` into a
temporary directory, applies one mutant there (never in the work tree), and runs the tests listed
for that module in ``TESTS`` with ``pytest -x`` against the copy (each run is a fork of this process,
which has imported torch once; the child puts the copy first on sys.path, before the editable
install, and checks that the copy is what it imported).
For speed the test expected to kill the mutant (``HINTS``) runs first; only if it passes does the
module's whole list run. A mutant is *killed* when a test
fails (or the run times out or crashes), *survives* when every test passes; a pytest exit that is
neither (usage error, nothing collected) stops the run with an error, never counts as a kill.

A mutant whose target text is not found in its module is an error (the module changed: update the
catalogue), reported loudly, never silently skipped.

    .venv/bin/python scripts/mutation.py                 # every mutant; prints the score and survivors
    .venv/bin/python scripts/mutation.py --module train  # one module's mutants
    .venv/bin/python scripts/mutation.py --only penalty-3 --show   # one mutant, with its diff
    .venv/bin/python scripts/mutation.py --list          # the catalogue and the tests per module
    .venv/bin/python scripts/mutation.py --check         # only check that every target text exists

Last full run (2026-12-02, 2 jobs, load average 2-3 on 2 shared cores: 1299 s): 112 of 116 killed
(96.6 %). The 4 survivors were real gaps, each now with a test and re-run, all killed (128 s): the
vmap ensemble's divergence base and threshold (ensemble-1, -2: the rule's test ran only the fused
backend; now both), the collapse verdict at exactly half (experiments-9: "below half" now tested at
the boundary), the fused trainer's gradient for an odd sample of a 1-D net (fused-6: every test had
an even n; now n = 1, 7, 12). That run also counted experiments-4 as killed by a pytest usage
error (its hint named a renamed test): the hint is fixed, such exits now stop the run, and the
re-run killed it with a real test failure. Score after the fixes: 116 / 116.

Pinned tools: the repository's requirements.txt (pytest, hypothesis); hypothesis runs with a fixed
seed (--hypothesis-seed=0) and its example database in the temporary directory.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The fast tests run against the mutants of each module (the ones that exercise it), fastest and
#: most targeted first (pytest -x stops at the first failure).
TESTS = {
    "_check": ["test_bad_input.py"],
    "nets": ["test_bad_input.py", "test_seeds.py", "test_coords.py", "test_balance.py", "test_invariance.py"],
    "gauge": [
        "test_invariance.py",
        "test_balance.py",
        "test_bad_input.py",
        "test_coords.py",
        "test_seeds.py",
    ],
    "coords": ["test_coords.py", "test_balance.py", "test_penalty.py", "test_bad_input.py"],
    "data": ["test_data.py", "test_seeds.py", "test_bad_input.py"],
    "losses": ["test_losses.py", "test_train_rules.py", "test_sharpness.py", "test_penalty.py"],
    "penalty": ["test_penalty.py", "test_bad_input.py", "test_train_rules.py"],
    "sharpness": ["test_sharpness.py", "test_bad_input.py"],
    "teleport": ["test_teleport.py", "test_bad_input.py"],
    "optim": ["test_optim.py", "test_bad_input.py"],
    "train": ["test_train_rules.py", "test_train.py", "test_bad_input.py", "test_seeds.py"],
    "ensemble": ["test_ensemble_rules.py", "test_ensemble.py", "test_bad_input.py"],
    "experiments": ["test_experiments.py"],
    "fused": ["test_fused.py", "test_ensemble_rules.py", "test_ensemble.py"],
}


@dataclass(frozen=True)
class Mutant:
    module: str
    old: str
    new: str
    what: str
    occurrence: int = 1  # which occurrence of ``old`` to replace (1 = first)

    def apply(self, text: str) -> str:
        start = -1
        for _ in range(self.occurrence):
            start = text.find(self.old, start + 1)
            if start < 0:
                raise LookupError(f"{self.module}.py: target text not found: {self.old!r}")
        return text[:start] + self.new + text[start + len(self.old) :]


def M(module, old, new, what, occurrence=1):
    return Mutant(module, old, new, what, occurrence)


CATALOGUE: list[Mutant] = [
    # ---- coords: v, δ, ρ ---------------------------------------------------------------------------
    M(
        "coords",
        "(u * u).sum(1) - (a * a).sum(1)",
        "(u * u).sum(1) + (a * a).sum(1)",
        "δ with + instead of −",
    ),
    M("coords", "(u * u).sum(1) - (a * a).sum(1)", "(a * a).sum(1) - (u * u).sum(1)", "δ sign flipped"),
    M("coords", "(u * u).sum(1) - (a * a).sum(1)", "(u * u).sum(0).sum() - (a * a).sum(1)", "δ wrong axis"),
    M("coords", "u = torch.cat([u, layer.incoming.bias[:, None]], dim=1)", "pass", "bias left out of u_j"),
    M(
        "coords",
        "out.append((u, layer.outgoing.weight.T))",
        "out.append((u, layer.outgoing.weight))",
        "a_j as a row of W_out instead of a column",
    ),
    M(
        "coords",
        "rho = torch.log(nu) - torch.log(na)",
        "rho = torch.log(na) - torch.log(nu)",
        "ρ sign flipped",
    ),
    M(
        "coords",
        "rho = torch.log(nu) - torch.log(na)",
        "rho = 0.5 * (torch.log(nu) - torch.log(na))",
        "ρ halved (log of squared norms confused)",
    ),
    M(
        "coords",
        "return 2 * v_norm * torch.sinh(rho)",
        "return v_norm * torch.sinh(rho)",
        "δ = ‖v‖ sinh ρ (factor 2)",
    ),
    M(
        "coords",
        "return [nu * na for nu, na in _norms(model)]",
        "return [nu * nu for nu, na in _norms(model)]",
        "‖v‖ = ‖u‖²",
    ),
    M(
        "coords",
        "return [(u.detach(), a.detach()) for u, a in _vectors(model)]",
        "return _vectors(model)",
        "neuron_vectors not detached",
    ),
    M("coords", "bad = (nu == 0) | (na == 0)", "bad = (nu == 0) & (na == 0)", "degenerate needs both zero"),
    M(
        "coords",
        "u = u_dir * (v_norm.sqrt() * torch.exp(rho / 2))[:, None]",
        "u = u_dir * (v_norm.sqrt() * torch.exp(rho))[:, None]",
        "inverse chart e^ρ instead of e^{ρ/2}",
    ),
    # ---- nets ----------------------------------------------------------------------------------------
    M("nets", "alpha = math.exp(rho0 / 2)", "alpha = math.exp(rho0)", "rho0 builder α = e^ρ0 (ρ = 2 ρ0)"),
    M("nets", "model = balance(model)\n", "model = model\n", "rho0 builder skips balancing"),
    M("nets", "torch.manual_seed(seed)", "torch.manual_seed(seed + 1)", "seed off by one"),
    M("nets", "torch.random.set_rng_state(gen_state)", "pass", "global RNG not restored"),
    M("nets", "p.mul_(init_scale)", "p.mul_(1.0)", "init_scale ignored"),
    M("nets", "if i < len(widths) - 2:", "if i < len(widths) - 1:", "activation after the output layer"),
    M("nets", "if abs(rho0) > limit:", "if abs(rho0) > 10 * limit:", "rho0 limit loosened"),
    M("nets", "    if x.shape[0] == 0:\n", "    if x.shape[0] < 0:\n", "empty inputs accepted"),
    M("nets", "    return finite_tensor(x, name)", "    return x", "non-finite inputs accepted"),
    M("nets", "    return finite_tensor(y, name)", "    return y", "non-finite targets accepted"),
    M("nets", "            if p.is_meta:", "            if False:", "meta device not checked"),
    M(
        "nets",
        "if linears and linears[-1].out_features != layer.in_features:",
        "if False:",
        "width chain not checked",
    ),
    # ---- gauge ---------------------------------------------------------------------------------------
    M(
        "gauge",
        "new[layer.outgoing.weight] = layer.outgoing.weight / alpha[None, :]",
        "new[layer.outgoing.weight] = layer.outgoing.weight * alpha[None, :]",
        "outgoing × α instead of ÷ α",
    ),
    M("gauge", "new[layer.incoming.bias] = layer.incoming.bias * alpha", "pass", "bias not rescaled"),
    M(
        "gauge",
        "w_in = new.get(layer.incoming.weight, layer.incoming.weight)",
        "w_in = layer.incoming.weight",
        "deep nets: earlier layer's ÷α lost",
    ),
    M(
        "gauge",
        "torch.exp(low + (high - low) * torch.rand(",
        "torch.exp(low + high * torch.rand(",
        "random_scales range wrong",
    ),
    M(
        "gauge",
        "scales.append(torch.where(ok, torch.sqrt(na / torch.where(ok, nu, 1)), torch.ones_like(nu)))",
        "scales.append(torch.where(ok, na / torch.where(ok, nu, 1), torch.ones_like(nu)))",
        "balancing α = ‖a‖/‖u‖ (no square root)",
    ),
    M("gauge", "if worst <= tol * size:", "if worst <= tol:", "stopping rule not relative"),
    M(
        "gauge",
        "worst, size = _imbalance_size(model, live)",
        "worst, size = _imbalance_size(model, [torch.ones_like(m) for m in live])",
        "stopping rule includes degenerate neurons (issue 10)",
    ),
    M(
        "gauge",
        "diff = float((rescale(model, scales)(x) - f0).norm(dim=1).mean())",
        "diff = float((rescale(model, scales)(x) - f0).norm(dim=1).max())",
        "invariance error max, not mean",
    ),
    M(
        "gauge",
        "diff = diff / size if size > 0",
        "diff = diff * size if size > 0",
        "relative error multiplies",
    ),
    M(
        "gauge",
        "xi[cols] = -w_out[:, j].detach()",
        "xi[cols] = w_out[:, j].detach()",
        "generator ξ sign on a_j",
    ),
    M(
        "gauge",
        "if not torch.isfinite(s).all() or (s <= 0).any():",
        "if not torch.isfinite(s).all():",
        "negative scales accepted",
    ),
    # ---- data ----------------------------------------------------------------------------------------
    M("data", '"sin": lambda x: torch.sin(2 * x)', '"sin": lambda x: torch.sin(x)', "sin target frequency"),
    M("data", "y = f(x) + noise * torch.randn(", "y = f(x) + noise**2 * torch.randn(", "noise std squared"),
    M("data", "return Dataset(x, y, xv, f(xv)", "return Dataset(x, y, xv, f(xv) + noise", "noisy validation"),
    M("data", "seed=seed + 1000", "seed=seed", "teacher seed = student seed"),
    M(
        "data",
        "xv = torch.randn(n_val, d_in, generator=gen, dtype=dtype)",
        "xv = torch.randn(n_val, d_in, generator=torch.Generator().manual_seed(seed), dtype=dtype)",
        "validation inputs = training inputs",
    ),
    M(
        "data",
        '    n_train = positive_int(n_train, "n_train")\n    n_val = positive_int(n_val, "n_val")\n'
        '    noise = nonnegative_number(noise, "noise")\n    seed',
        '    noise = nonnegative_number(noise, "noise")\n    seed',
        "teacher_student sizes unchecked",
    ),
    # ---- losses --------------------------------------------------------------------------------------
    M(
        "losses",
        "return 0.5 * ((pred - y) ** 2).sum(dim=-1).mean(dim=-1)",
        "return ((pred - y) ** 2).sum(dim=-1).mean(dim=-1)",
        "loss without the ½",
    ),
    M(
        "losses",
        "return 0.5 * ((pred - y) ** 2).sum(dim=-1).mean(dim=-1)",
        "return 0.5 * ((pred - y) ** 2).mean(dim=-1).mean(dim=-1)",
        "mean over outputs instead of sum",
    ),
    M("losses", "if self.lam > 0:", "if self.lam > 1:", "Hessian objective drops small λ"),
    # ---- penalty -------------------------------------------------------------------------------------
    M(
        "penalty",
        "return lam / 4 * (flat(imbalance(model)) ** 2).sum()",
        "return lam / 2 * (flat(imbalance(model)) ** 2).sum()",
        "penalty λ/2 instead of λ/4",
    ),
    M(
        "penalty",
        "return lam / 4 * (flat(imbalance(model)) ** 2).sum()",
        "return lam / 4 * (flat(imbalance(model)) ** 2).mean()",
        "penalty mean instead of sum",
    ),
    M(
        "penalty",
        "return lam / 4 * (flat(imbalance(model)) ** 2).sum()",
        "return lam / 4 * (imbalance(model)[0] ** 2).sum()",
        "penalty on the first layer only",
    ),
    M("penalty", "k = 4 * lam * v_norm * t", "k = 2 * lam * v_norm * t", "relaxation rate 2λ‖v‖"),
    M(
        "penalty",
        "torch.where(z < 0.5, 2 * torch.atanh(",
        "torch.where(z < 0.5, torch.atanh(",
        "relaxation missing factor 2",
    ),
    M(
        "penalty",
        "return 4 * lam * torch.as_tensor(v_norm",
        "return 2 * lam * torch.as_tensor(v_norm",
        "relaxation_rate 2λ‖v‖",
    ),
    M(
        "penalty",
        "return torch.stack([(nu**2 + na**2).max() for nu, na in neuron_norms(model)]).max().detach()",
        "return torch.stack([(nu**2 + na**2).mean() for nu, na in neuron_norms(model)]).max().detach()",
        "stiffness mean instead of max",
    ),
    M(
        "penalty",
        "return torch.stack([(nu**2 + na**2).max() for nu, na in neuron_norms(model)]).max().detach()",
        "return torch.stack([(nu**2 + na**2).max() for nu, na in neuron_norms(model)])[0].detach()",
        "stiffness of the first layer only",
    ),
    M(
        "penalty",
        "return float(1.0 / (lr * penalty_stiffness(model)))",
        "return float(0.5 / (lr * penalty_stiffness(model)))",
        "λ limit at the oscillation onset (½)",
    ),
    M("penalty", "    if (t < 0).any():", "    if (t < -1).any():", "negative times accepted"),
    # ---- sharpness -----------------------------------------------------------------------------------
    M(
        "sharpness",
        "return float(torch.linalg.eigvalsh(T)[-1])",
        "return float(torch.linalg.eigvalsh(T)[0])",
        "smallest instead of largest eigenvalue",
    ),
    M(
        "sharpness",
        "        w = w - Q.T @ (Q @ w)\n        w = w - Q.T @ (Q @ w)\n",
        "",
        "no reorthogonalisation",
    ),
    M("sharpness", "k = min(iters, d)", "k = min(iters, d) - 1", "one Lanczos step fewer"),
    M(
        "sharpness",
        "return torch.zeros_like(v) if hv is None else hv.detach()",
        "return torch.zeros_like(v) if hv is None else 0.5 * hv.detach()",
        "H v halved",
    ),
    M("sharpness", "        return 2.0 / lam_max", "        return 1.0 / lam_max", "η_max = 1/λ_max"),
    M(
        "sharpness",
        "T = T + torch.diag(off, 1) + torch.diag(off, -1)",
        "T = T + torch.diag(off, 1)",
        "tridiagonal missing its lower band",
    ),
    M(
        "losses",
        "value = value + self._penalty",
        "value = value - self._penalty",
        "Hessian of L − R",
    ),
    # ---- teleport ------------------------------------------------------------------------------------
    M("teleport", "sign = 1.0 if maximize else -1.0", "sign = -1.0 if maximize else 1.0", "ascent ↔ descent"),
    M("teleport", "step = torch.clamp(lr * g, -max_step, max_step)", "step = lr * g", "step clamp removed"),
    M("teleport", "step = lr * g / top if top > 0", "step = lr * g if top > 0", "normalisation dropped"),
    M("teleport", "return theta * torch.exp(P @ s)", "return theta * torch.exp(-P @ s)", "orbit point sign"),
    M("teleport", "q = evecs[:, -1]", "q = evecs[:, 0]", "Hellmann–Feynman with the bottom eigenvector"),
    M(
        "teleport",
        "change = float((new(x) - model(x)).norm(dim=1).max())",
        "change = float((new(x) - model(x)).norm(dim=1).mean() * 0)",
        "function change not measured",
    ),
    # ---- optim ---------------------------------------------------------------------------------------
    M(
        "optim",
        'state["momentum_buffer"].mul_(group["momentum"]).add_(d)',
        'state["momentum_buffer"].mul_(group["momentum"]).add_(d, alpha=1 - group["momentum"])',
        "Path-SGD momentum with dampening",
    ),
    M(
        "optim",
        'state["momentum_buffer"].mul_(group["momentum"]).add_(d)',
        'state["momentum_buffer"].add_(d)',
        "Path-SGD momentum μ ignored",
    ),
    M(
        "optim",
        'state["momentum_buffer"] = d.clone()',
        'state["momentum_buffer"] = 0 * d',
        "first buffer zero (first step lost)",
    ),
    M(
        "optim",
        'p.sub_(group["lr"] * torch.where(k > 0, d / torch.where(k > 0, k, 1), 0))',
        'p.sub_(group["lr"] * torch.where(k > 0, d / torch.where(k > 0, k.sqrt(), 1), 0))',
        "divide by √κ",
    ),
    M(
        "optim",
        'p.sub_(group["lr"] * torch.where(k > 0, d / torch.where(k > 0, k, 1), 0))',
        'p.sub_(group["lr"] * torch.where(k > 0, d * torch.where(k > 0, k, 1), 0))',
        "multiply by κ",
    ),
    M("optim", "gi = gi + lin.bias**2", "gi = gi + lin.bias", "bias enters γ_in unsquared"),
    M(
        "optim",
        "g_out.insert(0, (lin.weight**2).T @ g_out[0])",
        "g_out.insert(0, (lin.weight**2) @ g_out[0].sum().expand(lin.in_features))",
        "γ_out ignores which output",
    ),
    M(
        "optim",
        'if state.get("exp_avg_sq") is not None:\n            state["exp_avg_sq"].mul_(f**2)',
        'if state.get("exp_avg_sq") is not None:\n            state["exp_avg_sq"].mul_(f)',
        "Adam v rescaled by 1/p",
    ),
    M(
        "optim",
        'f = 1 / factors[p] if rule == "gradient" else factors[p]',
        'f = factors[p] if rule == "gradient" else factors[p]',
        "gradient rule uses p",
    ),
    M("optim", "rescale_(model, rescale_at[t])\n", "pass\n", "mid-run gauge not applied"),
    # ---- _check --------------------------------------------------------------------------------------
    M("_check", "if not (math.isfinite(v) and v > 0):", "if not (v > 0):", "positive_number accepts inf"),
    M(
        "_check",
        "if not (0 <= b1 < 1 and 0 <= b2 < 1):",
        "if not (0 <= b1 <= 1 and 0 <= b2 <= 1):",
        "betas accept 1",
    ),
    M(
        "_check",
        "    return math.log(torch.finfo(dtype).max) / 4",
        "    return math.log(torch.finfo(dtype).max)",
        "log-scale limit 4× looser",
    ),
    M(
        "_check",
        "    if (x_val is None) != (y_val is None):",
        "    if False:",
        "x_val without y_val accepted",
    ),
    # ---- train (behaviour documented in train.py's docstrings) ---------------------------------------
    M(
        "train",
        "return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)",
        "return torch.optim.SGD(params, lr=lr, momentum=momentum)",
        "weight decay dropped with momentum",
    ),
    M(
        "train",
        "return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)",
        "return torch.optim.SGD(params, lr=lr)",
        "weight decay dropped with gd/sgd",
    ),
    M(
        "train",
        "return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay)",
        "return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)",
        "Adam betas ignored",
    ),
    M(
        "train",
        "            loss = half_mse(model(x[idx]), y[idx])\n        if lam > 0:",
        "            loss = half_mse(model(x[idx]), y[idx])\n        elif lam > 0:",
        "penalty dropped under minibatch SGD",
    ),
    M(
        "train",
        "threshold = divergence_factor * max(value, scale, 1e-12)",
        "threshold = divergence_factor * max(value, 1e-12)",
        "divergence base without L_0",
    ),
    M(
        "train",
        "threshold = divergence_factor * max(value, scale, 1e-12)",
        "threshold = 2 * divergence_factor * max(value, scale, 1e-12)",
        "divergence threshold doubled",
    ),
    M(
        "train",
        "if batch_size is not None and batch_size < n:",
        "if batch_size is not None and batch_size < n - 1:",
        "minibatch off by one",
    ),
    M(
        "train",
        "idx = torch.randperm(n, generator=gen)[:batch_size]",
        "idx = torch.arange(batch_size)",
        "minibatches never shuffled",
    ),
    M(
        "train",
        "gen = torch.Generator().manual_seed(seed)",
        "gen = torch.Generator().manual_seed(0)",
        "seed ignored",
    ),
    M(
        "train",
        "if t % record_every == 0 or t == steps:",
        "if t % record_every == 0:",
        "last step not recorded",
    ),
    M("train", "    validation_pair(x_val, y_val)\n", "", "train: x_val without y_val accepted"),
    M(
        "train",
        "                    p.copy_(q.view_as(p))\n",
        "                    pass\n",
        "diverged run keeps the bad θ",
    ),
    # ---- ensemble ------------------------------------------------------------------------------------
    M(
        "ensemble",
        "threshold = factor * torch.clamp(loss, min=max(zero_scale, 1e-12))",
        "threshold = factor * torch.clamp(loss, min=1e-12)",
        "ensemble divergence base without L_0",
    ),
    M(
        "ensemble",
        "threshold = factor * torch.clamp(loss, min=max(zero_scale, 1e-12))",
        "threshold = factor * 2 * torch.clamp(loss, min=max(zero_scale, 1e-12))",
        "ensemble divergence threshold doubled",
    ),
    M(
        "ensemble",
        "bad = ~finite | ~torch.isfinite(loss) | (loss > threshold)",
        "bad = ~finite | ~torch.isfinite(loss)",
        "ensemble threshold ignored",
    ),
    M(
        "ensemble",
        "total = loss + torch.where(lam_b > 0, lam_b * r1, torch.zeros_like(r1))",
        "total = loss + torch.where(lam_b > 0, r1, torch.zeros_like(r1))",
        "ensemble penalty without λ_b",
    ),
    M(
        "ensemble",
        "final[n][gone] = prev[pn][bad].cpu()",
        "final[n][gone] = params[pn][bad].cpu()",
        "diverged member keeps its bad θ",
    ),
    M(
        "ensemble",
        "params = {k: params[k] - _bcast(lr_d, params[k]) * grads[k] for k in params}",
        "params = {k: params[k] - lr_d.mean() * grads[k] for k in params}",
        "one step size for all members",
    ),
    M(
        "ensemble",
        "    has_val = validation_pair(x_val, y_val)",
        "    has_val = x_val is not None and y_val is not None",
        "x_val without y_val silently ignored",
    ),
    # ---- experiments (the science helper's module: re-run after merging) -----------------------------
    M(
        "experiments",
        "std = torch.sqrt(var / (n - 1).clamp(min=1))",
        "std = torch.sqrt(var / n.clamp(min=1))",
        "seed std with n instead of n − 1",
    ),
    M("experiments", "ok = ok & torch.isfinite(values)", "ok = ok", "NaN values counted as seeds"),
    M(
        "experiments",
        "run = ok.to(torch.long).cumprod(dim=-2).sum(dim=-2)",
        "run = ok.to(torch.long).sum(dim=-2)",
        "edge counts later successes after a failure",
    ),
    M(
        "experiments",
        "lam_limit0=1.0 / (p.lr_ref * s0.median(dim=1).values)",
        "lam_limit0=1.0 / (p.lr_ref * s0.max(dim=1).values)",
        "λ limit from max instead of median stiffness",
    ),
    M(
        "experiments",
        "return l_best + tau * (l_const - l_best)",
        "return l_best + 2 * tau * (l_const - l_best)",
        "fit threshold τ doubled",
    ),
    M(
        "experiments",
        "return bool(changes) and all(abs(c) <= tol * spread for c in changes)",
        "return bool(changes) and all(abs(c) <= 2 * tol * spread for c in changes)",
        "fig. 3 verdict tolerance doubled",
    ),
    M(
        "experiments",
        'return pair.direction == "below"',
        'return pair.direction != "above"',
        "drift verdict: 'same' counted as suppressed",
    ),
    M(
        "experiments",
        "return bool(relative_max < tol)",
        "return bool(relative_max < 10 * tol)",
        "invariance verdict tolerance ×10",
    ),
    M(
        "experiments",
        "return bool(edge_strong < factor * edge_base)",
        "return bool(edge_strong <= factor * edge_base)",
        "collapse verdict at the boundary",
    ),
    M(
        "experiments",
        "if settings and len(held) == len(settings):",
        "if settings and len(held) >= 1:",
        "overall: one setting enough for 'holds'",
    ),
    # ---- fused (numba kernel; each mutant recompiles it, ~10 s) --------------------------------------
    M(
        "fused",
        "th[ln] = factor * max(loss, zero_scale, 1e-12)",
        "th[ln] = factor * max(loss, 1e-12)",
        "fused divergence base without L_0",
    ),
    M(
        "fused",
        "theta[b, p] = prv[p, ln]",
        "theta[b, p] = par[p, ln]",
        "fused diverged member keeps its bad θ",
    ),
    M(
        "fused",
        "gh[ln] = lm[ln] * delta[j, ln] if lm[ln] > 0.0 else 0.0",
        "gh[ln] = delta[j, ln] if lm[ln] > 0.0 else 0.0",
        "fused penalty gradient without λ",
    ),
    M(
        "fused",
        "gw2[o, j, ln] -= gh[ln] * w2[o, j, ln]",
        "gw2[o, j, ln] += gh[ln] * w2[o, j, ln]",
        "fused penalty gradient on a_j with the wrong sign",
    ),
    M(
        "fused",
        "q = q - eta[ln] * (grd[p, ln] + wd[ln] * q)",
        "q = q - eta[ln] * grd[p, ln]",
        "fused weight decay dropped",
    ),
    M(
        "fused",
        "gw1[j, 0, ln] += gg * x0",
        "gw1[j, 0, ln] += gg",
        "fused ∇w without the input",
    ),
]


_B = "test_bad_input.py::"

#: The test expected to kill each mutant, run first (a fast kill); if it passes, the module's
#: whole list in TESTS decides. A wrong hint costs time, never a verdict.
HINTS = {
    "δ with + instead of −": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "δ sign flipped": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "δ wrong axis": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "bias left out of u_j": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "a_j as a row of W_out instead of a column": "test_coords.py::test_neuron_vectors_and_norms_are_values_to_read_without_warnings",
    "ρ sign flipped": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "ρ halved (log of squared norms confused)": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "δ = ‖v‖ sinh ρ (factor 2)": "test_coords.py::test_identities_delta_sinh_and_pythagoras",
    "‖v‖ = ‖u‖²": "test_coords.py::test_imbalance_matches_its_definition_on_a_hand_built_net",
    "neuron_vectors not detached": "test_coords.py::test_neuron_vectors_and_norms_are_values_to_read_without_warnings",
    "degenerate needs both zero": "test_coords.py::test_log_scale_refuses_a_dead_neuron_and_masks_it_on_request",
    "inverse chart e^ρ instead of e^{ρ/2}": "test_coords.py::test_chart_round_trip",
    "rho0 builder α = e^ρ0 (ρ = 2 ρ0)": "test_balance.py::test_rho0_builder_sets_the_initial_log_scale",
    "rho0 builder skips balancing": "test_balance.py::test_rho0_builder_sets_the_initial_log_scale",
    "seed off by one": "test_seeds.py::test_mlp_starts_from_pytorchs_default_init_under_its_seed",
    "global RNG not restored": "test_seeds.py::test_seeded_functions_leave_the_global_random_state_alone",
    "init_scale ignored": "test_seeds.py::test_mlp_starts_from_pytorchs_default_init_under_its_seed",
    "activation after the output layer": "test_coords.py::test_chart_round_trip",
    "rho0 limit loosened": _B + "test_rho0_beyond_the_representable_range",
    "empty inputs accepted": _B + "test_non_finite_or_empty_training_data_names_the_data",
    "non-finite inputs accepted": _B + "test_non_finite_or_empty_training_data_names_the_data",
    "non-finite targets accepted": _B + "test_non_finite_or_empty_training_data_names_the_data",
    "meta device not checked": _B + "test_model_on_the_meta_device",
    "width chain not checked": _B + "test_linear_layers_whose_widths_do_not_chain",
    "outgoing × α instead of ÷ α": "test_invariance.py::test_invariance_over_random_architectures",
    "bias not rescaled": "test_invariance.py::test_invariance_over_random_architectures",
    "deep nets: earlier layer's ÷α lost": "test_invariance.py::test_invariance_over_random_architectures",
    "random_scales range wrong": "test_invariance.py::test_random_scales_draw_log_alpha_uniformly_on_low_high",
    "balancing α = ‖a‖/‖u‖ (no square root)": "test_balance.py::test_balance_is_the_closed_form_for_two_layers",
    "stopping rule not relative": "test_balance.py::test_balance_stopping_rule_is_relative_to_the_size_of_the_weights",
    "stopping rule includes degenerate neurons (issue 10)": "test_balance.py::test_balance_masks_and_reports_degenerate_neurons",
    "invariance error max, not mean": "test_invariance.py::test_invariance_error_detects_a_broken_rescaling",
    "relative error multiplies": "test_invariance.py::test_invariance_error_detects_a_broken_rescaling",
    "generator ξ sign on a_j": "test_coords.py::test_output_jacobian_has_one_zero_singular_value_per_hidden_neuron",
    "negative scales accepted": _B + "test_non_positive_or_non_finite_scales",
    "sin target frequency": "test_data.py::test_toy_regression_protocol",
    "noise std squared": "test_data.py::test_toy_regression_protocol",
    "noisy validation": "test_data.py::test_toy_regression_protocol",
    "teacher seed = student seed": "test_seeds.py::test_the_teacher_is_not_the_student_seed",
    "validation inputs = training inputs": "test_data.py::test_teacher_student_validation_inputs_are_fresh_draws",
    "teacher_student sizes unchecked": _B + "test_teacher_student_sizes",
    "loss without the ½": "test_train_rules.py::test_every_optimizer_minimises_loss_plus_penalty_plus_weight_decay",
    "mean over outputs instead of sum": "test_losses.py::test_half_mse_sums_over_outputs_and_averages_over_rows",
    "Hessian objective drops small λ": "test_sharpness.py::test_hvp_includes_the_penalty_when_asked",
    "Hessian of L − R": "test_sharpness.py::test_hvp_includes_the_penalty_when_asked",
    "penalty λ/2 instead of λ/4": "test_penalty.py::test_penalty_value_and_gradient_along_orbits",
    "penalty mean instead of sum": "test_penalty.py::test_penalty_value_and_gradient_along_orbits",
    "penalty on the first layer only": "test_penalty.py::test_dissipation_rate_deep",
    "relaxation rate 2λ‖v‖": "test_penalty.py::test_relaxation_formula_limits",
    "relaxation missing factor 2": "test_penalty.py::test_relaxation_formula_limits",
    "relaxation_rate 2λ‖v‖": "test_penalty.py::test_relaxation_formula_limits",
    "stiffness mean instead of max": "test_penalty.py::test_stiffness_is_set_by_the_stiffest_neuron_of_a_wide_deep_net",
    "stiffness of the first layer only": "test_penalty.py::test_stiffness_is_set_by_the_stiffest_neuron_of_a_wide_deep_net",
    "λ limit at the oscillation onset (½)": "test_penalty.py::test_upper_limit_on_lambda",
    "negative times accepted": _B + "test_builders_and_data",
    "smallest instead of largest eigenvalue": "test_sharpness.py::test_scalar_toy_top_eigenvalue_at_a_minimum",
    "no reorthogonalisation": "test_sharpness.py::test_lanczos_matches_the_full_hessian",
    "one Lanczos step fewer": "test_sharpness.py::test_lanczos_matches_the_full_hessian",
    "H v halved": "test_sharpness.py::test_lanczos_matches_the_full_hessian",
    "η_max = 1/λ_max": "test_sharpness.py::test_gd_is_stable_below_eta_max_and_not_above",
    "tridiagonal missing its lower band": "test_sharpness.py::test_lanczos_matches_the_full_hessian",
    "ascent ↔ descent": "test_teleport.py::test_teleport_keeps_f_and_moves_the_objective",
    "step clamp removed": "test_teleport.py::test_unnormalised_steps_are_clipped_to_max_step",
    "normalisation dropped": "test_teleport.py::test_normalised_steps_move_the_largest_log_scale_by_lr",
    "orbit point sign": "test_teleport.py::test_objective_along_the_orbit_equals_objective_of_rescaled_model",
    "Hellmann–Feynman with the bottom eigenvector": "test_teleport.py::test_scalar_toy_min_sharpness_is_the_balanced_point",
    "function change not measured": "test_teleport.py::test_function_change_measures_f_on_x",
    "Path-SGD momentum with dampening": "test_optim.py::test_momentum_path_sgd_is_the_documented_heavy_ball",
    "Path-SGD momentum μ ignored": "test_optim.py::test_momentum_path_sgd_is_the_documented_heavy_ball",
    "first buffer zero (first step lost)": "test_optim.py::test_momentum_path_sgd_is_the_documented_heavy_ball",
    "divide by √κ": "test_optim.py::test_path_sgd_step_formula",
    "multiply by κ": "test_optim.py::test_path_sgd_step_formula",
    "bias enters γ_in unsquared": "test_optim.py::test_kappa_matches_path_enumeration",
    "γ_out ignores which output": "test_optim.py::test_two_layer_kappa_is_the_other_side_squared",
    "Adam v rescaled by 1/p": "test_optim.py::test_adam_with_rescaled_moments_ignores_the_gauge",
    "gradient rule uses p": "test_optim.py::test_rescaled_buffer_is_the_momentum_sum_of_the_rescaled_gradients",
    "mid-run gauge not applied": "test_optim.py::test_momentum_path_sgd_needs_the_buffer_rescaled_like_the_gradient",
    "positive_number accepts inf": _B + "test_bad_learning_rate",
    "betas accept 1": _B + "test_adam_betas_out_of_range",
    "log-scale limit 4× looser": _B + "test_rho0_beyond_the_representable_range",
    "x_val without y_val accepted": _B + "test_x_val_without_y_val_is_refused",
    "train: x_val without y_val accepted": _B + "test_x_val_without_y_val_is_refused",
    "weight decay dropped with momentum": "test_train_rules.py::test_weight_decay_shrinks_a_model_that_has_nothing_to_fit",
    "weight decay dropped with gd/sgd": "test_train_rules.py::test_weight_decay_shrinks_a_model_that_has_nothing_to_fit",
    "Adam betas ignored": "test_train_rules.py::test_every_optimizer_minimises_loss_plus_penalty_plus_weight_decay",
    "penalty dropped under minibatch SGD": "test_train_rules.py::test_the_penalty_acts_under_every_optimizer_and_batch_size",
    "divergence base without L_0": "test_train_rules.py::test_divergence_step_follows_the_documented_threshold",
    "divergence threshold doubled": "test_train_rules.py::test_divergence_step_follows_the_documented_threshold",
    "minibatch off by one": "test_train_rules.py::test_each_sgd_step_uses_one_minibatch_of_batch_size_rows",
    "minibatches never shuffled": "test_seeds.py::test_same_seed_same_result_other_seed_other_result",
    "seed ignored": "test_seeds.py::test_same_seed_same_result_other_seed_other_result",
    "last step not recorded": "test_train_rules.py::test_the_last_step_is_always_recorded",
    "diverged run keeps the bad θ": "test_train_rules.py::test_a_diverged_run_keeps_the_last_model_before_the_bad_step",
    "ensemble divergence base without L_0": "test_ensemble_rules.py::test_divergence_step_follows_the_documented_threshold",
    "ensemble divergence threshold doubled": "test_ensemble_rules.py::test_divergence_step_follows_the_documented_threshold",
    "ensemble threshold ignored": "test_ensemble_rules.py::test_divergence_step_follows_the_documented_threshold",
    "ensemble penalty without λ_b": "test_ensemble_rules.py::test_each_member_follows_gradient_descent_on_loss_plus_its_penalty",
    "diverged member keeps its bad θ": "test_ensemble_rules.py::test_a_diverged_member_keeps_its_last_finite_parameters",
    "one step size for all members": "test_ensemble_rules.py::test_each_member_follows_gradient_descent_on_loss_plus_its_penalty",
    "x_val without y_val silently ignored": _B + "test_x_val_without_y_val_is_refused",
    "seed std with n instead of n − 1": "test_experiments.py::test_seed_stats_by_hand",
    "NaN values counted as seeds": "test_experiments.py::test_seed_stats_by_hand",
    "stable range: one stable seed suffices": "test_experiments.py::test_stable_range_stops_at_the_first_unstable_step",
    "λ limit from max instead of median stiffness": "test_experiments.py::test_lambda_sweep_uses_the_lambda_zero_column_for_the_trained_limit",
}


def _ids(catalogue):
    counts: dict[str, int] = {}
    out = []
    for m in catalogue:
        counts[m.module] = counts.get(m.module, 0) + 1
        out.append(f"{m.module}-{counts[m.module]}")
    return out


def check_targets(catalogue, src: Path) -> list[str]:
    errors = []
    for mid, m in zip(_ids(catalogue), catalogue):
        try:
            mutated = m.apply((src / f"{m.module}.py").read_text())
        except LookupError as exc:
            errors.append(f"{mid}: {exc}")
            continue
        if mutated == (src / f"{m.module}.py").read_text():
            errors.append(f"{mid}: the substitution changes nothing")
    return errors


PYTEST_ARGS = ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", "-W", "ignore"]


def _warm_up() -> None:
    """Import the heavy third-party modules once, in this process; every test run is a fork of it
    (so torch is not imported a hundred times). gaugelab itself is never imported here."""
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import torch  # noqa: F401
    import torch.func  # noqa: F401
    import tqdm.auto  # noqa: F401

    assert "gaugelab" not in sys.modules


def _fork_pytest(pkg_root: Path, tests: list[str], out: Path) -> int:
    """Fork a child that runs pytest on ``tests`` with ``pkg_root``'s gaugelab; returns its pid.

    The child exits with pytest's code, or 99 if the gaugelab it imported is not the copy."""
    pid = os.fork()
    if pid:
        return pid
    try:  # the child
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(pkg_root)
        sys.path.insert(0, str(pkg_root))
        os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(pkg_root / ".hypothesis")
        os.environ["GAUGELAB_STATIC_PNG"] = "0"
        import pytest

        args = [*PYTEST_ARGS, "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), *tests]
        code = int(pytest.main(args))
        sys.stdout.flush()
        imported = getattr(sys.modules.get("gaugelab"), "__file__", "") or ""
        if not imported.startswith(str(pkg_root)):
            print(f"mutation: imported {imported!r}, not the copy", flush=True)
            code = 99
    except BaseException as exc:  # noqa: BLE001
        print(f"mutation: child failed: {exc!r}", flush=True)
        code = 98
    os._exit(code)


def _first_failure(text: str) -> str:
    for line in text.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            node = line.split(" ", 1)[1].split(" - ")[0]
            return "tests/" + node.rsplit("tests/", 1)[-1] if "tests/" in node else node.lstrip("./")
    return ""


@dataclass
class _Job:
    mid: str
    mutant: Mutant | None  # None: the unmutated baseline of a module
    module: str
    root: Path
    stage: str = "hint"
    pid: int = 0
    started: float = 0.0
    spent: float = 0.0
    out: Path | None = None
    diff: str = ""


def _start(job: _Job) -> None:
    if job.stage == "hint" and job.mutant is not None and job.mutant.what in HINTS:
        tests = [str(REPO / "tests" / HINTS[job.mutant.what])]
    else:
        job.stage = "full"
        tests = [str(REPO / "tests" / t) for t in TESTS[job.module]]
    job.out = job.root.parent / f"{job.stage}.log"
    job.started = time.perf_counter()
    job.pid = _fork_pytest(job.root, tests, job.out)


def run_jobs(jobs: list[_Job], n_parallel: int, timeout: float, report) -> None:
    """Run every job (hint stage, then the full list if the hint passed), ``n_parallel`` at once;
    ``report(job, status, failed)`` is called as each one is decided."""
    pending, running = list(jobs), {}
    while pending or running:
        while pending and len(running) < n_parallel:
            job = pending.pop(0)
            _start(job)
            running[job.pid] = job
        time.sleep(0.1)
        for pid, job in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.perf_counter() - job.started
            if not done:
                if elapsed > timeout:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    del running[pid]
                    job.spent += elapsed
                    report(job, "timeout", "")
                continue
            del running[pid]
            job.spent += elapsed
            code = os.waitstatus_to_exitcode(status)
            text = job.out.read_text(errors="replace") if job.out.exists() else ""
            if code in (98, 99):
                raise SystemExit(f"mutation: {job.mid}: {text[-2000:]}")
            if code == 0 and job.stage == "hint":
                job.stage = "full"
                _start(job)
                running[job.pid] = job
                continue
            if code in (2, 3, 4, 5):  # interrupted, internal error, usage error (e.g. a hint naming
                # no test), no tests collected: nothing was tested, so this is no kill
                raise SystemExit(
                    f"mutation: {job.mid}: pytest exit {code} (not a test failure): {text[-1500:]}"
                )
            failed = _first_failure(text) or (f"crashed (signal {-code})" if code < 0 else f"exit {code}")
            report(job, "survived" if code == 0 else "killed", failed)
            if job.mutant is not None:
                shutil.rmtree(job.root.parent, ignore_errors=True)


def _prepare(workdir: Path, mutant: Mutant | None = None) -> tuple[Path, str]:
    """A copy of gaugelab/ in ``workdir``/pkg, with ``mutant`` applied; (its root, the diff)."""
    root = workdir / "pkg"
    shutil.copytree(REPO / "gaugelab", root / "gaugelab", ignore=shutil.ignore_patterns("__pycache__"))
    if mutant is None:
        return root, ""
    target = root / "gaugelab" / f"{mutant.module}.py"
    original = target.read_text()
    mutated = mutant.apply(original)
    target.write_text(mutated)
    diff = "".join(difflib.unified_diff(original.splitlines(True), mutated.splitlines(True), n=0))
    return root, diff


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", action="append", help="only this module's mutants (repeatable)")
    ap.add_argument("--only", action="append", help="only this mutant id, e.g. penalty-3 (repeatable)")
    ap.add_argument("--list", action="store_true", help="print the catalogue and exit")
    ap.add_argument("--check", action="store_true", help="only check that every target text exists")
    ap.add_argument("--show", action="store_true", help="print each mutant's diff")
    ap.add_argument("--jobs", type=int, default=1, help="test runs in parallel (default 1)")
    ap.add_argument(
        "--timeout", type=float, default=600.0, help="seconds per test run before 'timeout' (killed)"
    )
    ap.add_argument(
        "--no-baseline", action="store_true", help="skip the unmutated run of each module's tests"
    )
    args = ap.parse_args(argv)

    ids = _ids(CATALOGUE)
    chosen = [
        (i, m)
        for i, m in zip(ids, CATALOGUE)
        if (not args.module or m.module in args.module) and (not args.only or i in args.only)
    ]
    if args.list:
        for module, tests in TESTS.items():
            print(f"{module:12s} tests: {' '.join(tests)}")
        for i, m in chosen:
            print(f"{i:15s} {m.what}")
        return 0
    errors = check_targets([m for _, m in chosen], REPO / "gaugelab")
    if errors:
        print("mutation: TARGET TEXT NOT FOUND (update the catalogue to the current code):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 2
    if args.check:
        print(f"mutation: all {len(chosen)} targets found")
        return 0

    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(
        f"mutation: {len(chosen)} mutants, {args.jobs} at a time, load average {' '.join(load)}", flush=True
    )
    _warm_up()
    tmp = Path(tempfile.mkdtemp(prefix="gaugelab-mutation-"))
    results: list[tuple[str, Mutant, str]] = []
    t0 = time.perf_counter()
    try:
        if not args.no_baseline:
            base_fail = []

            def base_report(job, status, failed):
                print(
                    f"baseline {job.module:12s} {job.spent:6.1f} s  {'ok' if status == 'survived' else failed}"
                )
                if status != "survived":
                    base_fail.append(job.module)

            modules = sorted({m.module for _, m in chosen})
            base = [
                _Job(f"baseline-{mod}", None, mod, _prepare(tmp / f"base-{mod}")[0], stage="full")
                for mod in modules
            ]
            run_jobs(base, args.jobs, args.timeout, base_report)
            if base_fail:
                print(f"mutation: the unmutated tests fail for {base_fail}: fix them first", file=sys.stderr)
                return 2

        jobs = []
        for k, (mid, m) in enumerate(chosen):
            root, diff = _prepare(tmp / f"m{k}", m)
            jobs.append(_Job(mid, m, m.module, root, diff=diff))

        def report(job, status, failed):
            results.append((job.mid, job.mutant, status))
            mark = {"killed": "killed  ", "timeout": "timeout ", "survived": "SURVIVED"}[status]
            how = f"  <- {failed}" if failed else ""
            print(f"{mark} {job.mid:15s} {job.spent:6.1f} s  {job.mutant.what}{how}", flush=True)
            if args.show:
                print(job.diff)

        run_jobs(jobs, args.jobs, args.timeout, report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    order = {mid: i for i, mid in enumerate(ids)}
    results.sort(key=lambda r: order[r[0]])
    print(f"\nscore by module (killed / total), {time.perf_counter() - t0:.0f} s in all:")
    for module in dict.fromkeys(m.module for _, m, _ in results):
        rows = [r for r in results if r[1].module == module]
        print(f"  {module:12s} {sum(r[2] != 'survived' for r in rows):3d} / {len(rows):3d}")
    killed = sum(r[2] != "survived" for r in results)
    print(
        f"  {'all':12s} {killed:3d} / {len(results):3d}  = {100 * killed / max(1, len(results)):.1f} % killed"
    )
    survivors = [r for r in results if r[2] == "survived"]
    print("survivors:" if survivors else "survivors: none")
    for mid, m, _ in survivors:
        print(f"  {mid}: {m.what}   [{m.old!r} -> {m.new!r}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
