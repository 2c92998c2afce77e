#!/usr/bin/env python3
"""Static HTML build of the GaugeLab course: every notebook executed, exported to build/html/.

    .venv/bin/python scripts/build_static.py                 # execute + export all notebooks
    .venv/bin/python scripts/build_static.py --no-execute    # export the committed outputs as they are
    .venv/bin/python scripts/build_static.py --interactive   # interactive plotly (plotly.js inlined)
    .venv/bin/python scripts/build_static.py notebooks/01_rescaling_symmetry.ipynb   # some notebooks only

What the pages show without a kernel:
* every figure: the notebooks display figures as a bundle of plotly JSON + a PNG
  (``gaugelab.display.show``); a page shows the PNG. A figure without a PNG (kaleido could not run)
  is drawn by plotly.js instead, included once per page from the installed plotly package (offline).
  ``--interactive`` draws every figure with plotly.js.
* widgets: a live widget needs a kernel. Its output is replaced by a short note; the widget's static
  figure (``.show_static()``, displayed just before the widget) is on the page.
* solutions stay inside collapsed ``<details>`` blocks (click "Solution" to open).
* math is typeset by MathJax from nbconvert's default CDN when the page is viewed online; offline the
  LaTeX source is shown.

Execution runs each notebook in a fresh kernel of this interpreter with widget state off, and its
wall time (kernel start to last cell) is written to build/html/timings.json and the index page: the
numbers quoted in docs/instructor_guide.md come from here.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    '<div class="gaugelab-widget-note" style="border:1px dashed #999;padding:6px 10px;'
    'color:#555;font-size:0.9em">Interactive widget: it needs a running kernel. Open this notebook in '
    "JupyterLab (locally or on Binder) to use it; its static figure is shown above.</div>"
)


def course_notebooks() -> list[Path]:
    """notebooks/NN_*.ipynb, sorted."""
    return sorted(REPO.glob("notebooks/[0-9][0-9]_*.ipynb"))


def execute(path: Path, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """Run ``path`` top to bottom in a fresh kernel of this interpreter (widget state not stored).

    Returns (executed notebook, wall seconds from kernel start to the end of the last cell).
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="gaugelab-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / "gaugelab-build"
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "gaugelab build",
            "language": "python",
            "env": {"IPYTHONDIR": str(Path(tmp) / "ipython")},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        km = KernelManager(
            kernel_name="gaugelab-build",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir.parent)]),
        )
        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            store_widget_state=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        t0 = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - t0
    return nb, seconds


def _static_outputs(nb: nbformat.NotebookNode, interactive: bool) -> bool:
    """Rewrite outputs for a kernel-less page; True if the page needs plotly.js."""
    import plotly.io as pio

    needs_plotlyjs = False
    nb.metadata.pop("widgets", None)  # no widget state: nbconvert must not pull the widget manager
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            if WIDGET_MIME in data:
                out["data"] = {"text/html": WIDGET_NOTE}
            elif PLOTLY_MIME in data and (interactive or "image/png" not in data):
                fig = dict(data[PLOTLY_MIME])
                div = pio.to_html(
                    fig,
                    include_plotlyjs=False,
                    full_html=False,
                    validate=False,
                    config={"displaylogo": False},
                )
                out["data"] = {"text/html": div}
                needs_plotlyjs = True
    return needs_plotlyjs


MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the configuration jupyter-server-mathjax ships


STIX_CONFIG = (
    '<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS": '
    '{availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web", imageFont: null}});'
    "</script>\n"
)


def install_mathjax(out: Path) -> str | None:
    """Copy MathJax 2 (from the jupyter-server-mathjax package) to ``out/mathjax`` so that pages
    typeset their maths offline; returns the page-relative URL, or None without the package."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dest = out / "mathjax"
    if not (dest / "MathJax.js").exists():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    return f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def export_html(nb: nbformat.NotebookNode, interactive: bool = False, mathjax_url: str | None = None) -> str:
    """The notebook as one HTML page (JupyterLab look); see the module docstring.

    ``mathjax_url``: where the page loads MathJax from (see :func:`install_mathjax`); default
    nbconvert's CDN, which needs the network when the page is viewed.
    """
    import plotly.offline
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    needs_plotlyjs = _static_outputs(nb, interactive)
    exporter = HTMLExporter(template_name="lab", **({"mathjax_url": mathjax_url} if mathjax_url else {}))
    body, _ = exporter.from_notebook_node(nb)
    if mathjax_url:  # the packaged MathJax ships the STIX-Web fonts only: use them, not the TeX fonts
        body = body.replace("</head>", STIX_CONFIG + "</head>", 1)
    # require.js (from a CDN) is only needed by widget / javascript outputs, which a static page has none of.
    body = re.sub(
        r'<script src="https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[^"]*"></script>\s*', "", body
    )
    if needs_plotlyjs:
        js = f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>\n'
        body = body.replace("</head>", js + "</head>", 1)
    return body


def _title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return fallback


def write_index(out: Path, pages: list[tuple[str, str, float | None]]) -> None:
    rows = "\n".join(
        f'<li><a href="{html.escape(name)}">{html.escape(title)}</a>'
        + (f" <small>(executed in {sec:.1f} s)</small>" if sec is not None else "")
        + "</li>"
        for name, title, sec in pages
    )
    out.joinpath("index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>GaugeLab course</title></head>"
        f"<body style='font-family:sans-serif;max-width:50em;margin:2em auto'><h1>GaugeLab course</h1>"
        "<p>Static pages: figures are shown, widgets need JupyterLab or Binder.</p>"
        f"<ol>{rows}</ol></body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "html")
    ap.add_argument("--no-execute", action="store_true", help="export the committed outputs without running")
    ap.add_argument("--interactive", action="store_true", help="draw every figure with plotly.js (offline)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = ap.parse_args(argv)

    paths = args.notebooks or course_notebooks()
    args.out.mkdir(parents=True, exist_ok=True)
    mathjax_url = install_mathjax(args.out)
    if mathjax_url is None:
        print(
            "note: jupyter-server-mathjax is not installed; pages load MathJax from its CDN", file=sys.stderr
        )
    timings_file = args.out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    pages, failed = [], []
    for path in paths:
        path = path.resolve()
        if args.no_execute:
            nb, sec = nbformat.read(path, as_version=4), None
        else:
            try:
                nb, sec = execute(path, args.timeout)
            except Exception as exc:  # report and go on with the other notebooks
                print(f"FAILED  {path.name}: {type(exc).__name__}: {str(exc)[:2000]}", file=sys.stderr)
                failed.append(path.name)
                continue
            timings[path.name] = round(sec, 2)
        page = args.out / f"{path.stem}.html"
        page.write_text(export_html(nb, args.interactive, mathjax_url), encoding="utf-8")
        size = page.stat().st_size / 1e6
        shown = page.relative_to(REPO) if page.is_relative_to(REPO) else page
        secs = "" if sec is None else f"{sec:6.1f} s"
        print(f"{path.name:45s} {secs:>8}  -> {shown} ({size:.1f} MB)")
        pages.append((page.name, _title(nb, path.stem), sec))
    if not args.no_execute:
        timings_file.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    all_pages = sorted(args.out.glob("[0-9][0-9]_*.html"))
    write_index(
        args.out,
        [
            (p.name, next((t for n, t, _ in pages if n == p.name), p.stem), timings.get(p.stem + ".ipynb"))
            for p in all_pages
        ],
    )
    if failed:
        print(f"{len(failed)} notebook(s) failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
