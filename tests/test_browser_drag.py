"""Direct manipulation in a real browser: grab the red point of the orbit explorer (and of the
scalar-toy landscape) with the mouse, drag it, and check what the kernel made of it.

JupyterLab + Chromium via the session fixtures of tests/conftest.py. A throw-away notebook in
build/browser-drag/ builds the widget; Playwright drags the plotly shape with page.mouse and reads
back the figure's layout (the point snapped back onto its orbit), the slider and the readout (they
follow), the function panel (unchanged), then presses ArrowRight (the keyboard still works).
"""

from __future__ import annotations

import json
import math
import time

import nbformat
import pytest
from browser import lab

REPO = lab.REPO
ART = REPO / "artifacts" / "browser" / "_drag"

ORBIT_CELL = """
import gaugelab as gl
from gaugelab.widgets.orbit import OrbitExplorer
data = gl.toy_regression(seed=0)
run = gl.train(gl.two_layer(1, 8, 1, seed=0), data.x_train, data.y_train, steps=300, lr=0.05)
ex = OrbitExplorer(run.model, data.x_train, data.y_train, profile_points=7)
ex.widget
"""

LANDSCAPE_CELL = """
from gaugelab.widgets.landscape import LandscapeWidget
toy = LandscapeWidget(a0=0.5, w0=2.0, lr=0.05, lam=0.5)
toy.widget
"""

GEOMETRY_JS = r"""() => {
  // the widget's plots: the live one on top and, drawn in two layers, the one underneath; a
  // trace's geometry is found by its uid (front.js gives trace k the uid "k", its stand-in on top
  // and its copy underneath share it), so paths[k] and points[k] are those of figure trace k
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const gd = nb.querySelector('.js-plotly-plot');
  const sh = gd.querySelector('.shapelayer path').getBoundingClientRect();
  const shape = gd.layout.shapes[0];
  const log = gd._fullLayout[shape.xref.replace('x', 'xaxis')].type === 'log';
  const mid = (p, q) => log ? Math.sqrt(p * q) : (p + q) / 2;
  const n = gd.data.length, paths = Array(n).fill(''), points = Array.from({length: n}, () => []);
  for (const plot of gd.parentElement.querySelectorAll('.js-plotly-plot')) {
    for (const t of plot.querySelectorAll('.scatterlayer .trace')) {
      const k = Number(([...t.classList].find(c => /^trace\d+$/.test(c)) || 'trace-1').slice(5));
      if (!(k >= 0 && k < n)) continue;
      paths[k] += [...t.querySelectorAll('path.js-line')].map(p => p.getAttribute('d')).join('|');
      points[k].push(...[...t.querySelectorAll('.point')].map(p => {
          const r = p.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }));
    }
  }
  return {cx: mid(shape.x0, shape.x1), cy: mid(shape.y0, shape.y1),
          shape_px: [sh.x + sh.width / 2, sh.y + sh.height / 2], paths, points};
}"""


def _open(page, server, cell: str, name: str) -> str:
    path = REPO / "build" / "browser-drag" / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(cell.strip())]
    nbformat.write(nb, path)
    rel = path.relative_to(REPO).as_posix()
    page.set_viewport_size({"width": 1400, "height": 900})  # issue 11 §4: it must fit this window
    lab.open_notebook(page, server, rel)
    page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(".js-plotly-plot .shapelayer path", timeout=120_000)
    page.wait_for_timeout(1500)
    out = page.locator(lab.WIDGET_OUT_SEL).first
    out.scroll_into_view_if_needed()
    box = out.bounding_box()
    assert box["height"] <= 900 - 120, f"the widget is {box['height']:.0f} px tall: it does not fit 1400×900"
    assert box["width"] <= 1400, box
    return rel


def _drag(page, dx: float, dy: float) -> None:
    box = page.locator(".js-plotly-plot .shapelayer path").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=12)
    page.mouse.up()


def _wait_for(page, fn, timeout_s: float = 20.0):
    end = time.time() + timeout_s
    while time.time() < end:
        val = fn()
        if val:
            return val
        page.wait_for_timeout(100)
    return fn()


def _readout_s(page) -> float | None:
    import re

    text = page.locator(".gaugelab-readout").last.inner_text()  # FrontFigure's readout
    m = re.search(r"s = log α = ([+-]\d+\.\d+)", text)
    return float(m.group(1)) if m else None


