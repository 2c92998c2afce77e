"""Real use in a real browser: every course notebook in JupyterLab, driven by Chromium (Playwright).

One JupyterLab server for the session (127.0.0.1, random port and token, root = the repository, an
isolated Jupyter environment with binder/overrides.json applied and autosave off), run from the
Binder environment (tests/browser/binder_env.py) under the network guard: a notebook's run also
fails if its kernel tried to reach a non-loopback address or did not load the guard. This is the
second and last execution of each notebook per test session (the first: nbval). For every
notebooks/NN_*.ipynb present at run time: restart the kernel and run all; no traceback; every widget
and plotly output renders; no widget error text and no JavaScript error; in every widget output the
first slider is moved with the keyboard and by dragging, further sliders with the keyboard, and the
readout and the widget's figure must change. Screenshots: artifacts/browser/<notebook>/.
The static site is checked in tests/test_static_site.py. Chromium missing = failure with the command
that installs it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time

import nbformat
import pytest
from browser import kernels, lab, rapid

REPO = lab.REPO
NOTEBOOKS = lab.notebooks()
ART = REPO / "artifacts" / "browser"


def guard_problems(new: list[dict]) -> list[str]:
    """Problems in the guard records a notebook's run added: a refused network attempt, or no kernel
    that logged its start under the guard (then the run was not guarded at all)."""
    problems = [
        f"network access attempted: {r['kind']} {r['target']} by {r['argv']}\n{''.join(r['stack'][-4:])}"
        for r in new
        if r["kind"] != kernels.LOADED
    ]
    if not any(r["kind"] == kernels.LOADED and "ipykernel" in " ".join(r["argv"]) for r in new):
        problems.append("no kernel started under the network guard for this notebook")
    return problems


def test_guard_problems_are_reported():
    """Negative controls for guard_problems: a refusal and an unguarded run are both reported."""
    argv = ["/x/ipykernel_launcher.py", "-f"]
    kernel = {"kind": kernels.LOADED, "argv": argv, "target": "None", "stack": []}
    refusal = {"kind": "connect", "argv": argv, "target": "('1.2.3.4', 443)", "stack": []}
    assert guard_problems([kernel]) == []
    assert any("1.2.3.4" in p for p in guard_problems([kernel, refusal]))
    assert guard_problems([]) == ["no kernel started under the network guard for this notebook"]


def committed_counts(path) -> dict:
    """Widget and plotly outputs in the committed notebook: lower bounds for the live run."""
    nb = nbformat.read(path, as_version=4)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return {
        "widget_outputs": sum(lab.WIDGET_MIME in o.get("data", {}) for o in outs),
        "plotly_outputs": sum(lab.PLOTLY_MIME in o.get("data", {}) for o in outs),
    }


def run_in_lab(browser, server, nb_rel: str, out_dir, expected=None, rapid_inputs=False) -> dict:
    """lab.check_notebook on a new page; with ``rapid_inputs`` then, on the same page and kernel,
    rapid.check_page (result in res["rapid"], with the JavaScript errors raised during it)."""
    page = browser.new_page()
    page.set_default_timeout(60_000)
    plog = lab.PageLog(page)
    try:
        res = lab.check_notebook(page, server, nb_rel, out_dir, expected=expected)
        if rapid_inputs:
            res["rapid"] = {"problems": ["the notebook did not run in JupyterLab"], "widgets": []}
            if "sliders" in res["timings_s"]:
                n_js = len(plog.js_errors())
                t0 = time.time()
                res["rapid"] = rapid.check_page(page)
                res["rapid"]["seconds"] = round(time.time() - t0, 1)
                res["rapid"]["problems"] += [f"JavaScript error: {e}" for e in plog.js_errors()[n_js:]]
    except Exception as exc:  # a Playwright timeout etc.: keep a picture of it
        res = {"problems": [f"{type(exc).__name__}: {str(exc)[:1500]}"], "notes": [], "timings_s": {}}
        if rapid_inputs:
            res["rapid"] = {"problems": res["problems"], "widgets": []}
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


_RUNS: dict[str, dict] = {}


def notebook_run(nb_path, lab_server, browser) -> tuple[dict, bool]:
    """One browser run per notebook and session (the check, then the rapid inputs on the same kernel),
    shared by test_notebook_in_jupyterlab and test_rapid_inputs. Returns (result, notebook unchanged)."""
    rel = nb_path.relative_to(REPO).as_posix()
    if rel not in _RUNS:
        digest = hashlib.sha256(nb_path.read_bytes()).hexdigest()
        out_dir = ART / nb_path.stem
        out_dir.mkdir(parents=True, exist_ok=True)
        seen = len(kernels.log_records(lab_server.guard_log))
        res = run_in_lab(
            browser, lab_server, rel, out_dir, expected=committed_counts(nb_path), rapid_inputs=True
        )
        res["problems"] += guard_problems(kernels.log_records(lab_server.guard_log)[seen:])
        _RUNS[rel] = (res, hashlib.sha256(nb_path.read_bytes()).hexdigest() == digest)
    return _RUNS[rel]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(nb_path, lab_server, browser, report):
    rel = nb_path.relative_to(REPO).as_posix()
    out_dir = ART / nb_path.stem
    res, unchanged = notebook_run(nb_path, lab_server, browser)
    st = res.get("state", {})
    moves = res.get("moves", [])
    report(
        f"browser {nb_path.stem}: run-all {res['timings_s'].get('restart_run_all', '?')} s, "
        f"check total {res['timings_s'].get('total', '?')} s; "
        f"widget outputs {st.get('widget_outputs', '?')}, "
        f"plots {st.get('plots', '?')}, slider moves {len(moves)}"
        + (f", notes: {len(res['notes'])}" if res["notes"] else "")
    )
    assert unchanged, "the browser run modified the notebook"
    assert not res["problems"], f"{rel} (screenshots in {out_dir}):\n" + "\n".join(res["problems"])


WIDGET_NOTEBOOKS = [p for p in NOTEBOOKS if committed_counts(p)["widget_outputs"]]


@pytest.mark.parametrize("nb_path", WIDGET_NOTEBOOKS, ids=[p.stem for p in WIDGET_NOTEBOOKS])
def test_rapid_inputs(nb_path, lab_server, browser, report):
    """50 rapid inputs at every widget output (tests/browser/rapid.py): the kernel settles within
    rapid.SETTLE_S s, stays the same live process, and the final state is the last input's."""
    res, _ = notebook_run(nb_path, lab_server, browser)
    rr = res["rapid"]
    fired = [w for w in rr["widgets"] if w.get("inputs")]
    report(
        f"rapid {nb_path.stem}: {rr.get('seconds', '?')} s, "
        + ", ".join(f"{w['widget']}: {w['inputs']} inputs, {w.get('settle_ms', '?')} ms" for w in fired)
    )
    assert not rr["problems"], "\n".join(rr["problems"])
    assert fired, f"no widget control received an input in {nb_path.name}"


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


