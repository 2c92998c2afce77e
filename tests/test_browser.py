"""Real use in a real browser: every course notebook in JupyterLab, driven by Chromium (Playwright).

One JupyterLab server for the session (127.0.0.1, random port and token, root = the repository, an
isolated Jupyter environment with binder/overrides.json applied and autosave off). For every
notebooks/NN_*.ipynb present at run time: restart the kernel and run all; no traceback; every widget
and plotly output renders; no widget error text and no JavaScript error; in every widget output the
first slider is moved with the keyboard and by dragging, further sliders with the keyboard, and the
readout and the widget's figure must change. Screenshots: artifacts/browser/<notebook>/.

The static HTML pages (scripts/build_static.py) are also opened in Chromium: every figure visible,
solutions collapsed. Chromium missing = failure with the command that installs it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re

import nbformat
import pytest
from browser import lab

REPO = lab.REPO
NOTEBOOKS = lab.notebooks()
ART = REPO / "artifacts" / "browser"


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    server = lab.LabServer(REPO, tmp_path_factory.mktemp("jupyterlab")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    cm = lab.chromium_context()
    try:
        ctx = cm.__enter__()
    except lab.ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield ctx
    cm.__exit__(None, None, None)


def committed_counts(path) -> dict:
    """Widget and plotly outputs in the committed notebook: lower bounds for the live run."""
    nb = nbformat.read(path, as_version=4)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return {
        "widget_outputs": sum(lab.WIDGET_MIME in o.get("data", {}) for o in outs),
        "plotly_outputs": sum(lab.PLOTLY_MIME in o.get("data", {}) for o in outs),
    }


def run_in_lab(browser, server, nb_rel: str, out_dir, expected=None) -> dict:
    page = browser.new_page()
    page.set_default_timeout(60_000)
    plog = lab.PageLog(page)
    try:
        res = lab.check_notebook(page, server, nb_rel, out_dir, expected=expected)
    except Exception as exc:  # a Playwright timeout etc.: keep a picture of it
        res = {"problems": [f"{type(exc).__name__}: {str(exc)[:1500]}"], "notes": [], "timings_s": {}}
        page.screenshot(path=str(out_dir / "99_failure.png"))
    finally:
        page.close()
        server.shutdown_sessions(nb_rel)
    res["problems"] += [f"JavaScript error: {e}" for e in plog.js_errors()]
    res["problems"] += [f"request leaving the machine: {u}" for u in plog.external_requests]
    res["console_errors"] = plog.console_errors
    (out_dir / "result.json").write_text(json.dumps(res, indent=1, default=str))
    return res


def test_lab_settings_applied(lab_server):
    """binder/overrides.json is in force (no news pop-up, windowing off) and autosave is off."""
    want = {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
        "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    }
    for plugin, values in want.items():
        status, body = lab_server.get(f"/lab/api/settings/{plugin}")
        assert status == 200
        for key, value in values.items():
            assert body["schema"]["properties"][key]["default"] == value, (plugin, key)
    assert str(lab_server.workdir) in lab_server.env["JUPYTERLAB_SETTINGS_DIR"]
    assert lab_server.get("/api/contents", token=False)[0] == 403


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(nb_path, lab_server, browser, report):
    rel = nb_path.relative_to(REPO).as_posix()
    digest = hashlib.sha256(nb_path.read_bytes()).hexdigest()
    out_dir = ART / nb_path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    res = run_in_lab(browser, lab_server, rel, out_dir, expected=committed_counts(nb_path))
    st = res.get("state", {})
    moves = res.get("moves", [])
    report(
        f"browser {nb_path.stem}: run-all {res['timings_s'].get('restart_run_all', '?')} s, "
        f"check total {res['timings_s'].get('total', '?')} s; "
        f"widget outputs {st.get('widget_outputs', '?')}, "
        f"plots {st.get('plots', '?')}, slider moves {len(moves)}"
        + (f", notes: {len(res['notes'])}" if res["notes"] else "")
    )
    assert hashlib.sha256(nb_path.read_bytes()).hexdigest() == digest, "the browser run modified the notebook"
    assert not res["problems"], f"{rel} (screenshots in {out_dir}):\n" + "\n".join(res["problems"])


BROKEN = """
import ipywidgets as w
import plotly.graph_objects as go
s = w.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.5, description="dead")
w.VBox([s, go.FigureWidget(go.Scatter(y=[1, 2, 3]))])  # the slider is wired to nothing
---
raise ValueError("deliberately broken cell")
"""


def test_browser_check_catches_a_broken_notebook(lab_server, browser):
    """Negative control: a traceback and a slider that moves nothing must both be reported."""
    folder = REPO / "build" / "browser-selftest"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "99_broken.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in BROKEN.split("---")]
    nbformat.write(nb, path)
    out_dir = ART / "_selftest_broken"
    out_dir.mkdir(parents=True, exist_ok=True)
    res = run_in_lab(browser, lab_server, path.relative_to(REPO).as_posix(), out_dir)
    text = "\n".join(res["problems"])
    assert "deliberately broken cell" in text, text
    assert re.search(r"slider 'dead' \(keyboard\): the widget's figure did not change", text), text
    assert "readout did not change" not in text, text


# ------------------------------------------------------------------------------------------------
# Static HTML pages (the export of scripts/build_static.py), looked at in Chromium
# ------------------------------------------------------------------------------------------------
def _build_static():
    spec = importlib.util.spec_from_file_location("build_static", REPO / "scripts" / "build_static.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


STATIC_JS = r"""() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 50 && r.height > 50; };
  const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
  return {
    images: [...document.querySelectorAll('.jp-OutputArea-output img')]
        .map(i => ({ok: i.complete && i.naturalWidth > 0 && visible(i)})),
    plotly_divs: [...document.querySelectorAll('.jp-OutputArea-output .plotly-graph-div')]
        .map(d => ({ok: !!d.querySelector('.main-svg') && visible(d)})),
    fallback_text: outs.map(o => o.textContent).filter(t => /^\s*<plotly figure:/.test(t)),
    widget_notes: document.querySelectorAll('.gaugelab-widget-note').length,
    details: [...document.querySelectorAll('details')].map(d => ({open: d.open,
        hidden: [...d.children].filter(c => c.tagName !== 'SUMMARY').every(c => !c.checkVisibility())})),
  };
}"""


@pytest.fixture(scope="session")
def static_dir(tmp_path_factory):
    """A folder for the static pages, with MathJax installed once (as build_static.py does)."""
    out = tmp_path_factory.mktemp("static")
    url = _build_static().install_mathjax(out)
    assert url, "jupyter-server-mathjax is missing: the static pages could not typeset maths offline"
    return out, url


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_static_page(nb_path, browser, static_dir, report):
    """The committed notebook exported as build_static.py does (no execution): every figure of the
    notebook is visible without a kernel, widgets show a note, solutions are collapsed."""
    build = _build_static()
    nb = nbformat.read(nb_path, as_version=4)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    n_fig = sum(lab.PLOTLY_MIME in o.get("data", {}) for o in outs)
    n_png_only = sum(
        "image/png" in o.get("data", {}) and lab.PLOTLY_MIME not in o.get("data", {}) for o in outs
    )
    n_widgets = sum(lab.WIDGET_MIME in o.get("data", {}) for o in outs)
    n_details = sum(c.source.count("<details") for c in nb.cells if c.cell_type == "markdown")
    out, mathjax_url = static_dir
    page_path = out / f"{nb_path.stem}.html"
    page_path.write_text(build.export_html(nb, mathjax_url=mathjax_url), encoding="utf-8")
    has_math = any("$" in c.source for c in nb.cells if c.cell_type == "markdown")
    page = browser.new_page()
    plog = lab.PageLog(page)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        typeset = 0
        if has_math:  # MathJax (local copy) must typeset the maths: no raw $...$ left for the reader
            page.wait_for_function(
                "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                " && document.querySelectorAll('.MathJax').length > 0",
                timeout=60_000,
            )
            typeset = page.evaluate("() => document.querySelectorAll('.MathJax').length")
        st = page.evaluate(STATIC_JS)
        out_dir = ART / "static"
        out_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out_dir / f"{nb_path.stem}.png"), full_page=True)
        opened = True
        if st["details"]:
            page.locator("details > summary").first.click()
            opened = page.evaluate(
                "() => { const d = document.querySelector('details'); return d.open &&"
                " [...d.children].filter(c => c.tagName !== 'SUMMARY').every(c => c.checkVisibility()); }"
            )
    finally:
        page.close()
    shown = sum(i["ok"] for i in st["images"]) + sum(d["ok"] for d in st["plotly_divs"])
    report(
        f"static {nb_path.stem}: {shown} figures shown of {n_fig} plotly + {n_png_only} png outputs, "
        f"{len(st['details'])} <details> (all collapsed: {not any(d['open'] for d in st['details'])}), "
        f"{page_path.stat().st_size / 1e6:.1f} MB, {typeset} formulas typeset"
    )
    assert shown >= n_fig + n_png_only, st
    assert all(i["ok"] for i in st["images"]) and all(d["ok"] for d in st["plotly_divs"]), st
    assert not st["fallback_text"], st["fallback_text"]
    assert st["widget_notes"] == n_widgets
    assert len(st["details"]) == n_details
    assert all(not d["open"] and d["hidden"] for d in st["details"]), st["details"]
    assert opened, "clicking a solution's summary did not open it"
    # MathJax probes fonts it then does without (the packaged copy has STIX-Web only): those two
    # failed loads are expected; any other failed load or console error is not.
    probes = [u for u in failed if u == "about:blank" or "/mathjax/fonts/" in u]
    assert [u for u in failed if u not in probes] == []
    expected = ("Failed to load resource", "Access to font at 'about:blank'") if probes else ()
    assert [e for e in plog.js_errors() if not e.startswith(expected)] == []
    # MathJax is the local copy: the page fetches nothing from the network.
    assert plog.external_requests == [], plog.external_requests