def test_drag_the_orbit_point(lab_server, browser):
    ART.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.set_default_timeout(60_000)
    plog = lab.PageLog(page)
    rel = None
    try:
        rel = _open(page, lab_server, ORBIT_CELL, "orbit_drag")
        g0 = page.evaluate(GEOMETRY_JS)
        v_norm = g0["cx"] * g0["cy"]
        # the grab handle sits on the red "now" marker (trace 7)
        mx, my = g0["points"][7][0]
        assert math.dist(g0["shape_px"], (mx, my)) <= 1.5, (g0["shape_px"], (mx, my))
        page.screenshot(path=str(ART / "orbit_before.png"))
        # along the orbit (right and down on log–log axes: ‖u‖ up, ‖a‖ down), a little off it
        _drag(page, 45, 35)
        s = _wait_for(page, lambda: (v := _readout_s(page)) not in (None, 0.0) and v)
        page.wait_for_timeout(1000)
        g1 = page.evaluate(GEOMETRY_JS)
        page.screenshot(path=str(ART / "orbit_after.png"))
        slider = page.locator(".widget-slider .widget-readout").first.inner_text().strip()
        assert s is not None and s > 0.3, s
        assert float(slider) == pytest.approx(s, abs=1e-9), (slider, s)  # the slider followed
        # snapped back onto the orbit ‖u‖·‖a‖ = ‖v_j‖, at the slider's s
        assert g1["cx"] * g1["cy"] == pytest.approx(v_norm, rel=1e-9)
        assert g1["cx"] == pytest.approx(g0["cx"] * math.exp(s), rel=1e-9)
        assert g0["paths"][1] and g0["paths"][2]  # f before and after are drawn (underneath)
        assert g1["paths"][1] == g0["paths"][1] and g1["paths"][2] == g0["paths"][2]  # f panel fixed
        mx, my = g1["points"][7][0]
        assert math.dist(g1["shape_px"], (mx, my)) <= 1.5
        # the keyboard still works
        page.locator(".widget-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        s2 = _wait_for(page, lambda: (v := _readout_s(page)) != s and v)
        assert s2 == pytest.approx(s + 0.05, abs=1e-9)
        # λ_max arrives once the input rests (never a stale number presented as current)
        text = _wait_for(
            page, lambda: "pending" not in (t := page.locator(".gaugelab-readout").last.inner_text()) and t
        )
        assert text and "λ_max" in text
    except Exception:
        page.screenshot(path=str(ART / "orbit_failure.png"))
        raise
    finally:
        (ART / "orbit_console.json").write_text(json.dumps(plog.js_errors()))
        page.close()
        if rel:
            lab_server.shutdown_sessions(rel)
    assert not plog.js_errors(), plog.js_errors()


def _slider_values(page) -> list[float]:
    return [float(t.strip()) for t in page.locator(".widget-slider .widget-readout").all_inner_texts()]


def test_drag_the_landscape_start_point(lab_server, browser):
    ART.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.set_default_timeout(60_000)
    plog = lab.PageLog(page)
    rel = None
    try:
        rel = _open(page, lab_server, LANDSCAPE_CELL, "landscape_drag")
        g0 = page.evaluate(GEOMETRY_JS)
        a0, w0 = _slider_values(page)[:2]
        assert (g0["cx"], g0["cy"]) == pytest.approx((a0, w0), abs=1e-9)
        # figure trace indexes (the contour is trace 0): the × is the last one, GD on L is 5
        assert math.dist(g0["shape_px"], g0["points"][-1][0]) <= 1.5  # the ring is on the × marker
        page.screenshot(path=str(ART / "landscape_before.png"))
        _drag(page, 70, 60)  # right and down: off the orbit a·w = 1
        # the kernel moves a₀ and then w₀ (two messages): wait for both
        vals = _wait_for(page, lambda: (v := _slider_values(page))[0] != a0 and v[1] != w0 and v)
        page.wait_for_timeout(1000)
        g1 = page.evaluate(GEOMETRY_JS)
        page.screenshot(path=str(ART / "landscape_after.png"))
        assert vals and vals[0] > a0 and vals[1] < w0, vals  # both sliders followed
        assert g1["cx"] * g1["cy"] == pytest.approx(a0 * w0, rel=1e-9)  # still on its orbit
        assert math.dist(g1["shape_px"], g1["points"][-1][0]) <= 1.5  # ring and × together
        assert g1["paths"][5] != g0["paths"][5]  # the GD path starts from the new point
        # the keyboard still works on the η slider
        lr0 = _slider_values(page)[2]
        page.locator(".widget-slider .noUi-handle").nth(2).focus()
        page.keyboard.press("ArrowRight")
        lr1 = _wait_for(page, lambda: (v := _slider_values(page)[2]) != lr0 and v)
        assert lr1 == pytest.approx(lr0 + 0.01, abs=1e-9)
    except Exception:
        page.screenshot(path=str(ART / "landscape_failure.png"))
        raise
    finally:
        page.close()
        if rel:
            lab_server.shutdown_sessions(rel)
    assert not plog.js_errors(), plog.js_errors()


LAYERS_CELLS = {
    # two copies of one widget: drawn in two layers (the default) and in one plot (layered=False)
    "landscape": """
from IPython.display import display
from gaugelab.widgets.landscape import LandscapeWidget
layered = LandscapeWidget(a0=0.5, w0=2.0, lr=0.05, lam=0.5)
single = LandscapeWidget(a0=0.5, w0=2.0, lr=0.05, lam=0.5)
single.front.layered = False
display(layered.widget)
display(single.widget)
""",
    "orbit": """
from IPython.display import display
import gaugelab as gl
from gaugelab.widgets.orbit import OrbitExplorer
data = gl.toy_regression(seed=0)
run = gl.train(gl.two_layer(1, 8, 1, seed=0), data.x_train, data.y_train, steps=300, lr=0.05)
layered = OrbitExplorer(run.model, data.x_train, data.y_train, profile_points=7)
single = OrbitExplorer(run.model, data.x_train, data.y_train, profile_points=7)
single.front.layered = False
display(layered.widget)
display(single.widget)
""",
}
# per case: the slider (page-wide index) stepped on each widget; a legend entry clicked on both
LAYERS_STEP = {"landscape": (2, 6), "orbit": (0, 1)}
LAYERS_LEGEND = {"landscape": "minima a·w = y", "orbit": "f before"}  # large: many pixels

# pixels of two PNG screenshots (data URLs) whose largest channel difference exceeds 24 of 255
# (the outermost row and column on each side not compared: the element's box rounds to pixels)
DIFF_JS = r"""async ([a, b]) => {
  const load = src => new Promise((ok, bad) => { const i = new Image(); i.onload = () => ok(i);
                                                  i.onerror = bad; i.src = src; });
  const [ia, ib] = await Promise.all([load(a), load(b)]);
  if (ia.width !== ib.width || ia.height !== ib.height)
    return {size: [ia.width, ia.height, ib.width, ib.height]};
  const px = img => { const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
                      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                      return g.getImageData(0, 0, img.width, img.height).data; };
  const pa = px(ia), pb = px(ib), w = ia.width, h = ia.height;
  let differ = 0;
  for (let k = 0; k < pa.length; k += 4) {
    const x = (k / 4) % w, y = Math.floor(k / 4 / w);
    if (x === 0 || y === 0 || x === w - 1 || y === h - 1) continue; // the element's 1-px frame
    const d = Math.max(Math.abs(pa[k] - pb[k]), Math.abs(pa[k + 1] - pb[k + 1]),
                       Math.abs(pa[k + 2] - pb[k + 2]));
    if (d > 24) differ++;
  }
  return {size: [ia.width, ia.height], differ, total: pa.length / 4};
}"""


def _stack_shots(page, name: str) -> list[str]:
    import base64

    page.mouse.move(5, 5)  # no hover label, no mode bar
    # JupyterLab's cell toolbar floats over the top right of an active cell's first output
    page.add_style_tag(content=".jp-cell-toolbar { display: none !important; }")
    page.wait_for_timeout(400)
    shots = []
    for k, stack in enumerate(page.locator(".gaugelab-plot").all()):
        # in the middle of the window: nothing of JupyterLab's (toolbars) over it
        stack.evaluate("e => e.parentElement.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(200)
        png = stack.locator("xpath=..").screenshot(path=str(ART / f"{name}_{k}.png"))
        shots.append("data:image/png;base64," + base64.b64encode(png).decode())
    return shots


RANGES_JS = r"""async ([upd]) => {
  // a relayout of each widget's live plot (as a zoom or a double-click does); the ranges then
  const Plotly = await globalThis.__gaugelabPlotly;
  const [top, single] = document.querySelectorAll('.gaugelab-plot');
  await Plotly.relayout(top, upd);
  await Plotly.relayout(single, upd);
  await new Promise(r => setTimeout(r, 500));
  const under = document.querySelector('.gaugelab-plot-under');
  const rng = (gd) => Object.fromEntries(Object.entries(gd._fullLayout)
      .filter(([k, a]) => /^[xy]axis\d*$/.test(k) && a && a.range).map(([k, a]) => [k, a.range]));
  return {top: rng(top), under: rng(under), single: rng(single)};
}"""


def _legend_click(page, k: int, name: str) -> None:
    """Click the legend entry ``name`` of widget ``k``'s live plot (plotly's legend toggle)."""
    item = page.locator(".gaugelab-plot").nth(k).locator(".legend .traces", has_text=name).first
    item.locator(".legendtoggle").click()


@pytest.mark.parametrize("case", ["landscape", "orbit"])
def test_the_layered_figure_looks_like_one_plot(lab_server, browser, case):
    """front.js draws contours and the traces no control moves (with the axes) in a plot
    underneath and the rest on top (front.py ``layered``, ``under_traces``): the two must look like
    the single plot, before and after a slider step and after a legend click; a zoom and an
    autoscale of the top plot must carry the plot underneath, at the single plot's ranges."""
    ART.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.set_default_timeout(60_000)
    plog = lab.PageLog(page)
    rel = None
    try:
        rel = _open(page, lab_server, LAYERS_CELLS[case], f"{case}_layers")
        page.wait_for_function("document.querySelectorAll('.gaugelab-plot .main-svg').length >= 2")
        assert page.locator(".gaugelab-plot-under").count() == 1  # only the first widget is layered
        for step in ("start", "after_step", "after_legend", "after_legend_step"):
            if step == "after_step":  # one key step on both widgets: the top plot redraws
                for j in LAYERS_STEP[case]:
                    page.locator(".widget-slider .noUi-handle").nth(j).focus()
                    page.keyboard.press("ArrowRight")
                page.wait_for_timeout(1500)
            if step == "after_legend":  # hide a trace (underneath in the layered one)
                for k in (0, 1):
                    _legend_click(page, k, LAYERS_LEGEND[case])
                page.wait_for_timeout(800)
            if step == "after_legend_step":  # it stays hidden: one step back
                for j in LAYERS_STEP[case]:
                    page.locator(".widget-slider .noUi-handle").nth(j).focus()
                    page.keyboard.press("ArrowLeft")
                page.wait_for_timeout(1500)
            a, b = _stack_shots(page, f"{case}_layers_{step}")
            diff = page.evaluate(DIFF_JS, [a, b])
            assert "differ" in diff, diff  # same size
            assert diff["differ"] <= 0.002 * diff["total"], (step, diff)
        # the legend click hid the trace: the shots after it differ from those before it
        before = (ART / f"{case}_layers_start_0.png").read_bytes()
        assert (ART / f"{case}_layers_after_legend_0.png").read_bytes() != before
        # a zoom of the top plot: the plot underneath follows
        r = page.evaluate(RANGES_JS, [{"xaxis.range": [-1, 1], "yaxis.range": [-0.5, 2]}])
        assert r["top"]["xaxis"] == r["under"]["xaxis"] == [-1, 1], r
        assert r["top"]["yaxis"] == r["under"]["yaxis"] == [-0.5, 2], r
        # an autoscale: done underneath, the top takes it. The orbit explorer's moving traces lie
        # within its static ones: as the single plot. The landscape's GD paths may leave the
        # contour's square: the layered one fits the contour (front.js), the single plot all traces
        r = page.evaluate(RANGES_JS, [{"xaxis.autorange": True, "yaxis.autorange": True}])
        for ax in ("xaxis", "yaxis"):
            assert r["top"][ax] == r["under"][ax], (ax, r)
            if case == "orbit":
                assert r["top"][ax] == pytest.approx(r["single"][ax], rel=1e-6, abs=1e-9), (ax, r)
            else:
                assert r["top"][ax] == pytest.approx([-3, 3], abs=1e-9), (ax, r)  # the contour's grid
        assert r["top"]["xaxis"] != [-1, 1], r
    except Exception:
        page.screenshot(path=str(ART / f"{case}_layers_failure.png"))
        raise
    finally:
        page.close()
        if rel:
            lab_server.shutdown_sessions(rel)
    assert not plog.js_errors(), plog.js_errors()
