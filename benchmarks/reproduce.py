"""Benchmark: the wall time of the whole default ``python -m gaugelab reproduce`` (training to figures).

Each run is a fresh process (``python -m gaugelab reproduce --out <tmp> --no-progress``), started once
the 1-minute load is below 1 (at most 90 s of waiting), timed from outside, so the total includes
Python start-up, imports and exit; its own ``results.json`` splits the rest into training, analysis,
mechanism and figures (HTML, PNG export). The load (1-minute load average) is printed
beside every run. Options: ``--cold`` adds one run with an empty numba cache (the one-off compile of
the fused trainer, as on a fresh install); ``--vmap`` adds interleaved runs with the ensemble forced
onto its general vmap path (today's trainer before the fused one), for a side-by-side ratio.

    .venv/bin/python benchmarks/reproduce.py [--repeats 2] [--cold] [--vmap] [--threads auto] [--no-png]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VMAP = (
    "import functools, sys; import gaugelab.experiments as e, gaugelab.ensemble as en; "
    "e.ensemble_train = functools.partial(en.ensemble_train, backend='vmap'); "
    "from gaugelab.__main__ import main; sys.exit(main(sys.argv[1:]))"
)


def settle(limit: float = 1.0, patience: float = 90.0) -> None:
    """Wait (up to ``patience`` s) for the 1-minute load to fall below ``limit``: back-to-back runs keep
    it high, and ``--threads auto`` then picks 1 thread, which a user on an idle machine would not get."""
    end = time.monotonic() + patience
    while os.getloadavg()[0] >= limit and time.monotonic() < end:
        time.sleep(2)


def run(extra: list[str], *, vmap: bool, env: dict | None = None) -> dict:
    settle()
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable]
        cmd += ["-c", VMAP] if vmap else ["-m", "gaugelab"]
        cmd += ["reproduce", "--out", out, "--no-progress", *extra]
        load = os.getloadavg()[0]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"reproduce failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        data = json.loads((Path(out) / "results.json").read_text(encoding="utf-8"))
    timings = data["timings_seconds"]
    timings["figures"] = timings.get("figures_html", 0.0) + timings.get("figures_png", 0.0)
    return dict(
        wall=wall,
        load=load,
        startup=wall - timings["total"],
        threads=data.get("threads"),
        png=len(data.get("png_figures", [])),
        **timings,
    )


def show(label: str, r: dict) -> None:
    keys = ("training", "analysis", "mechanism", "figures_html", "figures_png", "startup")
    parts = [f"{k} {r[k]:.2f}" for k in keys if k in r]
    print(
        f"{label:<26} wall {r['wall']:6.2f} s  ({', '.join(parts)})  threads {r['threads']}  "
        f"PNG {r['png']}  load {r['load']:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cold", action="store_true", help="add a run with an empty numba cache")
    parser.add_argument("--vmap", action="store_true", help="add interleaved runs on the vmap path")
    parser.add_argument("--threads", default="auto", help="passed to reproduce --threads")
    parser.add_argument("--no-png", action="store_true", help="passed to reproduce")
    args = parser.parse_args()
    extra = ["--threads", args.threads] + (["--no-png"] if args.no_png else [])
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; default protocol, {extra}")
    if args.cold:
        with tempfile.TemporaryDirectory() as cache:
            show("cold numba cache", run(extra, vmap=False, env={**os.environ, "NUMBA_CACHE_DIR": cache}))
    run(extra, vmap=False)  # warm the cache (and the disk) before timing
    runs = {"fused (auto)": [], "vmap (today)": []}
    for i in range(args.repeats):
        for name in ["fused (auto)", "vmap (today)"] if i % 2 == 0 else ["vmap (today)", "fused (auto)"]:
            if name == "vmap (today)" and not args.vmap:
                continue
            r = run(extra, vmap=name.startswith("vmap"))
            runs[name].append(r)
            show(f"{name} #{i + 1}", r)
    for name, rs in runs.items():
        if rs:
            med = {
                k: statistics.median(r[k] for r in rs) for k in ("wall", "training", "analysis", "figures")
            }
            print(
                f"median {name}: wall {med['wall']:.2f} s (training {med['training']:.2f}, analysis "
                f"{med['analysis']:.2f}, figures {med['figures']:.2f}); target <= 10 s: "
                f"{'met' if med['wall'] <= 10 else 'NOT met'}"
            )
    if runs["vmap (today)"]:
        f, v = runs["fused (auto)"], runs["vmap (today)"]
        for k in ("training", "wall"):
            ratio = statistics.median(r[k] for r in v) / statistics.median(r[k] for r in f)
            print(f"ratio {k} (vmap over fused): {ratio:.1f}x")


if __name__ == "__main__":
    main()
