"""A JupyterLab server in an isolated Jupyter environment, Chromium via Playwright, notebook checks.

Turned from the single-notebook script ``browser_check.py`` (STACK.md §3) into reusable pieces:

* :func:`isolated_jupyter_env` — temporary JUPYTER_CONFIG/DATA/RUNTIME dirs, user settings,
  workspaces and IPYTHONDIR, plus an app-settings dir holding ``binder/overrides.json`` (and
  autosave off, so the browser never writes a notebook); ``~/.jupyter`` is never touched.
* :class:`LabServer` — ``python -m jupyterlab`` on 127.0.0.1, a random port and a random token.
* :func:`chromium_context` — Debian's Chromium (never ``playwright install``), a throw-away profile,
  every name except localhost unresolvable, so nothing leaves the machine.
* :func:`check_notebook` — open a notebook, clear outputs, restart the kernel and run all, check
  that every cell ran without a traceback, that every widget and plotly output rendered (no text
  fallback, no "Error displaying widget"), then move sliders (keyboard and drag) and check that the
  readout and the widget's figure change. Screenshots go to ``out_dir``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GAUGELAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium"

# Root, sandbox-less, offline machine; without the background-networking / component-update / sync
# flags Chromium keeps trying to reach Google hosts. Every host name except localhost resolves to
# nothing, so a page that tries to load something from the internet fails fast (and is recorded).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]

# Text that means a widget or an output failed to render.
ERROR_TEXTS = [
    "Error displaying widget",
    "model not found",
    "Failed to load model class",
    "Error rendering output",
    "Could not render content",
    "Javascript Error",
    "Click to show javascript error",
]
# A widget / gaugelab plotly bundle shown as its text/plain fallback = its renderer is missing.
TEXT_FALLBACK = re.compile(
    r"^\s*(<plotly figure:|(VBox|HBox|Box|GridBox|Tab|Accordion|Stack|FloatSlider|IntSlider|"
    r"FloatLogSlider|SelectionSlider|FigureWidget|Output|interactive)\()"
)
# Browser console errors known to be harmless (STACK.md §3).
HARMLESS_CONSOLE = [re.compile(r"Could not restore the debugger state")]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
NB_SEL = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
# Top-level outputs of code cells (an ipywidgets Output widget nests its own output area). JupyterLab
# 4 marks text outputs with data-mime-type but not widget or plotly outputs: a widget output is the
# widget manager's Panel, a plotly output the jupyterlab-plotly renderer.
TOP_OUT = f"{NB_SEL} .jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output"
#: the window every app must fit (issue 11 §4)
FIT = (1400, 900)
WIDGET_OUT_SEL = f"{TOP_OUT}.lm-Panel, {TOP_OUT}:has(> .jupyter-widgets)"
PLOTLY_OUT_SEL = f"{TOP_OUT}.jp-RenderedPlotly"


def notebooks() -> list[Path]:
    """The course notebooks present now: notebooks/NN_*.ipynb, sorted."""
    return sorted(REPO.glob("notebooks/[0-9][0-9]_*.ipynb"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------
# Isolated Jupyter environment and the server
# ------------------------------------------------------------------------------------------------
def lab_overrides() -> dict:
    """binder/overrides.json (no news pop-up, widget outputs kept rendered while scrolling) plus
    autosave off: the browser tests run notebooks in place and must never save them."""
    overrides = json.loads((REPO / "binder" / "overrides.json").read_text())
    overrides.setdefault("@jupyterlab/docmanager-extension:plugin", {})["autosave"] = False
    return overrides


def isolated_jupyter_env(base: Path, python: str = sys.executable) -> tuple[dict, Path]:
    """Environment variables pointing every per-user Jupyter/IPython directory into ``base``.

    Returns (env, app_settings_dir). The app-settings dir is a copy of the interpreter's
    ``share/jupyter/lab/settings`` with our ``overrides.json``.
    """
    base.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "user-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (base / sub).mkdir(exist_ok=True)
        env[var] = str(base / sub)
    env.pop("JUPYTER_TOKEN", None)
    env["PYTHONUNBUFFERED"] = "1"
    prefix = Path(
        subprocess.run(
            [python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True
        ).stdout.strip()
    )
    app_settings = base / "app-settings"
    src = prefix / "share" / "jupyter" / "lab" / "settings"
    if src.is_dir():
        shutil.copytree(src, app_settings, dirs_exist_ok=True)
    app_settings.mkdir(exist_ok=True)
    (app_settings / "overrides.json").write_text(json.dumps(lab_overrides(), indent=2))
    return env, app_settings


class LabServer:
    """``python -m jupyterlab`` on 127.0.0.1 with a random token; stop() ends it by its PID."""

    def __init__(self, root: Path, workdir: Path, python: str = sys.executable, env_extra=None):
        self.root, self.workdir, self.python = Path(root), Path(workdir), python
        self.env, self.app_settings = isolated_jupyter_env(self.workdir / "jupyter", python)
        self.env.update(env_extra or {})
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logfile = self.workdir / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None
        self.startup_s = float("nan")

    def start(self, timeout: float = 120) -> LabServer:
        cmd = [
            self.python, "-m", "jupyterlab", "--no-browser",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", f"--LabApp.app_settings_dir={self.app_settings}",
            f"--FileCheckpoints.root_dir={self.workdir / 'checkpoints'}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        t0 = time.time()
        self.proc = subprocess.Popen(
            cmd, stdout=open(self.logfile, "w"), stderr=subprocess.STDOUT, env=self.env, cwd=self.root
        )
        end = t0 + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(Exception):
                if self.get("/api/status")[0] == 200:
                    self.startup_s = time.time() - t0
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"JupyterLab did not come up; log:\n{self.logfile.read_text()[-3000:]}")

    def request(self, method: str, path: str, token: bool = True) -> tuple[int, object]:
        headers = {"Authorization": f"token {self.token}"} if token else {}
        req = urllib.request.Request(self.base + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = r.read()
                return r.status, (json.loads(body) if body else None)
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def get(self, path: str, token: bool = True) -> tuple[int, object]:
        return self.request("GET", path, token)

    def shutdown_sessions(self, nb_path: str | None = None) -> None:
        status, sessions = self.get("/api/sessions")
        for sess in sessions or []:
            if nb_path is None or sess.get("path", "").lstrip("/") == nb_path.lstrip("/"):
                self.request("DELETE", f"/api/sessions/{sess['id']}")

    def kernel_ready(self, nb_path: str) -> bool:
        """True when the notebook's kernel exists, is idle and has a client connected."""
        for sess in self.get("/api/sessions")[1] or []:
            kernel = sess.get("kernel") or {}
            if sess.get("path", "").lstrip("/") == nb_path.lstrip("/"):
                return kernel.get("execution_state") == "idle" and kernel.get("connections", 0) > 0
        return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(Exception):
            self.shutdown_sessions()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


