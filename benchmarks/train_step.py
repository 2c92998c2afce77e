"""Benchmark: the time per step of ``gl.train`` now, before its bookkeeping was cut, and a plain loop.

"Before" is ``gaugelab/train.py`` at commit 21a06eb (read with ``git show``; the tests check that
both give bit-identical results). The plain loop is ``benchmarks/ensemble.py``'s hand-written loop.
The default protocol's network (width 32, ρ0 = 2) on its data, η = 0.1, 400 full-batch GD steps,
records every 20 steps (and every step); one thread. Interleaved, repeated, medians of the process
CPU time per step (less sensitive to a busy machine than wall time) with the load printed.

    .venv/bin/python benchmarks/train_step.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import gaugelab as gl
from gaugelab.protocol import DEFAULT

sys.path.insert(0, str(Path(__file__).parent))
from ensemble import plain_loop  # noqa: E402

BEFORE = "21a06eb"


def old_train():
    root = Path(__file__).resolve().parent.parent
    src = subprocess.run(
        ["git", "show", f"{BEFORE}:gaugelab/train.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "train_before.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("train_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_before"] = module
    spec.loader.exec_module(module)
    return module.train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    torch.set_num_threads(1)
    before = old_train()
    p = DEFAULT
    d = p.dataset()
    model = p.model(0, p.rho0)
    x, y, xv, yv = d.x_train, d.y_train, d.x_val, d.y_val

    def per_step(kind, lam, every):
        kw = dict(steps=args.steps, lr=0.1, lam=lam, record_every=every, x_val=xv, y_val=yv)
        t = time.process_time()
        if kind == "before":
            before(model, x, y, **kw)
        elif kind == "now":
            gl.train(model, x, y, **kw)
        else:
            plain_loop(model, x, y, xv, yv, 0.1, lam, args.steps, every, p.divergence_factor)
        return (time.process_time() - t) / args.steps * 1e6

    print(
        f"gl.train per step (µs of CPU, median of {args.repeats}), {args.steps} steps, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for lam, every in ((0.0, 20), (0.2, 20), (0.0, 1)):
        kinds = ("before", "now") + (("plain loop",) if every == 20 else ())
        times = {k: [] for k in kinds}
        for _ in range(args.repeats):
            for k in kinds:
                times[k].append(per_step(k, lam, every))
        med = {k: statistics.median(v) for k, v in times.items()}
        row = ", ".join(f"{k} {v:.0f}" for k, v in med.items())
        print(
            f"λ = {lam:g}, record every {every}: {row}; before/now {med['before'] / med['now']:.2f}x  "
            f"(load {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
