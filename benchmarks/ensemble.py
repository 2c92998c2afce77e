"""Benchmark: the fused trainer, the vmap ensemble, a loop of ``gl.train`` and a plain PyTorch loop.

Identical work every way: full-batch GD on the default protocol's configurations (ρ0, seed, λ, η) of
``python -m gaugelab reproduce`` (its λ sweep and stability map), the same steps, recording every
``record_every`` steps (loss, δ, validation MSE) and the same divergence rule.

Part A, the whole default training: the fused trainer (``backend="fused"``) against today's general
ensemble (``backend="vmap"``). Part B, every ``--every``-th configuration of it, all four ways:

- fused and vmap: :func:`gaugelab.ensemble.ensemble_train`;
- the ``gl.train`` loop: one ``gl.train(..., optimizer="gd")`` per configuration;
- the plain loop: what a user writes by hand, per configuration: ``nn.Sequential``,
  ``torch.optim.SGD``, half MSE plus the penalty (λ/4) Σ_j (‖u_j‖² − ‖a_j‖²)² in torch ops, a copy of
  the parameters per step (to keep the last finite ones) and the same records.

Runs are interleaved (the order rotates every repeat) and repeated; medians are printed with the
machine's load (1-minute load average) before each run. GFLOP/s counts the useful floating-point
operations of the algorithm (forward, backward, penalty, update, validation; :func:`useful_flops`),
the same for every method, over the measured wall time; "of peak" divides by a float64 matmul
(torch, the same threads) measured here. Results are checked against each other (divergence flags
and steps identical, final parameters close).

    .venv/bin/python benchmarks/ensemble.py [--repeats 3] [--every 23] [--threads auto]
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import statistics
import time

import torch

import gaugelab as gl
from gaugelab import experiments
from gaugelab.__main__ import _threads
from gaugelab.ensemble import ensemble_train
from gaugelab.protocol import DEFAULT


def load() -> float:
    return os.getloadavg()[0]


def matmul_peak(n: int = 1024, repeats: int = 5) -> float:
    """Best attained float64 GFLOP/s of an n×n matmul with torch's current threads."""
    a = torch.randn(n, n, dtype=torch.float64)
    b = torch.randn(n, n, dtype=torch.float64)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def useful_flops(configs, n_steps_run, d, m, k, n, n_val, n_records) -> float:
    """Floating-point operations of full-batch GD on a two-layer net, summed over the members.

    Per loss evaluation: forward N(2md + m + 2mk + k) + residual and loss 3Nk; per gradient step:
    backward N(4mk + 2md + 2m + k), the penalty (if λ > 0) 2m(d + 1 + k) + 2m(d + 1 + k) for δ and
    its gradient, the update 2P (4P with weight decay; none here); per record: δ 2m(d + 1 + k) and
    the validation forward N_v(2md + m + 2mk + 3k).
    """
    p = m * d + m + k * m + k
    fwd = n * (2 * m * d + m + 2 * m * k + k) + 3 * n * k
    bwd = n * (4 * m * k + 2 * m * d + 2 * m + k)
    rec = 2 * m * (d + 1 + k) + n_val * (2 * m * d + m + 2 * m * k + 3 * k)
    total = 0.0
    for (_, _, lam, _), evals, recs in zip(configs, n_steps_run, n_records):
        grads = max(evals - 1, 0) if evals else 0
        pen = 4 * m * (d + 1 + k) if lam > 0 else 0
        total += evals * fwd + grads * (bwd + pen + 2 * p) + recs * rec
    return total


