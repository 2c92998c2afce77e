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
  const gd = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .js-plotly-plot');
  const sh = gd.querySelector('.shapelayer path').getBoundingClientRect();
  const shape = gd.layout.shapes[0];
  const traces = [...gd.querySelectorAll('.scatterlayer .trace')];
  const log = gd._fullLayout[shape.xref.replace('x', 'xaxis')].type === 'log';
  const mid = (p, q) => log ? Math.sqrt(p * q) : (p + q) / 2;
  return {cx: mid(shape.x0, shape.x1), cy: mid(shape.y0, shape.y1),
          shape_px: [sh.x + sh.width / 2, sh.y + sh.height / 2],
          paths: traces.map(t => [...t.querySelectorAll('path.js-line')]
              .map(p => p.getAttribute('d')).join('|')),
          points: traces.map(t => [...t.querySelectorAll('.point')].map(p => {
              const r = p.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }))};
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
        # scatter traces only (the contour is trace 0 of the figure): the × is the last one,
        # plain GD (figure trace 5) is number 4
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
        assert g1["paths"][4] != g0["paths"][4]  # the GD path starts from the new point
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


LAYERS_CELL = """
from IPython.display import display
from gaugelab.widgets.landscape import LandscapeWidget
layered = LandscapeWidget(a0=0.5, w0=2.0, lr=0.05, lam=0.5)
single = LandscapeWidget(a0=0.5, w0=2.0, lr=0.05, lam=0.5)
single.front.layered = False
display(layered.widget)
display(single.widget)
"""

# pixels of two PNG screenshots (data URLs) whose largest channel difference exceeds 24 of 255
DIFF_JS = r"""async ([a, b]) => {
  const load = src => new Promise((ok, bad) => { const i = new Image(); i.onload = () => ok(i);
                                                  i.onerror = bad; i.src = src; });
  const [ia, ib] = await Promise.all([load(a), load(b)]);
  if (ia.width !== ib.width || ia.height !== ib.height)
    return {size: [ia.width, ia.height, ib.width, ib.height]};
  const px = img => { const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
                      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                      return g.getImageData(0, 0, img.width, img.height).data; };
  const pa = px(ia), pb = px(ib);
  let differ = 0;
  for (let k = 0; k < pa.length; k += 4) {
    const d = Math.max(Math.abs(pa[k] - pb[k]), Math.abs(pa[k + 1] - pb[k + 1]),
                       Math.abs(pa[k + 2] - pb[k + 2]));
    if (d > 24) differ++;
  }
  return {size: [ia.width, ia.height], differ, total: pa.length / 4};
}"""


def _stack_shots(page, name: str) -> list[str]:
    import base64

    page.mouse.move(5, 5)  # no hover label, no mode bar
    page.wait_for_timeout(400)
    shots = []
    for k, stack in enumerate(page.locator(".gaugelab-plot").all()):
        png = stack.locator("xpath=..").screenshot(path=str(ART / f"{name}_{k}.png"))
        shots.append("data:image/png;base64," + base64.b64encode(png).decode())
    return shots


def test_the_layered_landscape_looks_like_one_plot(lab_server, browser):
    """front.js draws the contour in a plot underneath and the rest on top (front.py ``layered``):
    the two must look like the single plot, before and after a slider step, and a zoom of the top
    plot must carry the plot underneath with it."""
    ART.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.set_default_timeout(60_000)
    plog = lab.PageLog(page)
    rel = None
    try:
        rel = _open(page, lab_server, LAYERS_CELL, "landscape_layers")
        page.wait_for_function("document.querySelectorAll('.gaugelab-plot .main-svg').length >= 2")
        assert page.locator(".gaugelab-plot-under").count() == 1  # only the first widget is layered
        for step in ("start", "after_step"):
            if step == "after_step":  # η one step right on both widgets: the top plot redraws
                for j in (2, 6):
                    page.locator(".widget-slider .noUi-handle").nth(j).focus()
                    page.keyboard.press("ArrowRight")
                page.wait_for_timeout(1500)
            a, b = _stack_shots(page, f"layers_{step}")
            diff = page.evaluate(DIFF_JS, [a, b])
            assert "differ" in diff, diff  # same size
            assert diff["differ"] <= 0.002 * diff["total"], (step, diff)
        # a zoom of the top plot: the plot underneath follows
        ranges = page.evaluate(
            """async () => { const Plotly = await globalThis.__gaugelabPlotly;
              const gd = document.querySelector('.gaugelab-plot');
              await Plotly.relayout(gd, {'xaxis.range': [-1, 1], 'yaxis.range': [-0.5, 2]});
              await new Promise(r => setTimeout(r, 500));
              const under = document.querySelector('.gaugelab-plot-under');
              return [gd._fullLayout.xaxis.range, under._fullLayout.xaxis.range,
                      gd._fullLayout.yaxis.range, under._fullLayout.yaxis.range]; }"""
        )
        assert ranges[0] == ranges[1] and ranges[2] == ranges[3], ranges
        assert ranges[0] != [-3, 3], ranges  # it did zoom
    except Exception:
        page.screenshot(path=str(ART / "layers_failure.png"))
        raise
    finally:
        page.close()
        if rel:
            lab_server.shutdown_sessions(rel)
    assert not plog.js_errors(), plog.js_errors()
