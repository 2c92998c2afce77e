"""Command line: ``python -m gaugelab reproduce [--out DIR] [--quick] [--seeds N] [--device D]``.

Regenerates, headless, the source paper's figures and tables under GaugeLab's protocol
(:mod:`gaugelab.protocol`; the paper's own constants are unknown): self-contained HTML figures
(plus PNG where a static export works offline), table 1 (protocol) and table 2 (results) as
Markdown and CSV, ``results.json`` with every number, and a short summary on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import torch


def _threads(value: str) -> int:
    """``auto``: 1 thread when the cores are already busy (two spinning threads then slow torch down
    many-fold on a shared 2-core machine), else torch's default."""
    if value != "auto":
        n = int(value)
        if n < 1:
            raise argparse.ArgumentTypeError("--threads: expected 'auto' or a positive integer")
        return n
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= max(cores - 0.5, 0.5)
    except OSError:
        busy = False
    return 1 if busy else torch.get_num_threads()


def _table_md(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, header, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _fmt(x: float, spec: str = ".4g") -> str:
    return "—" if x != x else format(x, spec)


def table2(results) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
    """(header, rows) of the results table and (header, rows) of the invariance table."""
    p, st, sw, dr, inv = (
        results.protocol,
        results.stress_test,
        results.lambda_sweep,
        results.scale_drift,
        results.invariance,
    )
    header = [
        "initial imbalance",
        "arm",
        f"largest η with all {st.n_seeds} seeds stable",
        f"val MSE at η = {p.lr_ref:g} (mean ± std, stable seeds)",
    ] + [f"final {dr.metric} at η = {lr:g}" for lr in dr.lrs]
    rows = []
    for r, rho0 in enumerate(st.rho0s):
        for a, arm in enumerate(st.arms):
            li = sw.lams.index(st.lams[a])
            n = int(sw.n_stable[r, li])
            val = f"{_fmt(float(sw.val_mean[r, li]))} ± {_fmt(float(sw.val_std[r, li]), '.2g')} (n = {n})"
            drift = [
                f"{_fmt(float(dr.final_mean[r, a, k]), '.3g')} (n = {int(dr.n_stable[r, a, k])})"
                for k in range(len(dr.lrs))
            ]
            rows.append([f"ρ0 = {rho0:g}", arm, f"{float(st.stable_lr[r, a]):g}", val, *drift])
    s, srel = inv.stats(), inv.stats(relative=True)
    inv_header = ["Δ_inv over random rescalings", "min", "median", "max"]
    inv_rows = [
        ["ours, absolute"] + [f"{s[k]:.3g}" for k in ("min", "median", "max")],
        ["ours, relative to mean |f|"] + [f"{srel[k]:.3g}" for k in ("min", "median", "max")],
        ["paper (fig. 5)"] + [f"{v:.3g}" for v in inv.paper],
    ]
    return header, rows, inv_header, inv_rows


def reproduce(args) -> int:
    from tqdm.auto import tqdm

    from gaugelab import experiments, plots
    from gaugelab.display import static_png
    from gaugelab.protocol import DEFAULT, quick

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    protocol = quick() if args.quick else DEFAULT
    if args.seeds is not None:
        protocol = protocol.with_seeds(args.seeds)
    out = Path(args.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    print(
        f"[gaugelab] reproduce: protocol '{protocol.name}', {protocol.n_seeds} seeds, {protocol.steps} GD "
        f"steps, device {args.device or 'cpu'}, {args.threads} torch thread(s) -> {out}/",
        flush=True,
    )
    results = experiments.reproduce(protocol, device=args.device, progress=not args.no_progress)

    t0 = time.perf_counter()
    figures = {
        "fig2_dataset": plots.dataset_figure(protocol.dataset(), protocol.target_function),
        "fig3_lambda_sweep": plots.lambda_sweep_figure(results.lambda_sweep),
        "fig4_lr_stress_test": plots.lr_stress_figure(results.stress_test),
        "fig5_invariance": plots.invariance_figure(results.invariance),
        "scale_drift": plots.scale_drift_figure(results.scale_drift),
        "stability_map": plots.stability_map_figure(results.stability_map),
    }
    png_ok = []
    for name, fig in tqdm(figures.items(), desc="figures", disable=args.no_progress, leave=False):
        fig.write_html(out / "figures" / f"{name}.html", include_plotlyjs=True, full_html=True)
        if not args.no_png:
            png = static_png(fig, width=1000, height=int(fig.layout.height or 500))
            if png is not None:
                (out / "figures" / f"{name}.png").write_bytes(png)
                png_ok.append(name)
    results.timings["figures"] = time.perf_counter() - t0

    t1_header = ["field", "value", "why (ours: the paper's values are unknown)"]
    t1_rows = protocol.table()
    (out / "table1_protocol.md").write_text(
        "# Table 1: GaugeLab's protocol (our constants, not the paper's)\n\n" + _table_md(t1_header, t1_rows),
        encoding="utf-8",
    )
    _write_csv(out / "table1_protocol.csv", t1_header, t1_rows)
    h2, r2, hi, ri = table2(results)
    (out / "table2_results.md").write_text(
        "# Table 2: results under our protocol\n\n"
        + _table_md(h2, r2)
        + "\n"
        + _table_md(hi, ri)
        + f"\n{results.invariance.model_description}; {results.invariance.n_inputs} inputs; "
        f"log α ~ U[{protocol.invariance_log_alpha[0]:g}, {protocol.invariance_log_alpha[1]:g}].\n",
        encoding="utf-8",
    )
    _write_csv(out / "table2_results.csv", h2, r2)
    _write_csv(out / "table2_invariance.csv", hi, ri)

    results.timings["total"] = time.perf_counter() - t_start
    data = experiments.results_dict(results)
    data["png_figures"] = png_ok
    data["threads"] = args.threads
    (out / "results.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")

    print("\nSummary (our protocol; the paper's constants are unknown):")
    for c in data["claims"]:
        verdict = "REPRODUCES" if c["holds"] else "DOES NOT REPRODUCE"
        print(f"- {verdict}: {c['claim']} [{c['setting']}]\n    {c['evidence']}")
    png_note = f"{len(png_ok)} PNG" if png_ok else "no PNG (no offline static export here)"
    print(
        f"\nWrote {len(figures)} HTML figures ({png_note}), tables 1-2 (md, csv) and results.json to "
        f"{out}/ in {results.timings['total']:.1f} s (training {results.timings['training']:.1f} s)."
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaugelab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="regenerate the paper's figures and tables (our protocol)")
    rep.add_argument("--out", default="reproduce-out", help="output directory (default: reproduce-out/)")
    rep.add_argument("--quick", action="store_true", help="the small CI protocol (gaugelab.protocol.quick)")
    rep.add_argument("--seeds", type=int, default=None, help="number of initialisation seeds")
    rep.add_argument("--device", default=None, help="torch device for the ensemble, e.g. cuda")
    rep.add_argument("--threads", type=_threads, default="auto", help="torch CPU threads (default: auto)")
    rep.add_argument("--no-png", action="store_true", help="skip the static PNG export")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds: expected a positive integer")
    if args.command == "reproduce":
        return reproduce(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