def plain_loop(model0, x, y, xv, yv, lr, lam, steps, record_every, factor):
    """The loop a user writes by hand (see the module docstring); returns (model, losses, diverged_step)."""
    model = copy.deepcopy(model0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    params = list(model.parameters())
    threshold, prev, losses, vals, deltas = None, None, [], [], []
    for t in range(steps + 1):
        loss = 0.5 * ((model(x) - y) ** 2).sum(dim=1).mean()
        value = loss.item()
        if threshold is None:
            threshold = factor * max(value, 0.5 * (y**2).sum(dim=1).mean().item(), 1e-12)
        if not math.isfinite(value) or value > threshold:
            torch.nn.utils.vector_to_parameters(prev, params)
            return model, losses, t
        w1, b1, w2 = model[0].weight, model[0].bias, model[2].weight
        if t % record_every == 0 or t == steps:
            with torch.no_grad():
                losses.append(value)
                deltas.append((w1**2).sum(dim=1) + b1**2 - (w2**2).sum(dim=0))
                vals.append(((model(xv) - yv) ** 2).mean().item())
        if t == steps:
            break
        prev = torch.nn.utils.parameters_to_vector(params).detach().clone()
        if lam > 0:
            delta = (w1**2).sum(dim=1) + b1**2 - (w2**2).sum(dim=0)
            loss = loss + lam / 4 * (delta**2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, losses, -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (medians printed)")
    parser.add_argument("--every", type=int, default=23, help="part B takes every N-th configuration")
    parser.add_argument("--steps", type=int, default=DEFAULT.steps)
    parser.add_argument("--threads", type=_threads, default="auto", help="torch threads (default: auto)")
    parser.add_argument("--skip-a", action="store_true", help="only part B")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    p = DEFAULT
    data = p.dataset()
    x, y, xv, yv = data.x_train, data.y_train, data.x_val, data.y_val
    all_configs = list(
        dict.fromkeys(
            experiments._key(c)
            for c in experiments.lambda_sweep_configs(p) + experiments.stability_map_configs(p)
        )
    )
    steps, rec_every = args.steps, p.record_every
    kw = dict(steps=steps, record_every=rec_every, x_val=xv, y_val=yv, divergence_factor=p.divergence_factor)
    peak = matmul_peak()
    print(
        f"machine: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, float64 matmul peak "
        f"{peak:.1f} GFLOP/s (1024x1024, best of 5), load {load():.2f}"
    )
    dims = (1, p.width, 1, x.shape[0], xv.shape[0])
    t = time.perf_counter()
    ensemble_train([p.model(0)], x, y, lr=0.1, steps=2, backend="fused")
    print(f"one-off numba compile or cache load of the fused kernel: {time.perf_counter() - t:.2f} s")
    ensemble_train([p.model(0)] * 2, x, y, lr=0.1, steps=2, backend="vmap")

    def ensemble(configs, backend):
        models = experiments.initial_models(p, configs)
        lrs, lams = [c[3] for c in configs], [c[2] for c in configs]
        return ensemble_train(models, x, y, lr=lrs, lam=lams, backend=backend, **kw)

    def work(configs, res):
        div = res.diverged_step.tolist()
        evals = [steps + 1 if t < 0 else t + 1 for t in div]
        recs = [int(r.sum()) for r in res.recorded]
        return useful_flops(configs, evals, *dims, recs)

    def table(title, configs, methods, ref):
        times = {name: [] for name in methods}
        loads = []
        results = {}
        for r in range(args.repeats):
            order = list(methods)
            order = order[r % len(order) :] + order[: r % len(order)]
            for name in order:
                loads.append(load())
                t = time.perf_counter()
                results[name] = methods[name](configs)
                times[name].append(time.perf_counter() - t)
        flops = work(configs, results[ref])
        med = {n: statistics.median(v) for n, v in times.items()}
        print(f"\n{title}: {len(configs)} configurations x {steps} steps, {args.repeats} interleaved repeats")
        print(
            f"load during the runs: min {min(loads):.2f}, median {statistics.median(loads):.2f}, "
            f"max {max(loads):.2f}"
        )
        print(f"useful work: {flops / 1e9:.2f} GFLOP ({int(results[ref].diverged.sum())} members diverge)")
        head = f"{'method':<16}{'median s':>10}{'min s':>9}{'GFLOP/s':>9}{'of peak':>9}   speed-up over"
        print(head + "".join(f"{n:>16}" for n in methods))
        for n in methods:
            row = f"{n:<16}{med[n]:>10.2f}{min(times[n]):>9.2f}{flops / med[n] / 1e9:>9.2f}"
            row += f"{flops / med[n] / 1e9 / peak:>9.2%}" + " " * 11
            row += "".join(f"{med[o] / med[n]:>15.2f}x" for o in methods)
            print(row)
        return results, med

    def check(res, other_name, other, configs):
        """Divergence flags and steps, and the final parameters, of ``other`` against the fused result.

        Where GD is chaotic (at the edge of stability, or past the penalty's own limit) rounding
        differences of 1e-16 grow exponentially and decide whether and when a run diverges. A flag
        that differs is "rounding-sensitive" if the two loss curves had already separated (> 1e-8
        relative at a common record step) before either run diverged; any other difference is a
        MISMATCH.
        """
        unexplained, sensitive, dev = [], [], []
        with torch.no_grad():
            for i in range(res.size):
                model, div, losses = other(i)
                mine = int(res.diverged_step[i])
                if mine != div:
                    b = torch.as_tensor(losses, dtype=res.loss.dtype)
                    n = min(int(b.isfinite().sum()), int(res.recorded[i].sum()))  # records both have
                    a, b = res.loss[i, :n], b[:n]
                    sep = float(((a - b).abs() / (1 + b.abs())).max()) if n else 0.0
                    (sensitive if sep > 1e-8 else unexplained).append((configs[i], mine, div, sep))
                elif mine < 0:
                    dev.append(
                        max(
                            float(((p - q).abs() / (1 + q.abs())).max())
                            for p, q in zip(res.model(i).parameters(), model.parameters())
                        )
                    )
        dev = torch.tensor(dev)
        same = res.size - len(sensitive) - len(unexplained)
        print(
            f"  {other_name} vs fused: divergence flags and steps identical on {same}/{res.size}; "
            f"{len(sensitive)} rounding-sensitive, {len(unexplained)} unexplained"
        )
        for c, mine, div, sep in (unexplained + sensitive)[:8]:
            kind = "MISMATCH" if (c, mine, div, sep) in unexplained else "rounding-sensitive"
            print(f"    (ρ0, seed, λ, η) = {c}: fused {mine}, {other_name} {div} ({sep:.0e} apart; {kind})")
        if dev.numel():
            within = int((dev <= 1e-10).sum())
            print(
                f"    final parameters of the {dev.numel()} members stable in both: median relative "
                f"deviation {float(dev.median()):.1e}, {within} within 1e-10, max {float(dev.max()):.1e}"
            )
        return not unexplained

    ok = True
    if not args.skip_a:
        methods = {"fused": lambda c: ensemble(c, "fused"), "vmap (today)": lambda c: ensemble(c, "vmap")}
        results, med = table("A. the default reproduce training", all_configs, methods, "fused")
        vm = results["vmap (today)"]
        ok &= check(
            results["fused"],
            "vmap",
            lambda i: (vm.model(i), int(vm.diverged_step[i]), vm.loss[i]),
            all_configs,
        )
        print(
            "ratio (fused over today's ensemble, default reproduce training): "
            f"{med['vmap (today)'] / med['fused']:.1f}x"
        )

    sub = all_configs[:: args.every]
    models = experiments.initial_models(p, sub)

    def train_loop(configs):
        return [gl.train(m, x, y, lr=c[3], lam=c[2], optimizer="gd", **kw) for m, c in zip(models, configs)]

    def plain(configs):
        return [
            plain_loop(m, x, y, xv, yv, c[3], c[2], steps, rec_every, p.divergence_factor)
            for m, c in zip(models, configs)
        ]

    methods = {
        "fused": lambda c: ensemble(c, "fused"),
        "vmap (today)": lambda c: ensemble(c, "vmap"),
        "gl.train loop": train_loop,
        "plain loop": plain,
    }
    results, med = table(f"B. every {args.every}th configuration, all four ways", sub, methods, "fused")
    fu = results["fused"]
    vm, tl, pl = results["vmap (today)"], results["gl.train loop"], results["plain loop"]
    ok &= check(fu, "vmap", lambda i: (vm.model(i), int(vm.diverged_step[i]), vm.loss[i]), sub)
    ok &= check(fu, "gl.train loop", lambda i: (tl[i].model, tl[i].diverged_step or -1, tl[i].loss), sub)
    ok &= check(fu, "plain loop", lambda i: (pl[i][0], pl[i][2], pl[i][1]), sub)
    print(
        f"ratios on part B: fused over gl.train loop {med['gl.train loop'] / med['fused']:.1f}x, over the "
        f"plain loop {med['plain loop'] / med['fused']:.1f}x; today's ensemble over the plain loop "
        f"{med['plain loop'] / med['vmap (today)']:.2f}x, over the gl.train loop "
        f"{med['gl.train loop'] / med['vmap (today)']:.2f}x"
    )
    print("check:", "OK" if ok else "MISMATCH")


if __name__ == "__main__":
    main()
