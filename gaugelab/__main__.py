"""Command line: ``python -m gaugelab reproduce [--out DIR] [--quick] [--regimes] [--seeds N] [--device D]``.

Regenerates, headless, the source paper's figures and tables under GaugeLab's protocol
(:mod:`gaugelab.protocol`; the paper's own constants are unknown): self-contained HTML figures
(plus PNG where a static export works offline, all through one kaleido browser session), table 1
(protocol), table 2 (results) and the verdict table as Markdown and CSV, ``results.json`` with
every number, and a short summary on stdout. Bad arguments end with a one-line error (exit 2).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import sys
import time
from pathlib import Path

import torch


class UsageError(Exception):
    """A bad command-line argument: printed as one line, exit code 2."""


def _threads(value: str) -> int:
    """``auto``: 1 thread when the cores are already busy (two spinning threads then slow torch down
    many-fold on a shared 2-core machine), else torch's default."""
    if value != "auto":
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise argparse.ArgumentTypeError("--threads: expected 'auto' or a positive integer")
        return n
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= max(cores - 0.5, 0.5)
    except OSError:
        busy = False
    return 1 if busy else torch.get_num_threads()


def check_device(device: str | None) -> str | None:
    """``device`` if torch can allocate on it here, else a :class:`UsageError` saying why."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise UsageError(
            f"--device: expected a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else "a CUDA build, but no GPU is visible"
        raise UsageError(
            f"--device: 'cuda' was requested, but this torch ({torch.__version__}) is {build}; use --device "
            "cpu"
        )
    try:
        torch.zeros(1, device=dev)
    except (RuntimeError, AssertionError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"--device: cannot use {device!r} here ({first})") from None
    return device


def check_out(out: Path) -> Path:
    """``out`` created and writable, else a :class:`UsageError` naming it."""
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        probe = out / ".gaugelab-write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise UsageError(f"--out: cannot write to {str(out)!r} ({reason})") from None
    return out


def _table_md(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _write_csv(path: Path, header, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def table2(results):
    """(header, rows) of the results table and of the invariance table (see gaugelab.experiments.table2)."""
    from gaugelab.experiments import table2 as _table2

    return _table2(results)


def figures(results) -> dict:
    """Every figure of the reproduction, by file name."""
    from gaugelab import plots

    p = results.protocol
    figs = {
        "fig2_dataset": plots.dataset_figure(p.dataset(), p.target_function, train_range=p.train_range),
        "fig3_lambda_sweep": plots.lambda_sweep_figure(results.lambda_sweep),
        "fig4_lr_stress_test": plots.lr_stress_figure(results.stress_test),
        "fig4_paired_edges": plots.paired_edges_figure(results.stress_test),
        "fig4_tau_sensitivity": plots.tau_sensitivity_figure(results.stress_test),
        "fig5_invariance": plots.invariance_figure(results.invariance),
        "scale_drift": plots.scale_drift_figure(results.scale_drift),
        "stability_map": plots.stability_map_figure(results.stability_map),
    }
    if results.mechanism is not None:
        figs["mechanism"] = plots.mechanism_figure(results.mechanism)
    if results.regimes is not None:
        figs["regime_map"] = plots.regime_map_figure(results.regimes)
    return figs


def write_pngs(figs: dict, folder: Path, width: int = 1000, launched=None) -> tuple[list[str], str | None]:
    """Every figure as PNG through ONE kaleido browser session (display.start_png_session; ``launched``:
    the future of that call where ``reproduce`` started it early); (names written, why none if failed)."""
    if not figs:
        return [], None
    try:
        import kaleido

        from gaugelab.display import start_png_session

        if not (launched.result() if launched is not None else start_png_session()):
            raise ImportError("kaleido is not installed")
        jobs = [
            dict(
                fig=fig,
                path=folder / f"{name}.png",
                opts=dict(format="png", width=width, height=int(fig.layout.height or 500)),
            )
            for name, fig in figs.items()
        ]
        kaleido.write_fig_from_object_sync(jobs)
    except Exception as err:  # no kaleido, or no browser for it: the HTML figures are there
        return [], f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    return [n for n in figs if (folder / f"{n}.png").is_file()], None


def reproduce(args) -> int:
    from tqdm.auto import tqdm

    from gaugelab import experiments
    from gaugelab.protocol import DEFAULT, quick

    t_start = time.perf_counter()
    device = check_device(args.device)
    out = check_out(Path(args.out))
    torch.set_num_threads(args.threads)
    protocol = quick() if args.quick else DEFAULT
    if args.seeds is not None:
        protocol = protocol.with_seeds(args.seeds)
    print(
        f"[gaugelab] reproduce: protocol '{protocol.name}', {protocol.n_seeds} seeds, {protocol.steps} "
        "steps, "
        f"regime map {'on' if args.regimes else 'off (--regimes)'}, device {device or 'cpu'}, "
        f"{args.threads} torch thread(s) -> {out}/",
        flush=True,
    )
    results = experiments.reproduce(
        protocol, regimes=args.regimes, device=device, progress=not args.no_progress
    )

    t0 = time.perf_counter()
    launch = None
    if not args.no_png:  # Chromium launches (start_png_session blocks until it is up) while this
        # thread builds and writes the HTML figures; one tab: two rendered no faster here and took
        # longer to open
        from gaugelab.display import start_png_session

        launch = concurrent.futures.ThreadPoolExecutor(1).submit(start_png_session, 1)
    figs = figures(results)
    for name, fig in tqdm(figs.items(), desc="figures", disable=args.no_progress, leave=False):
        fig.write_html(out / "figures" / f"{name}.html", include_plotlyjs=True, full_html=True)
    results.timings["figures_html"] = time.perf_counter() - t0
    png_ok, png_why = [], "--no-png"
    if launch is not None:
        t0 = time.perf_counter()
        png_ok, png_why = write_pngs(figs, out / "figures", launched=launch)
        results.timings["figures_png"] = time.perf_counter() - t0  # what is left after the HTML files

    t1_header = ["field", "value", "why (ours: the paper's values are unknown)"]
    t1_rows = protocol.table()
    (out / "table1_protocol.md").write_text(
        "# Table 1: GaugeLab's protocol (our constants, not the paper's)\n\n" + _table_md(t1_header, t1_rows),
        encoding="utf-8",
    )
    _write_csv(out / "table1_protocol.csv", t1_header, t1_rows)
    h2, r2, hi, ri = table2(results)
    claim_rows = experiments.claims(results)
    hc, rc = experiments.claims_table(claim_rows)
    (out / "table2_results.md").write_text(
        "# Table 2: results under our protocol\n\n"
        f"Edges: per seed, the largest η of the grid with every smaller η fitted and stable (τ = "
        f"{protocol.fit_tau:g}) or only not diverged; paired: mean difference to the baseline [bootstrap 95 "
        "% "
        "CI], wider/equal/narrower seeds. Loss and validation MSE at η = lr_ref over fitted seeds; "
        "interpolation = validation points inside the training range.\n\n"
        + _table_md(h2, r2)
        + "\n"
        + _table_md(hi, ri)
        + f"\n{results.invariance.model_description}; {results.invariance.n_inputs} inputs; "
        f"log α ~ U[{protocol.invariance_log_alpha[0]:g}, {protocol.invariance_log_alpha[1]:g}].\n\n"
        "## Verdicts\n\n" + _table_md(hc, rc),
        encoding="utf-8",
    )
    _write_csv(out / "table2_results.csv", h2, r2)
    _write_csv(out / "table2_invariance.csv", hi, ri)
    _write_csv(out / "claims.csv", hc, rc)

    results.timings["total"] = time.perf_counter() - t_start
    data = experiments.results_dict(results)
    data["png_figures"] = png_ok
    data["threads"] = args.threads
    (out / "results.json").write_text(
        json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8"
    )

    print("\nVerdicts (our protocol; the paper's constants are unknown):")
    for c in data["claims"]:
        if c["setting"] == "overall":
            print(f"- {c['claim']}: {c['verdict']}")
    print("\nPer setting:")
    for c in data["claims"]:
        if c["setting"] != "overall":
            print(f"- {c['verdict']}: {c['claim']} [{c['setting']}]\n    {c['evidence']}")
    png_note = f"{len(png_ok)} PNG" if png_ok else f"no PNG ({png_why})"
    t = results.timings
    print(
        f"\nWrote {len(figs)} HTML figures ({png_note}), tables 1-2 and the verdicts (md, csv) and "
        "results.json "
        f"to {out}/ in {t['total']:.1f} s (training {t['training']:.1f} s, mechanism "
        f"{t.get('mechanism', 0):.1f} s"
        + (f", regime map {t['regimes']:.1f} s" if "regimes" in t else "")
        + (f", PNG {t['figures_png']:.1f} s" if "figures_png" in t else "")
        + ")."
    )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaugelab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="regenerate the paper's figures and tables (our protocol)")
    rep.add_argument("--out", default="reproduce-out", help="output directory (default: reproduce-out/)")
    rep.add_argument("--quick", action="store_true", help="the small CI protocol (gaugelab.protocol.quick)")
    rep.add_argument("--regimes", action="store_true", help="also the regime map (slow: minutes)")
    rep.add_argument("--seeds", type=int, default=None, help="number of initialisation seeds")
    rep.add_argument("--device", default=None, help="torch device for the GD ensembles, e.g. cuda")
    rep.add_argument("--threads", type=_threads, default="auto", help="torch CPU threads (default: auto)")
    rep.add_argument("--no-png", action="store_true", help="skip the static PNG export")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds: expected a positive integer")
    if args.command == "reproduce":
        try:
            return reproduce(args)
        except UsageError as err:
            print(f"{parser.prog} reproduce: error: {err}", file=sys.stderr)
            return 2
    return 2


def _exit(rc: int) -> None:
    """End the command without the interpreter's teardown: every file is written and closed by now,
    and unloading torch, numba and sympy took about 1 s of each run here (measured: 1.0-1.2 s between
    the last output and the process's end). The PNG browser is stopped first."""
    from gaugelab.display import stop_png_session

    stop_png_session()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


if __name__ == "__main__":
    _exit(main())
