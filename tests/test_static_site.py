"""The static course site (scripts/build_static.py), built offline and read in headless Chromium.

The site is built once from the committed notebooks (``--no-execute``) and every docs/*.md present.
Every page is opened in Chromium (tests/browser/lab.py: Debian's Chromium, nothing leaves the machine)
and checked: axe-core (npm ``axe-core``, pinned below, installed once into build/.cache/axe) finds no
serious or critical violation; the page has its own title, ``lang="en"``, the sidebar with every page
and previous/next links; every link on the site leads to a page that exists (no ``.ipynb`` link but
the download button) and the Binder button opens the page's own file; every image has alt text, and
a figure's alt text names the figure's title and legend. A notebook page also shows every figure of
the notebook without a kernel, one note per widget, collapsed solutions that open on a click, maths
typeset by the local MathJax, and fetches nothing from the network. Screenshots: artifacts/static/.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from browser import lab
from chromium_thread import ChromiumThread

REPO = lab.REPO
ART = REPO / "artifacts" / "static"
CACHE = Path(os.environ.get("GAUGELAB_CACHE_DIR", REPO / "build" / ".cache"))
AXE_VERSION = "4.14.1"
NOTEBOOKS = lab.notebooks()
#: The guides in reading order: the convention sheet, then the instructor guide, then any other.
DOCS = sorted(
    REPO.glob("docs/*.md"), key=lambda p: ({"theory": 0, "instructor_guide": 1}.get(p.stem, 2), p.stem)
)
PAGES = (
    ["index.html"] + [f"notebooks/{p.stem}.html" for p in NOTEBOOKS] + [f"docs/{p.stem}.html" for p in DOCS]
)
SUFFIX = " · GaugeLab course"


@functools.cache
def _build_module():
    spec = importlib.util.spec_from_file_location("build_static", REPO / "scripts" / "build_static.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass needs the module registered
    spec.loader.exec_module(mod)
    return mod


def axe_source() -> str:
    """axe-core's browser script at the pinned version, installed with npm on first use."""
    prefix = CACHE / "axe"
    js = prefix / "node_modules" / "axe-core" / "axe.min.js"
    pkg = js.parent / "package.json"
    if not (js.exists() and json.loads(pkg.read_text())["version"] == AXE_VERSION):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                "npm is needed to install axe-core: apt-get install -y npm (scripts/run-tests.sh does it)",
                pytrace=False,
            )
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save",
             "--no-package-lock", f"axe-core@{AXE_VERSION}"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    assert json.loads(pkg.read_text())["version"] == AXE_VERSION
    return js.read_text()


@pytest.fixture(scope="session")
def axe():
    return axe_source()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    rc = _build_module().main(["--no-execute", "--out", str(out)])
    assert rc == 0, "build_static.py reported problems (see its output)"
    return out


@pytest.fixture(scope="session")
def chromium():
    browser = ChromiumThread()
    try:
        browser.start()
    except lab.ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield browser
    browser.close()


def slug() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["gaugelab"]["github"]


def source_of(page: str) -> Path | None:
    if page == "index.html":
        return None
    folder, name = page.split("/")
    return REPO / folder / (Path(name).stem + (".ipynb" if folder == "notebooks" else ".md"))


