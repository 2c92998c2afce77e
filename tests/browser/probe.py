"""In-page instruments for widget outputs: what the student sees after an input, and when.

Shared by ``benchmarks/widgets_browser.py`` (latency) and ``tests/test_browser.py`` (rapid input).

* :data:`PROBE_JS` installs ``window.__glp``: a capture-phase listener stamping every input event
  (keydown, pointerdown/up, change, click) with its ``event.timeStamp``, a hook on every
  ``.js-plotly-plot`` of the watched widget outputs stamping each drawn change (``plotly_afterplot``
  after a full replot; ``plotly_restyle``/``relayout``/``update``/``animated`` for changes drawn
  without one; events < 8 ms apart count as one redraw) and a MutationObserver that stamps
  every change of a readout (any text in the widget output outside plots and controls). All times
  are ``performance.now()`` milliseconds, the clock of ``event.timeStamp``.
* :func:`settle` waits, in the page, until the kernel is idle and nothing was redrawn or rewritten
  for ``quiet_ms``; it returns the afterplot and readout times since an input.
* :func:`kernel_exec` runs code in the notebook's kernel without touching a cell (JupyterLab must
  expose ``window.jupyterapp``: :func:`expose_app`).
* :func:`controls` lists the controls of one widget output (sliders, dropdowns, buttons, toggle
  buttons, Play), :func:`fingerprint` hashes what it shows (:data:`FP_JS`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from browser import lab

PROBE_JS = r"""([sel]) => {
  const P = window.__glp || (window.__glp = {after: [], readout: [], inputs: [], observed: new WeakSet()});
  P.sel = sel;
  if (!P.listening) {
    P.listening = true;
    for (const type of ['keydown', 'pointerdown', 'pointerup', 'change', 'click'])
      document.addEventListener(type, e => P.inputs.push({type, t: e.timeStamp}), true);
  }
  // a full replot ends with plotly_afterplot; a style- or layout-only change (restyle of opacity,
  // relayout of a shape or the title, FigureWidget's update) is drawn without one and ends with
  // its own event instead
  const DRAWN = ['plotly_afterplot', 'plotly_restyle', 'plotly_relayout', 'plotly_update',
                 'plotly_animated'];
  const CONTROL = '.js-plotly-plot, .widget-slider, .widget-dropdown, .widget-play, .widget-button, '
      + '.widget-toggle-buttons, .noUi-target';
  // plotly's newPlot/purge drops every listener (a fresh gd._ev): hook again whenever that happens;
  // settle() calls P.hook() on every tick.
  P.hook = () => {
    const outs = [...document.querySelectorAll(sel)];
    let plots = 0;
    outs.forEach((o, i) => {
      for (const gd of o.querySelectorAll('.js-plotly-plot')) {
        plots++;
        if (typeof gd.on === 'function' && gd.__glpEv !== gd._ev) {
          gd.__glpEv = gd._ev;
          for (const ev of DRAWN)
            gd.on(ev, () => P.after.push({out: i, t: performance.now(), ev}));
        }
      }
      if (!P.observed.has(o)) {
        P.observed.add(o);
        new MutationObserver(muts => {
          const t = performance.now();
          for (const m of muts) {
            const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
            if (el && !el.closest(CONTROL)) { P.readout.push({out: i, t}); break; }
          }
        }).observe(o, {subtree: true, childList: true, characterData: true});
      }
    });
    return {outputs: outs.length, plots};
  };
  return P.hook();
}"""

SETTLE_JS = r"""async ([out, t0, quietMs, maxMs, minMs]) => {
  const P = window.__glp;
  const idle = () => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle';
  const since = arr => arr.filter(e => e.out === out && e.t >= t0).map(e => e.t - t0);
  // one redraw emits up to two events (afterplot, then restyle/update): merge events < 8 ms apart
  const redraws = ts => ts.filter((t, k) => k === ts.length - 1 || ts[k + 1] - t >= 8);
  // a figure drawn in the page (gaugelab.widgets.front) that still waits for the kernel's answer,
  // or is still painting, has not settled, whatever the kernel's status says
  const plotsOf = o => [...(o?.querySelectorAll('.js-plotly-plot') || [])];
  const waiting = () => plotsOf(document.querySelectorAll(P.sel)[out])
      .some(gd => { const s = gd.gaugelabState?.(); return !!s && (s.asked !== null || s.busy); });
  while (true) {
    await new Promise(r => setTimeout(r, 20));
    P.hook();
    const now = performance.now() - t0;
    const after = redraws(since(P.after)), readout = since(P.readout);
    const last = Math.max(0, ...after, ...readout);
    const done = idle() && !waiting() && now - last >= quietMs
        && (after.length + readout.length > 0 || now >= minMs);
    if (done || now >= maxMs)
      return {after, readout, timeout: !done, waited_ms: now, kernel: document.querySelector(
          '.jp-Notebook-ExecutionIndicator')?.dataset.status || null};
  }
}"""

CONTROLS_JS = r"""([sel, i]) => {
  const o = document.querySelectorAll(sel)[i];
  if (!o) return null;
  const label = el => (el.querySelector('.widget-label')?.textContent || '').trim();
  const res = [];
  o.querySelectorAll('.widget-slider').forEach((s, j) => {
    if (s.closest('.widget-play')) return;
    res.push({kind: 'slider', index: j, label: label(s) || `slider ${j}`,
              disabled: !!s.querySelector('[disabled]') || s.classList.contains('mod-disabled')});
  });
  o.querySelectorAll('.widget-dropdown').forEach((d, j) => {
    const sel_ = d.querySelector('select');
    res.push({kind: 'dropdown', index: j, label: label(d) || `dropdown ${j}`,
              options: sel_ ? sel_.options.length : 0, disabled: !sel_ || sel_.disabled});
  });
  [...o.querySelectorAll('button.widget-button')]
    .filter(b => !b.closest('.widget-play, .widget-toggle-buttons'))
    .forEach((b, j) => res.push({kind: 'button', index: j, disabled: b.disabled,
                                 label: (b.textContent || b.title || '').trim() || `button ${j}`}));
  o.querySelectorAll('.widget-toggle-buttons').forEach((t, j) => {
    res.push({kind: 'toggle', index: j, label: label(t) || `toggle ${j}`,
              options: t.querySelectorAll('button').length});
  });
  o.querySelectorAll('.widget-play')
    .forEach((p, j) => res.push({kind: 'play', index: j, label: `play ${j}`}));
  return res;
}"""

# The cell source that made widget output i: names the widget in the tables.
CELL_SOURCE_JS = r"""([sel, i]) => {
  const o = document.querySelectorAll(sel)[i];
  const cell = o?.closest('.jp-Cell');
  return cell ? (cell.querySelector('.jp-InputArea-editor')?.textContent || '') : '';
}"""

KERNEL_EXEC_JS = r"""async ([code, timeoutMs]) => {
  const app = window.jupyterapp;
  if (!app) return {status: 'no-app', out: 'window.jupyterapp missing (expose_app_in_browser off)'};
  const panel = app.shell.currentWidget;
  const kernel = panel?.sessionContext?.session?.kernel;
  if (!kernel) return {status: 'no-kernel', out: ''};
  let out = '';
  const fut = kernel.requestExecute({code, silent: false, store_history: false});
  fut.onIOPub = msg => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') out += c.text;
    if (msg.header.msg_type === 'error') out += `${c.ename}: ${c.evalue}`;
  };
  const timer = new Promise(r => setTimeout(() => r({content: {status: 'timeout'}}), timeoutMs));
  // a kernel restarted or shut down meanwhile cancels the request: report it, do not throw
  const done = fut.done.catch(e => ({content: {status: 'canceled'}, error: String(e)}));
  const reply = await Promise.race([done, timer]);
  return {status: reply.content.status, out, kernel_status: kernel.status};
}"""

SLIDER_STATE_JS = lab.SLIDER_JS


def expose_app(server: lab.LabServer) -> None:
    """Make JupyterLab set ``window.jupyterapp`` (needed by :func:`kernel_exec`); call before start()."""
    cfg = Path(server.env["JUPYTER_CONFIG_DIR"]) / "jupyter_lab_config.json"
    data = json.loads(cfg.read_text()) if cfg.exists() else {}
    data.setdefault("LabApp", {})["expose_app_in_browser"] = True
    cfg.write_text(json.dumps(data))


def install(page) -> dict:
    return page.evaluate(PROBE_JS, [lab.WIDGET_OUT_SEL])


def now_ms(page) -> float:
    return page.evaluate("() => performance.now()")


def last_input(page, kind: str) -> float | None:
    """Time of the latest input event of ``kind`` (keydown, pointerdown, pointerup, change, click)."""
    return page.evaluate(
        "(k) => { const e = (window.__glp?.inputs || []).filter(x => x.type === k); "
        "return e.length ? e[e.length - 1].t : null; }",
        kind,
    )


def settle(page, out: int, t0: float, quiet_ms=300, max_ms=20_000, min_ms=1_500) -> dict:
    """Wait until output ``out`` is settled after the input at ``t0`` (see module doc)."""
    return page.evaluate(SETTLE_JS, [out, t0, quiet_ms, max_ms, min_ms])


def kernel_exec(page, code: str, timeout_s: float = 20) -> dict:
    return page.evaluate(KERNEL_EXEC_JS, [code, int(timeout_s * 1000)])


def controls(page, i: int) -> list[dict]:
    return page.evaluate(CONTROLS_JS, [lab.WIDGET_OUT_SEL, i]) or []


# What widget output i shows: a hash per plot of every SVG element's geometry (d, transform, x, y,
# points, width/height, href) and text (markers move by their transform, which lab.WIDGET_FP_JS
# does not see), and a hash of the readout texts outside plots and controls.
FP_JS = r"""([sel, i]) => {
  const h = s => { let x = 5381; for (let k = 0; k < s.length; k++) x = ((x << 5) + x + s.charCodeAt(k)) | 0;
                   return (x >>> 0).toString(16) + ':' + s.length; };
  const o = document.querySelectorAll(sel)[i];
  if (!o) return null;
  const A = ['d', 'transform', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'points', 'width', 'height', 'href'];
  const plots = [...o.querySelectorAll('.js-plotly-plot')].map(p => h([...p.querySelectorAll(
      '.main-svg *')].filter(e => !e.closest('.hoverlayer'))
      .map(e => A.map(a => e.getAttribute(a) || '').join(',') + (e.children.length ? '' : e.textContent))
      .join('|')));
  const CONTROL = '.js-plotly-plot, .widget-slider, .widget-dropdown, .widget-play, .widget-button, '
      + '.widget-toggle-buttons';
  const texts = [...o.querySelectorAll('.widget-html-content, .widget-label, .jp-OutputArea-output pre')]
      .filter(e => !e.closest(CONTROL)).map(e => e.textContent || '');
  return {plots: plots.join(','), text: h(texts.join('|'))};
}"""


def fingerprint(page, i: int) -> dict:
    return page.evaluate(FP_JS, [lab.WIDGET_OUT_SEL, i])


def slider_state(page, i: int, j: int) -> dict:
    return page.evaluate(SLIDER_STATE_JS, [lab.WIDGET_OUT_SEL, i, j])


WIDGET_NAMES = [
    ("orbit_demo", "OrbitExplorer (compact)"),
    ("compact=True", "OrbitExplorer (compact)"),
    ("OrbitExplorer", "OrbitExplorer"),
    ("orbit_explorer", "OrbitExplorer"),
    ("RelaxationPlayer", "RelaxationPlayer"),
    ("relaxation", "RelaxationPlayer"),
    ("Landscape", "LandscapeWidget"),
    ("landscape", "LandscapeWidget"),
    ("StabilityExplorer", "StabilityExplorer"),
    ("stability_explorer", "StabilityExplorer"),
    ("StabilityApp", "StabilityApp"),
    ("stability", "StabilityApp"),
    ("Equivariance", "EquivarianceApp"),
    ("equivariance", "EquivarianceApp"),
    ("Teleport", "TeleportApp"),
    ("teleport", "TeleportApp"),
]


ALL_SOURCES_JS = r"""([nbSel]) => [...document.querySelectorAll(nbSel + ' .jp-CodeCell .jp-InputArea-editor')]
    .map(e => e.textContent || '')"""


def widget_name(page, i: int) -> str:
    """A name for widget output i from the source of its cell, or, for ``display(app.widget)``,
    from the cell that built ``app`` (the cell's last line if nothing matches)."""
    import re

    src = page.evaluate(CELL_SOURCE_JS, [lab.WIDGET_OUT_SEL, i]) or ""
    var = re.search(r"(\w+)\.widget\b", src)
    if var:
        built = re.compile(rf"\b{var.group(1)}\s*=\s*([\w.]+)\(")
        for other in page.evaluate(ALL_SOURCES_JS, [lab.NB_SEL]):
            if m := built.search(other):
                src = m.group(1) + " " + src
                break
    for key, name in WIDGET_NAMES:
        if key in src:
            return name
    lines = [ln.strip() for ln in src.splitlines() if ln.strip()]
    return (lines[-1] if lines else f"output {i}")[:40]


def open_and_run_all(page, server: lab.LabServer, nb_rel: str, run_timeout_s: float = 240) -> dict:
    """Open ``nb_rel``, clear outputs, restart the kernel and run all, wait until the widgets are drawn.

    Returns {"ok", "problems", "run_s", "widget_outputs"}; the same steps as lab.check_notebook
    without its checks.
    """
    import re

    res = {"ok": False, "problems": [], "run_s": None, "widget_outputs": 0}
    page.goto(f"{server.base}/lab/tree/{nb_rel}?reset&token={server.token}")
    page.wait_for_selector(lab.NB_SEL, timeout=60_000)
    page.wait_for_timeout(500)
    if page.locator(".jp-Dialog").count():
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
    end = time.time() + 60
    while time.time() < end and not server.kernel_ready(nb_rel):
        time.sleep(0.2)
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Clear Outputs of All Cells")).click()
    t0 = time.time()
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Restart Kernel and Run All Cells")).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_timeout(1000)
    done = lab._wait(
        page,
        """() => { const ps = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                   .map(p => p.textContent.trim());
          const idle = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle';
          return idle && ps.length && ps.every(p => /^\\[\\d+\\]:$/.test(p)); }""",
        timeout_ms=int(run_timeout_s * 1000),
    )
    res["run_s"] = round(time.time() - t0, 2)
    if not done:
        res["problems"].append(f"restart + run all did not finish within {run_timeout_s} s")
        return res
    drawn = lab._wait(
        page,
        """([ws]) => [...document.querySelectorAll(ws)].every(o =>
              o.querySelector('.jupyter-widgets, .jupyter-widgets-error-widget')
              && [...o.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg')))""",
        arg=[lab.WIDGET_OUT_SEL],
        timeout_ms=30_000,
    )
    if not drawn:
        res["problems"].append("widget outputs still undrawn 30 s after the run")
    res["widget_outputs"] = page.locator(lab.WIDGET_OUT_SEL).count()
    res["ok"] = done and drawn
    return res