# ------------------------------------------------------------------------------------------------
# Chromium
# ------------------------------------------------------------------------------------------------
class ChromiumMissing(RuntimeError):
    pass


@contextlib.contextmanager
def chromium_context(viewport=(1400, 1000)):
    """A Playwright persistent context on the system Chromium with a fresh temporary profile."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        raise ChromiumMissing(
            f"Chromium not found at {CHROMIUM}. Install Debian's Chromium: `{CHROMIUM_INSTALL}` "
            "(do not run `playwright install`), or set GAUGELAB_CHROMIUM to its path."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is pinned in requirements.txt
        raise ChromiumMissing(
            f"playwright is not installed ({exc}): pip install -r requirements.txt"
        ) from exc
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )
        try:
            yield ctx
        finally:
            ctx.close()


class PageLog:
    """Console errors, page errors and requests that leave the machine, recorded for one page."""

    LOCAL = re.compile(r"^(https?://(127\.0\.0\.1|localhost)(:\d+)?/|data:|blob:|about:|file:)")

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.external_requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)[:500]))
        page.on("request", self._request)

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.console_errors.append(msg.text[:500])

    def _request(self, req) -> None:
        if not self.LOCAL.match(req.url):
            self.external_requests.append(req.url[:300])

    def js_errors(self) -> list[str]:
        harmful = [e for e in self.console_errors if not any(h.search(e) for h in HARMLESS_CONSOLE)]
        return [f"pageerror: {e}" for e in self.page_errors] + harmful


# ------------------------------------------------------------------------------------------------
# Notebook checks
# ------------------------------------------------------------------------------------------------
STATE_JS = r"""([nbSel, widgetSel, plotlySel]) => {
  const nb = document.querySelector(nbSel);
  if (!nb) return null;
  const prompts = [...nb.querySelectorAll('.jp-CodeCell')]
      .map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').trim());
  const outs = [...nb.querySelectorAll('.jp-OutputArea-output')];
  const mime = m => outs.filter(o => o.dataset.mimeType === m);
  const stderr = mime('application/vnd.jupyter.stderr').map(e => e.textContent);
  const TB = /Traceback \(most recent call last\)|^-{20,}|Cell In\[\d+\], line \d+/m;
  const widgets = [...document.querySelectorAll(widgetSel)];
  const plotly = [...document.querySelectorAll(plotlySel)];
  const plots = [...nb.querySelectorAll('.js-plotly-plot')];
  return {
    prompts,
    kernel: document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status || null,
    widget_outputs: widgets.length,
    widget_outputs_rendered: widgets.filter(o => o.querySelector('.jupyter-widgets')).length,
    widget_error_boxes: nb.querySelectorAll('.jupyter-widgets-error-widget').length,
    plotly_outputs: plotly.length,
    plotly_outputs_rendered: plotly.filter(o => o.querySelector('.main-svg')).length,
    plots: plots.length,
    plots_rendered: plots.filter(p => p.querySelector('.main-svg')).length,
    sliders: nb.querySelectorAll('.widget-slider').length,
    text_plain: mime('text/plain').map(o => o.textContent.slice(0, 200)),
    // JupyterLab 4 renders tracebacks with the stderr mime type, like warnings: tell them by text.
    tracebacks: stderr.filter(t => TB.test(t)).map(t => t.slice(0, 1500)),
    warnings: stderr.filter(t => !TB.test(t)).map(t => t.slice(0, 300)),
    details: [...nb.querySelectorAll('.jp-MarkdownOutput details')].map(d => d.open),
    text: [...nb.querySelectorAll('.jp-OutputArea')].map(o => o.innerText).join('\n'),
  };
}"""

# Fingerprint of one widget output: a hash of every plotly plot's data paths/images and texts
# (titles, ticks, annotations), marker positions (plotly moves a marker by its transform, not its
# path), shapes, and the widget's visible text (readouts, labels).
WIDGET_FP_JS = r"""([sel, i, skipSlider]) => {
  const h = s => { let x = 5381; for (let k = 0; k < s.length; k++) x = ((x << 5) + x + s.charCodeAt(k)) | 0;
                   return (x >>> 0).toString(16) + ':' + s.length; };
  const o = document.querySelectorAll(sel)[i];
  if (!o) return null;
  const plots = [...o.querySelectorAll('.js-plotly-plot')].map(p => h(
      [...p.querySelectorAll('.main-svg .plot path, .main-svg .plot image, .main-svg .plot text, ' +
                             '.main-svg .shapelayer path')]
        .map(e => (e.getAttribute('d') || e.getAttribute('href') || e.textContent || '') +
                  (e.getAttribute('transform') || '')).join('|') + '#' +
      [...p.querySelectorAll('.main-svg text')].map(e => e.textContent).join('|')));
  const clone = o.cloneNode(true);
  if (skipSlider !== null) clone.querySelectorAll('.widget-slider')[skipSlider]?.remove();
  const texts = [...clone.querySelectorAll('.widget-html-content, .widget-label, .widget-readout, ' +
      '.jp-OutputArea-output pre, .widget-text input, .widget-valid')]
      .filter(e => !e.closest('.js-plotly-plot')).map(e => e.textContent || e.value || '');
  return {plots: plots.join(','), text: h(texts.join('|'))};
}"""

SLIDER_JS = r"""([sel, i, j]) => {
  const s = document.querySelectorAll(sel)[i]?.querySelectorAll('.widget-slider')[j];
  if (!s) return null;
  const hd = s.querySelector('.noUi-handle');
  const num = a => (hd && hd.getAttribute(a) !== null) ? parseFloat(hd.getAttribute(a)) : null;
  return {readout: s.querySelector('.widget-readout')?.textContent?.trim() ?? null,
          vertical: s.classList.contains('widget-vslider'),
          label: s.querySelector('.widget-label')?.textContent || '',
          now: num('aria-valuenow'), min: num('aria-valuemin'), max: num('aria-valuemax')};
}"""


def open_notebook(page, server: LabServer, nb_rel: str, pause_ms: int = 500) -> None:
    """Open ``nb_rel`` (relative to the server root) in a fresh workspace and wait until its
    notebook panel is shown and its kernel is idle with a client connected (up to 60 s each)."""
    page.goto(f"{server.base}/lab/tree/{nb_rel}?reset&token={server.token}")
    page.wait_for_selector(NB_SEL, timeout=60_000)
    end = time.time() + 60
    while time.time() < end and not server.kernel_ready(nb_rel):
        time.sleep(0.2)
    page.wait_for_timeout(pause_ms)


def _wait(page, js: str, arg=None, timeout_ms: int = 60_000, polling=200) -> bool:
    from playwright.sync_api import TimeoutError as PWTimeout

    try:
        page.wait_for_function(js, arg=arg, timeout=timeout_ms, polling=polling)
        return True
    except PWTimeout:
        return False


def _wait_settled(page, i: int, quiet_s: float = 0.4, max_s: float = 8.0) -> bool:
    """Poll widget output i's fingerprint until it has not changed for quiet_s seconds."""
    end, last, since = time.time() + max_s, None, time.time()
    while time.time() < end:
        fp = page.evaluate(WIDGET_FP_JS, [WIDGET_OUT_SEL, i, None])
        if fp != last:
            last, since = fp, time.time()
        elif time.time() - since >= quiet_s:
            return True
        page.wait_for_timeout(80)
    return False