RAPID_SELFTEST = '''
import os, queue, signal, threading, time
import ipywidgets as w
import plotly.graph_objects as go


def app(kind):
    """good: draws every value; lossy: draws a value only after 0.5 s without input (so of a fast
    series only its first value is drawn, and the series' last value is lost); backlog: every
    value queued to a worker thread that needs 0.5 s per value (ipywidgets' own message throttle
    cannot coalesce those)."""
    s = w.FloatSlider(value=0, min=0, max=100, step=1, description=kind)
    f = go.FigureWidget(go.Scatter(x=[0, 1], y=[0, 0]))
    h = w.HTML("value 0")
    last = [0.0]
    todo = queue.Queue()

    def draw(v):
        f.data[0].y = [0, v]
        h.value = f"value {v}"

    def worker():
        while True:
            v = todo.get()
            time.sleep(0.5)
            draw(v)

    def on(ch):
        if kind == "lossy":
            now, before = time.time(), last[0]
            last[0] = now
            if now - before < 0.5:
                return
        if kind == "backlog":
            todo.put(ch["new"])
            return
        draw(ch["new"])

    if kind == "backlog":
        threading.Thread(target=worker, daemon=True).start()
    s.observe(on, names="value")
    return w.VBox([s, f, h])
---
app("good")
---
app("lossy")
---
app("backlog")
---
clicks = [0]
b = w.Button(description="crash on the 5th click")
def crash(_b):
    clicks[0] += 1
    if clicks[0] == 5:
        os.kill(os.getpid(), signal.SIGSEGV)
b.on_click(crash)
b
'''


def test_rapid_check_catches_lost_updates_backlogs_and_crashes(lab_server, browser):
    """Negative control for test_rapid_inputs: a throttle that loses the last value, a backlog and a
    kernel crash must each be reported, and the widget that draws every value must not be."""
    folder = REPO / "build" / "browser-selftest"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "98_rapid.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in RAPID_SELFTEST.split("---")]
    nbformat.write(nb, path)
    out_dir = ART / "_selftest_rapid"
    out_dir.mkdir(parents=True, exist_ok=True)
    res = run_in_lab(browser, lab_server, path.relative_to(REPO).as_posix(), out_dir, rapid_inputs=True)
    problems = res["rapid"]["problems"]
    text = "\n".join(problems)
    assert not [p for p in problems if p.startswith("widget output 0 ")], text
    assert re.search(r"widget output 1 .*(last input was lost|after away/back)", text), text
    # a backlog drawing old values every 0.5 s: not settled, or settled in a gap on an old value
    assert re.search(r"widget output 2 .*(not settled within|differ from what the same value)", text), text
    assert re.search(r"widget output 3 .*(kernel restarted|does not answer)", text), text
