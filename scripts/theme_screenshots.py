"""Screenshots of notebooks in JupyterLab's light and dark themes, for a look by eye (issue 13).

    .venv/bin/python scripts/theme_screenshots.py [notebook stem ...]   # default: 05 and 07

Runs each notebook (Restart Kernel and Run All) in Chromium at 1400x900 with the theme set where
JupyterLab saves it (so the kernel's gaugelab.theme sees it too) and writes one screenshot per widget
output and per plot (the first three) to artifacts/screens/<notebook>_<theme>_....png.
"""

import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from browser import lab  # noqa: E402

OUT = REPO / "artifacts" / "screens"
OUT.mkdir(parents=True, exist_ok=True)
DONE_JS = """() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle'
  && ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'))"""
NOTEBOOKS = sys.argv[1:] or ["05_soft_gauge_fixing", "07_paper_experiments"]
for theme in ["JupyterLab Light", "JupyterLab Dark"]:
    tag = "dark" if "Dark" in theme else "light"
    srv = lab.LabServer(REPO, Path(tempfile.mkdtemp(prefix=f"screens-{tag}-")))
    ov = json.loads((srv.app_settings / "overrides.json").read_text())
    ov["@jupyterlab/apputils-extension:themes"] = {"theme": theme}
    (srv.app_settings / "overrides.json").write_text(json.dumps(ov))
    # where JupyterLab saves Settings > Theme (the kernel reads it there: gaugelab.theme)
    us = Path(srv.env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    us.mkdir(parents=True, exist_ok=True)
    (us / "themes.jupyterlab-settings").write_text(json.dumps({"theme": theme}))
    srv.start()
    try:
        with lab.chromium_context(viewport=(1400, 900)) as ctx:
            for nb in NOTEBOOKS:
                page = ctx.new_page()
                rel = f"notebooks/{nb}.ipynb"
                lab.open_notebook(page, srv, rel, pause_ms=1000)
                page.get_by_role("menuitem", name="Kernel", exact=True).click()
                page.get_by_role("menuitem", name=re.compile(r"^Restart Kernel and Run All Cells")).click()
                page.locator(".jp-Dialog .jp-mod-accept").click()
                page.wait_for_timeout(3000)
                page.wait_for_function(DONE_JS, timeout=180_000)
                page.wait_for_timeout(3000)
                outs = page.locator(lab.WIDGET_OUT_SEL)
                n = outs.count()
                for i in range(n):
                    outs.nth(i).scroll_into_view_if_needed()
                    page.wait_for_timeout(800)
                    page.screenshot(path=str(OUT / f"{nb}_{tag}_widget{i}.png"))
                plots = page.locator(".jp-OutputArea-output .js-plotly-plot")
                for k in range(min(plots.count(), 3)):
                    plots.nth(k).scroll_into_view_if_needed()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(OUT / f"{nb}_{tag}_plot{k}.png"))
                print(nb, tag, "widgets", n, "plots", plots.count(), flush=True)
                srv.shutdown_sessions()
                page.close()
    finally:
        srv.stop()