def _move_slider(page, i: int, j: int, mode: str, timeout_ms: int = 15_000) -> dict:
    """Move slider j of widget output i by one key press or a mouse drag; report what changed."""
    slider = page.locator(WIDGET_OUT_SEL).nth(i).locator(".widget-slider").nth(j)
    handle = slider.locator(".noUi-handle").first
    info = page.evaluate(SLIDER_JS, [WIDGET_OUT_SEL, i, j])
    # Move towards the side with room (a slider parked at its maximum cannot go right).
    up = True
    if info["now"] is not None and info["max"] is not None and info["min"] is not None:
        up = (info["max"] - info["now"]) >= (info["now"] - info["min"])
    fp0 = page.evaluate(WIDGET_FP_JS, [WIDGET_OUT_SEL, i, j])
    t0 = time.time()
    if mode == "keyboard":
        handle.focus()
        page.keyboard.press("ArrowRight" if up else "ArrowLeft")
    else:
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        dx, dy = (0, -60 if up else 60) if info["vertical"] else (60 if up else -60, 0)
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx, y + dy, steps=8)
        page.mouse.up()
    changed = _wait(
        page,
        "([sel, i, j, before]) => { const f = (" + WIDGET_FP_JS + ")([sel, i, j]);"
        " return JSON.stringify(f) !== before; }",
        arg=[WIDGET_OUT_SEL, i, j, json.dumps(fp0)],
        timeout_ms=timeout_ms,
        polling="raf",
    )
    first_change_s = time.time() - t0
    settled = _wait_settled(page, i)
    fp1 = page.evaluate(WIDGET_FP_JS, [WIDGET_OUT_SEL, i, j])
    after = page.evaluate(SLIDER_JS, [WIDGET_OUT_SEL, i, j])
    return {
        "slider": f"{info['label']}".strip() or f"#{j}",
        "mode": mode,
        "readout_before": info["readout"],
        "readout_after": after["readout"],
        "readout_changed": after["readout"] != info["readout"],
        "has_plot": bool(fp0["plots"]),
        "plot_changed": fp1["plots"] != fp0["plots"],
        "other_text_changed": fp1["text"] != fp0["text"],
        "changed_within_s": round(first_change_s, 3) if changed else None,
        "settled": settled,
    }


