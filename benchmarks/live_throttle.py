"""Which slider values reach a slow observer when the browser sends 30 quickly (gaugelab.widgets.live)?

JupyterLab on 127.0.0.1 + Chromium (tests/browser/lab.py): one cell with two IntSliders whose
observers take WORK seconds, one doing the work synchronously, one deferring it with
``loop.call_soon``; 30 ArrowRight presses on each; prints how many times the work ran and with which
values (the last must be 30). The numbers are quoted in gaugelab/widgets/live.py.

    .venv/bin/python benchmarks/live_throttle.py 0.1
"""

import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from browser import lab  # noqa: E402

CELL = r"""
import asyncio, time, json
import ipywidgets as W
seen = {"sync": [], "loop": []}
out = W.HTML("{}")
def show(): out.value = json.dumps(seen)
def slow_sync(ch):
    time.sleep(WORK)
    seen["sync"].append(ch["new"]); show()
pending = {}
def slow_loop(ch):
    first = "v" not in pending
    pending["v"] = ch["new"]
    if first:
        def run():
            v = pending.pop("v")
            time.sleep(WORK)
            seen["loop"].append(v); show()
        asyncio.get_running_loop().call_soon(run)
a = W.IntSlider(0, 0, 100, description="sync"); a.observe(slow_sync, "value")
b = W.IntSlider(0, 0, 100, description="loop"); b.observe(slow_loop, "value")
W.VBox([a, b, out])
"""


def main(work):
    path = REPO / "build" / "live-exp" / "exp.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"WORK = {work}\n" + CELL)]
    nbformat.write(nb, path)
    srv = lab.LabServer(REPO, Path(tempfile.mkdtemp())).start()
    try:
        with lab.chromium_context() as ctx:
            page = ctx.new_page()
            rel = path.relative_to(REPO).as_posix()
            page.goto(f"{srv.base}/lab/tree/{rel}?reset&token={srv.token}")
            page.wait_for_selector(lab.NB_SEL)
            end = time.time() + 60
            while time.time() < end and not srv.kernel_ready(rel):
                time.sleep(0.2)
            page.wait_for_timeout(500)
            page.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
            page.keyboard.press("Shift+Enter")
            page.wait_for_selector(".widget-slider .noUi-handle", timeout=60_000)
            page.wait_for_timeout(1000)
            for j, name in enumerate(["sync", "loop"]):
                h = page.locator(".widget-slider").nth(j).locator(".noUi-handle")
                h.focus()
                t0 = time.time()
                for _ in range(30):
                    page.keyboard.press("ArrowRight")
                t_press = time.time() - t0
                page.wait_for_timeout(int(30 * work * 1000) + 2000)
                txt = page.locator(".widget-html-content").first.inner_text()
                seen = json.loads(txt)[name]
                print(
                    f"work {work * 1000:.0f} ms, {name}: 30 key presses in {t_press:.2f} s -> observer ran "
                    f"{len(seen)} times, values {seen}"
                )
    finally:
        srv.stop()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.1)