def first_h1(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    return re.search(r"^#\s+(.+?)\s*$", text, re.M).group(1)


def figure_facts(fig: dict) -> tuple[str, list[str]]:
    """(title, legend names) as a reader sees them, markup removed."""

    def clean(s):
        s = re.sub(r"<br\s*/?>", " ", str(s or ""))
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", s)).strip()

    title = (fig.get("layout") or {}).get("title") or {}
    title = clean(title.get("text") if isinstance(title, dict) else title)
    names = [
        clean(t.get("name"))
        for t in fig.get("data", [])
        if t.get("name") and t.get("showlegend") is not False
    ]
    return title, [n for n in names if n]


PAGE_JS = r"""() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 50 && r.height > 50; };
  const main = document.querySelector('main');
  return {
    title: document.title,
    lang: document.documentElement.lang,
    sidebar: [...document.querySelectorAll('nav.gl-sidebar a')].map(a => a.getAttribute('href')),
    current: [...document.querySelectorAll('nav.gl-sidebar a[aria-current="page"]')].map(a => a.textContent),
    prev: document.querySelector('nav.gl-pager a[rel="prev"]')?.getAttribute('href') ?? null,
    next: document.querySelector('nav.gl-pager a[rel="next"]')?.getAttribute('href') ?? null,
    binder: [...document.querySelectorAll('a.gl-button')].filter(a => /Binder/.test(a.textContent))
        .map(a => a.href),
    links: [...document.querySelectorAll('a[href]')].map(a => ({href: a.getAttribute('href'),
        download: a.hasAttribute('download')})),
    alts: [...document.querySelectorAll('img')].map(i => i.getAttribute('alt')),
    figure_alts: [...main.querySelectorAll('.jp-OutputArea-output img')].map(i => i.getAttribute('alt')),
    images: [...main.querySelectorAll('.jp-OutputArea-output img')]
        .map(i => ({ok: i.complete && i.naturalWidth > 0 && visible(i)})),
    plotly_divs: [...main.querySelectorAll('.jp-OutputArea-output .plotly-graph-div')]
        .map(d => ({ok: !!d.querySelector('.main-svg') && visible(d)})),
    fallback_text: [...main.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent)
        .filter(t => /^\s*<plotly figure:/.test(t)),
    widget_notes: document.querySelectorAll('.gaugelab-widget-note').length,
    details: [...main.querySelectorAll('details')].map(d => ({open: d.open,
        hidden: [...d.children].filter(c => c.tagName !== 'SUMMARY').every(c => !c.checkVisibility())})),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  };
}"""

AXE_JS = "async () => await axe.run(document, {resultTypes: ['violations']})"


def run_axe(page, axe_js: str) -> list[dict]:
    page.add_script_tag(content=axe_js)
    return page.evaluate(AXE_JS)["violations"]


def bad(violations: list[dict]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}; e.g. {v['nodes'][0]['html'][:160]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def _axe_ids(ctx, uri: str, axe_js: str) -> set[str]:
    page = ctx.new_page()
    try:
        page.goto(uri)
        return {v["id"] for v in run_axe(page, axe_js) if v["impact"] in ("serious", "critical")}
    finally:
        page.close()


def test_axe_finds_problems_on_a_bad_page(tmp_path, chromium, axe):
    """Negative control: axe-core runs here and reports what the site must not have."""
    path = tmp_path / "bad.html"
    path.write_text(
        "<!doctype html><html><head><title>x</title></head><body><main>"
        '<p style="color:#aaa;background:#fff">low contrast</p><img src="data:,">'
        "</main></body></html>"
    )
    ids = chromium.run(_axe_ids, path.as_uri(), axe)
    assert {"color-contrast", "html-has-lang", "image-alt"} <= ids, ids


def test_figure_alt_text_names_title_axes_and_legend():
    build = _build_module()
    fig = {
        "data": [
            {"name": "baseline"},
            {"name": "<b>gauge-fixed</b>"},
            {"name": "hidden", "showlegend": False},
        ],
        "layout": {
            "title": {"text": "Loss<br>per step"},
            "xaxis": {"title": {"text": "step"}},
            "yaxis2": {"title": {"text": "loss <i>L</i>"}},
        },
    }
    alt = build.figure_alt(fig)
    assert alt.startswith("Figure: Loss — per step.")
    assert "Axes: step; loss L." in alt and "Legend: baseline, gauge-fixed." in alt
    assert "hidden" not in alt and "<" not in alt


def test_github_anchors_map_to_nbconvert_ids():
    slug = _build_module().github_anchor
    assert slug("1.-Model-and-gauge-group") == "1-model-and-gauge-group"
    assert slug("GaugeLab-convention-sheet-(%22THEORY%22)") == "gaugelab-convention-sheet-theory"


def test_links_to_missing_files_are_reported(tmp_path):
    build = _build_module()
    pages = build.site_pages(NOTEBOOKS[:2], [])
    s = build.Site(pages, tmp_path, "someone/gaugelab", "0")
    nb_page = pages[1]
    assert s.rewrite_link(NOTEBOOKS[1].name + "#Summary", nb_page) == f"{NOTEBOOKS[1].stem}.html#Summary"
    assert s.rewrite_link("../gaugelab/theme.py", nb_page) == (
        "https://github.com/someone/gaugelab/blob/HEAD/gaugelab/theme.py"
    )
    assert s.rewrite_link("https://arxiv.org/abs/2602.14729", nb_page) == "https://arxiv.org/abs/2602.14729"
    assert s.problems == []
    s.rewrite_link("no_such_notebook.ipynb", nb_page)
    assert len(s.problems) == 1 and "no_such_notebook.ipynb" in s.problems[0]


def _has_math(markdown: str) -> bool:
    """Whether the Markdown holds $...$ maths outside code: a shell line's ``"$nb"`` is not maths."""
    prose = re.sub(r"```.*?```", "", markdown, flags=re.S)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return re.search(r"\$\$.+?\$\$|\$[^$\s][^$\n]*\$", prose, flags=re.S) is not None


def test_has_math_ignores_code():
    assert _has_math("the slice $\\delta_j = 0$ here")
    assert _has_math("$$\nL(\\theta)\n$$")
    assert not _has_math('run\n```bash\necho "$nb" > $out\n```\nand `$HOME` too')
    assert not _has_math("it costs 5 dollars")


def look_at_page(ctx, path: Path, has_math: bool, axe_js: str, shot: Path) -> dict:
    """Open a page, wait for MathJax, read PAGE_JS, take a screenshot, run axe-core, open a solution."""
    page = ctx.new_page()
    plog = lab.PageLog(page)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        typeset = 0
        if has_math:  # the local MathJax must typeset the maths: no raw $...$ left for the reader
            page.wait_for_function(
                "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                " && document.querySelectorAll('.MathJax').length > 0",
                timeout=60_000,
            )
            typeset = page.evaluate("() => document.querySelectorAll('.MathJax').length")
        st = page.evaluate(PAGE_JS)
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        violations = run_axe(page, axe_js)
        opened = True
        if st["details"]:
            page.locator("main details > summary").first.click()
            opened = page.evaluate(
                "() => { const d = document.querySelector('main details'); return d.open &&"
                " [...d.children].filter(c => c.tagName !== 'SUMMARY').every(c => c.checkVisibility()); }"
            )
    finally:
        page.close()
    return {
        "st": st,
        "violations": violations,
        "opened": opened,
        "typeset": typeset,
        "failed": failed,
        "js_errors": plog.js_errors(),
        "external_requests": plog.external_requests,
    }


@pytest.mark.parametrize("page_rel", PAGES, ids=[Path(p).stem for p in PAGES])
def test_static_page(page_rel, site, chromium, axe, report):
    src = source_of(page_rel)
    path = site / page_rel
    assert path.is_file(), f"{page_rel} was not built"
    is_nb = src is not None and src.suffix == ".ipynb"
    nb = nbformat.read(src, as_version=4) if is_nb else None
    text = (
        "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        if nb
        else (src.read_text(encoding="utf-8") if src else "")
    )
    has_math = _has_math(text)
    seen = chromium.run(look_at_page, path, has_math, axe, ART / f"{Path(page_rel).stem}.png")
    st, violations, opened, typeset = seen["st"], seen["violations"], seen["opened"], seen["typeset"]
    counts = {}
    for v in violations:
        counts[v["impact"]] = counts.get(v["impact"], 0) + len(v["nodes"])
    report(
        f"static {page_rel}: axe-core violations (nodes) by impact {counts or 'none'}; "
        f"{typeset} formulas typeset"
    )

    # accessibility
    assert bad(violations) == [], "\n".join(bad(violations))
    assert st["lang"] == "en"
    assert all(a and not a.startswith("No description") for a in st["alts"]), st["alts"]

    # title, navigation
    if src is None:
        assert st["title"] == "GaugeLab course"
    else:
        h1 = re.sub(r"[`*_$]", "", first_h1(src)).strip()
        assert st["title"] == h1 + SUFFIX, (st["title"], h1)
        assert st["current"] == [h1]
    here = path.parent
    assert sorted((here / h).resolve() for h in st["sidebar"]) == sorted((site / p).resolve() for p in PAGES)
    i = PAGES.index(page_rel)
    want_prev = PAGES[i - 1] if i > 0 else None
    want_next = PAGES[i + 1] if i + 1 < len(PAGES) else None
    assert (st["prev"] and (here / st["prev"]).resolve()) == (want_prev and (site / want_prev).resolve())
    assert (st["next"] and (here / st["next"]).resolve()) == (want_next and (site / want_next).resolve())
    binder_target = src.relative_to(REPO).as_posix() if src else "notebooks/00_start_here.ipynb"
    want_binder = f"https://mybinder.org/v2/gh/{slug()}/HEAD?urlpath=lab/tree/{binder_target}"
    assert [unquote(u) for u in st["binder"]] == [want_binder]

    # every link on the page leads somewhere
    for link in st["links"]:
        parts = urlsplit(link["href"])
        if parts.scheme in ("http", "https"):
            assert not parts.path.endswith((".ipynb", ".md")) or parts.netloc == "github.com", link
            continue
        assert not parts.scheme, link
        target = (here / unquote(parts.path)).resolve() if parts.path else path
        assert target.is_file(), f"broken link {link['href']} on {page_rel}"
        if target.suffix == ".ipynb":
            assert link["download"] and target.parent == here, (
                f"{link['href']}: .ipynb links only to download"
            )
        if parts.fragment and target.suffix == ".html":
            ids = st["ids"] if target == path.resolve() else re.findall(r'\bid="([^"]+)"', target.read_text())
            # browsers match the fragment as written, then percent-decoded
            assert {parts.fragment, unquote(parts.fragment)} & set(ids), f"{link['href']}: no such anchor"
    if not is_nb:
        return

    # figures, widgets, solutions, maths, network (formerly tests/test_browser.py::test_static_page)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    figs = [o["data"][lab.PLOTLY_MIME] for o in outs if lab.PLOTLY_MIME in o.get("data", {})]
    n_png_only = sum(
        "image/png" in o.get("data", {}) and lab.PLOTLY_MIME not in o.get("data", {}) for o in outs
    )
    n_widgets = sum(lab.WIDGET_MIME in o.get("data", {}) for o in outs)
    n_details = sum(c.source.count("<details") for c in nb.cells if c.cell_type == "markdown")
    shown = sum(i["ok"] for i in st["images"]) + sum(d["ok"] for d in st["plotly_divs"])
    assert shown >= len(figs) + n_png_only, st["images"]
    assert all(i["ok"] for i in st["images"]) and all(d["ok"] for d in st["plotly_divs"])
    assert not st["fallback_text"], st["fallback_text"]
    assert st["widget_notes"] == n_widgets
    assert len(st["details"]) == n_details
    assert all(not d["open"] and d["hidden"] for d in st["details"]), st["details"]
    assert opened, "clicking a solution's summary did not open it"
    figure_alts = [a for a in st["figure_alts"] if a.startswith("Figure")]
    assert len(figure_alts) >= len(figs)
    letters = lambda s: re.sub(r"[\W_]+", "", s)  # noqa: E731 - compare words, not punctuation
    for fig, alt in zip(figs, figure_alts):
        title, names = figure_facts(fig)
        assert title and letters(title) in letters(alt), (title, alt)
        assert all(letters(n) in letters(alt) for n in names[:3]), (names, alt)
    # MathJax probes fonts it then does without (the packaged copy has STIX-Web only): those two
    # failed loads are expected; any other failed load or console error is not.
    failed = seen["failed"]
    probes = [u for u in failed if u == "about:blank" or "/mathjax/fonts/" in u]
    assert [u for u in failed if u not in probes] == []
    expected = ("Failed to load resource", "Access to font at 'about:blank'") if probes else ()
    assert [e for e in seen["js_errors"] if not e.startswith(expected)] == []
    assert seen["external_requests"] == [], seen["external_requests"]