def check_notebook(
    page,
    server: LabServer,
    nb_rel: str,
    out_dir: Path,
    run_timeout_s: float = 180,
    expected: dict | None = None,
) -> dict:
    """Run ``nb_rel`` (path relative to the server root) in JupyterLab and check it; see module doc.

    Returns {"problems": [...], "notes": [...], "timings_s": {...}, "state": {...}, "moves": [...]}.
    An empty "problems" list means every check passed. ``expected`` may give lower bounds
    {"widget_outputs": n, "plotly_outputs": n} taken from the notebook's committed outputs.
    """
    import re as _re

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):
        old.unlink()
    res: dict = {"problems": [], "notes": [], "timings_s": {}, "moves": []}
    problems = res["problems"]
    t_all = time.time()

    t0 = time.time()
    page.goto(f"{server.base}/lab/tree/{nb_rel}?reset&token={server.token}")
    page.wait_for_selector(NB_SEL, timeout=60_000)
    # A notebook without kernel metadata asks which kernel to use: a problem, but go on.
    page.wait_for_timeout(500)
    if page.locator(".jp-Dialog").count():
        problems.append(
            f"a dialog appeared on opening: {page.locator('.jp-Dialog').first.inner_text()[:200]!r}"
        )
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
    # The toolbar says "idle" before the kernel exists: wait for the server-side session too.
    end = time.time() + 60
    while time.time() < end and not server.kernel_ready(nb_rel):
        time.sleep(0.2)
    if not _wait(
        page, "() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'"
    ):
        problems.append("kernel never became idle after opening the notebook")
        return res
    res["timings_s"]["open"] = round(time.time() - t0, 2)
    if page.locator(".Toastify__toast").count():
        res["notes"].append(
            "a notification toast was shown: " + page.locator(".Toastify__toast").first.inner_text()
        )

    # Edit > Clear Outputs of All Cells: stored outputs must not satisfy the checks.
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name=_re.compile(r"^Clear Outputs of All Cells")).click()
    page.evaluate("""() => { window.__sawBusy = false;
      new MutationObserver(() => { if ([...document.querySelectorAll('.jp-InputPrompt')]
          .some(p => p.textContent.includes('*'))) window.__sawBusy = true; })
      .observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    t0 = time.time()
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name=_re.compile(r"^Restart Kernel and Run All Cells")).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    done = _wait(
        page,
        """() => { const ps = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                   .map(p => p.textContent.trim());
          const idle = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle';
          return window.__sawBusy && idle && !ps.some(p => p.includes('*')); }""",
        timeout_ms=int(run_timeout_s * 1000),
    )
    res["timings_s"]["restart_run_all"] = round(time.time() - t0, 2)
    if not done:
        problems.append(f"restart + run all did not finish within {run_timeout_s} s")
        page.screenshot(path=str(out_dir / "99_timeout.png"))
        return res

    # Widgets and plots render asynchronously after the kernel is idle.
    t0 = time.time()
    rendered = _wait(
        page,
        """([sel, ws, ps]) => { const nb = document.querySelector(sel);
          const w = [...document.querySelectorAll(ws)];
          const p = [...nb.querySelectorAll('.js-plotly-plot')];
          const ok = o => o.querySelector('.jupyter-widgets, .jupyter-widgets-error-widget');
          return w.every(ok)
              && p.every(x => x.querySelector('.main-svg')); }""",
        arg=[NB_SEL, WIDGET_OUT_SEL, PLOTLY_OUT_SEL],
        timeout_ms=30_000,
    )
    # jupyterlab-plotly shows the PNG first and draws the interactive plot once the output is on
    # screen: scroll to each one, as a reader would, and wait for its SVG.
    # The first figure of a fresh page can miss its first chance (plotly.js is still loading):
    # scroll away and back, up to three times, before calling it undrawn.
    plotly_outs = page.locator(PLOTLY_OUT_SEL)
    for k in range(plotly_outs.count()):
        out = plotly_outs.nth(k)
        for attempt in range(3):
            try:
                out.scroll_into_view_if_needed(timeout=5_000)
                out.locator(".main-svg").first.wait_for(state="attached", timeout=10_000)
                break
            except Exception:
                if attempt == 2:
                    with contextlib.suppress(Exception):
                        out.screenshot(path=str(out_dir / f"98_undrawn_plotly_{k}.png"))
                page.mouse.wheel(0, -600)
                page.wait_for_timeout(300)
    page.wait_for_timeout(300)
    res["timings_s"]["render_after_idle"] = round(time.time() - t0, 2)
    st = page.evaluate(STATE_JS, [NB_SEL, WIDGET_OUT_SEL, PLOTLY_OUT_SEL])
    res["state"] = {k: v for k, v in st.items() if k != "text"}
    if not rendered:
        problems.append("widgets/plots still unrendered 30 s after the run finished")

    not_run = [k for k, p in enumerate(st["prompts"]) if not _re.fullmatch(r"\[\d+\]:", p)]
    if not_run:
        problems.append(f"code cells not executed (cell index among code cells): {not_run}")
    for tb in st["tracebacks"]:
        problems.append(f"error output: {tb[:800]}")
    found = [t for t in ERROR_TEXTS if t.lower() in st["text"].lower()]
    if found or st["widget_error_boxes"]:
        problems.append(f"widget error shown: texts {found}, error boxes {st['widget_error_boxes']}")
    fallbacks = [t for t in st["text_plain"] if TEXT_FALLBACK.match(t)]
    if fallbacks:
        problems.append(f"outputs shown as text fallback (renderer missing): {fallbacks}")
    if st["widget_outputs_rendered"] < st["widget_outputs"]:
        problems.append(f"{st['widget_outputs'] - st['widget_outputs_rendered']} widget output(s) empty")
    if st["plots_rendered"] < st["plots"]:
        problems.append(f"{st['plots'] - st['plots_rendered']} plotly plot(s) without an SVG")
    if st["plotly_outputs_rendered"] < st["plotly_outputs"]:
        problems.append(f"{st['plotly_outputs'] - st['plotly_outputs_rendered']} plotly output(s) not drawn")
    for key in ("widget_outputs", "plotly_outputs"):
        if expected and st[key] < expected.get(key, 0):
            problems.append(
                f"{key}: the committed notebook has {expected[key]}, the live run showed {st[key]}"
            )
    if st["warnings"]:
        res["notes"].append(f"stderr (warnings) shown: {st['warnings']}")
    if any(st["details"]):
        problems.append("a <details> solution block is open after the run (should start collapsed)")
    page.screenshot(path=str(out_dir / "01_after_run_all.png"))

    # Sliders: in every widget output, the first slider by keyboard and by drag (the main control);
    # every further slider by one key press.
    t0 = time.time()
    for i in range(st["widget_outputs"]):
        n_sliders = page.locator(WIDGET_OUT_SEL).nth(i).locator(".widget-slider").count()
        wout = page.locator(WIDGET_OUT_SEL).nth(i)
        if n_sliders == 0:
            res["notes"].append(f"widget output {i}: no slider")
            continue
        # issue 11 §4: an app's controls, figure and readouts fit a 1400×900 window (JupyterLab's
        # bars take ~120 px of its height)
        box = wout.bounding_box()
        res.setdefault("widget_boxes", []).append([round(box["width"]), round(box["height"])])
        if box["width"] > FIT[0] or box["height"] > FIT[1] - 120:
            problems.append(
                f"widget output {i} is {box['width']:.0f}×{box['height']:.0f} px: it does not fit "
                f"a {FIT[0]}×{FIT[1]} window"
            )
        for j in range(n_sliders):
            for mode in ("keyboard", "drag") if j == 0 else ("keyboard",):
                mv = _move_slider(page, i, j, mode)
                mv["widget"] = i
                res["moves"].append(mv)
                where = f"widget output {i}, slider {mv['slider']!r} ({mode})"
                react = mv["plot_changed"] if mv["has_plot"] else mv["other_text_changed"]
                if j == 0:
                    if not mv["readout_changed"]:
                        problems.append(f"{where}: readout did not change ({mv['readout_before']})")
                    if not react:
                        problems.append(
                            f"{where}: the widget's {'figure' if mv['has_plot'] else 'text'} did not change"
                        )
                elif not (mv["readout_changed"] and (mv["plot_changed"] or mv["other_text_changed"])):
                    res["notes"].append(f"{where}: readout/figure unchanged: {mv}")
        with contextlib.suppress(Exception):
            wout.scroll_into_view_if_needed()
            wout.screenshot(path=str(out_dir / f"02_widget{i:02d}_after_moves.png"))
    res["timings_s"]["sliders"] = round(time.time() - t0, 2)
    res["timings_s"]["total"] = round(time.time() - t_all, 2)
    return res
