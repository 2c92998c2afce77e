#!/usr/bin/env python3
"""The GaugeLab course as a static site, built offline: every notebook executed and every guide of
docs/ rendered into build/html/.

    .venv/bin/python scripts/build_static.py                 # execute + export all notebooks, all guides
    .venv/bin/python scripts/build_static.py --no-execute    # export the committed outputs as they are
    .venv/bin/python scripts/build_static.py --interactive   # interactive plotly (plotly.js inlined)
    .venv/bin/python scripts/build_static.py --github OWNER/REPO   # slug for the Binder and source links

The site (open build/html/index.html; it needs no server and no network):
* index.html, the course map; notebooks/NN_*.html, one page per notebook; docs/NAME.html, one page
  per docs/*.md present at build time. Every page has its own title, a sidebar with every page,
  previous/next links, a "Launch on Binder" button for its own file and, for a notebook, a download
  link of the .ipynb. Links between notebooks and guides point to their pages; links to other files
  of the repository point to them on GitHub.
* Figures: the notebooks display figures as a bundle of plotly JSON + a PNG
  (``gaugelab.display.show``); a page shows the PNG with alt text made from the figure's title, axis
  titles and legend. Without a PNG (kaleido could not run) plotly.js draws the figure (included once
  per page from the installed plotly package); ``--interactive`` draws every figure with plotly.js.
* Widgets need a kernel: a widget's output shows its static figure if it carries one, and a note.
* Solutions stay inside collapsed ``<details>`` blocks. Maths is typeset by a local copy of
  MathJax 2 (from jupyter-server-mathjax; STIX-Web fonts): no CDN.
* Colours: JupyterLab's light theme with code-highlighting and prompt colours darkened to at least
  4.5:1 contrast; links underlined; ``lang="en"``. tests/test_static_site.py runs axe-core on every page.

The GitHub slug (OWNER/REPO) is read from ``[tool.gaugelab] github`` in pyproject.toml unless
``--github`` is given; while it is the placeholder ``<OWNER>/<REPO>``, the build says so.

Execution runs each notebook in a fresh kernel of this interpreter with widget state off, and its
wall time (kernel start to last cell) is written to build/html/timings.json and the index page: the
numbers quoted in docs/instructor_guide.md come from here.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import nbformat

REPO = Path(__file__).resolve().parents[1]
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PLACEHOLDER_SLUG = "<OWNER>/<REPO>"
SITE_NAME = "GaugeLab course"
WIDGET_NOTE = (
    '<p class="gaugelab-widget-note">Interactive widget: it needs a running kernel. Open this notebook in '
    "JupyterLab (locally or with the Binder button at the top of the page) to use it.</p>"
)
# Guides first in this order, then any other docs/*.md alphabetically.
DOC_ORDER = ("theory", "instructor_guide")

# ------------------------------------------------------------------------------------------------
# Colours: JupyterLab's light-theme code colours and prompts fall below 4.5:1 on the code
# background (#f5f5f5) or the page (#fff); these keep the hues and reach at least 4.5:1 on both.
# ------------------------------------------------------------------------------------------------
SITE_CSS = """
:root {
  --jp-cell-prompt-not-active-opacity: 1;
  --jp-cell-inprompt-font-color: #1f5b8f;
  --jp-cell-outprompt-font-color: #9a3f22;
  --jp-mirror-editor-comment-color: #2f6666;
  --jp-mirror-editor-number-color: #006600;
  --jp-mirror-editor-operator-color: #7a16c4;
  --jp-mirror-editor-meta-color: #7a16c4;
  --jp-mirror-editor-atom-color: #4343c4;
  --jp-mirror-editor-variable-3-color: #00663a;
  --jp-mirror-editor-bracket-color: #6b6b4f;
  --jp-mirror-editor-quote-color: #006600;
  --jp-mirror-editor-error-color: #c00000;
  --jp-mirror-editor-hr-color: #6b6b6b;
  --gl-sidebar-width: 17rem;
  --gl-accent: #1f5b8f;
}
.jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited, .gl-pager a, .gl-sidebar a {
  text-decoration: underline; }
.gl-skip { position: absolute; left: -999px; top: 0; background: #fff; padding: 0.5em 1em; z-index: 10; }
.gl-skip:focus { left: 0.5em; top: 0.5em; }
.gl-header { display: flex; flex-wrap: wrap; align-items: center; gap: 0.75em 1.5em;
  padding: 0.6em 1.2em; border-bottom: 1px solid #d0d0d0; background: #fafafa;
  font-family: var(--jp-ui-font-family); font-size: 0.95rem; }
.gl-header .gl-home { font-weight: 600; color: #1a1a1a; text-decoration: none; font-size: 1.05rem; }
.gl-header .gl-version { color: #4a4a4a; }
.gl-actions { margin-left: auto; display: flex; gap: 0.75em; flex-wrap: wrap; }
.gl-button { display: inline-block; padding: 0.35em 0.9em; border-radius: 4px;
  border: 1px solid var(--gl-accent); color: #fff; background: var(--gl-accent);
  text-decoration: none; font-weight: 600; }
.gl-button.gl-secondary { background: #fff; color: var(--gl-accent); }
.gl-button:focus-visible, .gl-sidebar a:focus-visible, .gl-pager a:focus-visible, .gl-home:focus-visible {
  outline: 3px solid #b35900; outline-offset: 2px; }
.gl-layout { display: grid; grid-template-columns: var(--gl-sidebar-width) minmax(0, 1fr);
  align-items: start; }
.gl-sidebar { position: sticky; top: 0; max-height: 100vh; overflow-y: auto; box-sizing: border-box;
  padding: 1em 1em 2em 1.2em; border-right: 1px solid #e0e0e0; font-family: var(--jp-ui-font-family);
  font-size: 0.9rem; line-height: 1.4; }
.gl-sidebar .gl-nav-title { font-weight: 600; margin: 1em 0 0.3em; color: #1a1a1a; }
.gl-sidebar ol, .gl-sidebar ul { list-style: none; margin: 0; padding: 0; }
.gl-sidebar li { margin: 0.25em 0; }
.gl-sidebar a { color: #1a4f7d; }
.gl-sidebar a[aria-current="page"] { font-weight: 700; color: #1a1a1a; text-decoration: none;
  border-left: 3px solid var(--gl-accent); padding-left: 0.4em; }
.gl-layout > main { min-width: 0; padding: 0 1em 2em; }
.gl-pager { display: flex; justify-content: space-between; gap: 1em; margin: 2em 0 1em; padding-top: 1em;
  border-top: 1px solid #e0e0e0; font-family: var(--jp-ui-font-family); }
.gl-pager .gl-next { margin-left: auto; text-align: right; }
.gl-pager a { color: #1a4f7d; }
.gl-footer { padding: 1em 1.2em 2em; color: #4a4a4a; font-family: var(--jp-ui-font-family);
  font-size: 0.85rem; border-top: 1px solid #e0e0e0; }
.gl-figure img { max-width: 100%; height: auto; }
.gaugelab-widget-note { border: 1px dashed #767676; padding: 6px 10px; color: #3d3d3d; font-size: 0.9em; }
@media (max-width: 62rem) {
  .gl-layout { display: block; }
  .gl-sidebar { position: static; max-height: none; border-right: 0; border-bottom: 1px solid #e0e0e0; }
}
"""


# ------------------------------------------------------------------------------------------------
# What the site holds
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    """One page: ``source`` (path in the repository, or None for the index), ``out`` (path in the site)."""

    source: str | None
    out: str
    title: str
    kind: str  # "index" | "notebook" | "doc"

    @property
    def binder_path(self) -> str:
        return self.source or "notebooks/00_start_here.ipynb"


def course_notebooks() -> list[Path]:
    """notebooks/NN_*.ipynb, sorted."""
    return sorted(REPO.glob("notebooks/[0-9][0-9]_*.ipynb"))


def course_docs() -> list[Path]:
    """docs/*.md present now: the DOC_ORDER guides first, then the others alphabetically."""
    docs = sorted(REPO.glob("docs/*.md"))
    rank = {name: i for i, name in enumerate(DOC_ORDER)}
    return sorted(docs, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def first_heading(markdown: str) -> str | None:
    m = re.search(r"^#\s+(.+?)\s*#*\s*$", markdown, re.M)
    return m.group(1).strip() if m else None


def plain(text: str, markdown: bool = True) -> str:
    """Title text as plain text: no HTML tags; for Markdown also no backticks, emphasis marks or $."""
    text = re.sub(r"<br\s*/?>", " — ", text)
    text = re.sub(r"<[^>]+>", "", text)
    if markdown:
        text = re.sub(r"[`*_]|\$", "", text)
    return html.unescape(re.sub(r"\s+", " ", text)).strip()


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            title = first_heading(cell.source)
            if title:
                return plain(title)
    return fallback


def estimated_time(nb: nbformat.NotebookNode) -> str | None:
    for cell in nb.cells[:3]:
        if cell.cell_type == "markdown":
            m = re.search(r"\*\*Estimated time\*\*:?\s*([^\n.]+)", cell.source)
            if m:
                return m.group(1).strip()
    return None


def site_pages(notebooks: list[Path], docs: list[Path]) -> list[Page]:
    pages = [Page(None, "index.html", SITE_NAME, "index")]
    for p in notebooks:
        nb = nbformat.read(p, as_version=4)
        rel = p.relative_to(REPO).as_posix()
        pages.append(Page(rel, f"notebooks/{p.stem}.html", notebook_title(nb, p.stem), "notebook"))
    for p in docs:
        rel = p.relative_to(REPO).as_posix()
        title = plain(first_heading(p.read_text(encoding="utf-8")) or p.stem.replace("_", " ").capitalize())
        pages.append(Page(rel, f"docs/{p.stem}.html", title, "doc"))
    return pages


def github_slug(override: str | None = None) -> str:
    """OWNER/REPO: ``override``, else ``[tool.gaugelab] github`` of pyproject.toml, else the placeholder."""
    if override:
        return override
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())
    return conf.get("tool", {}).get("gaugelab", {}).get("github", PLACEHOLDER_SLUG)


def binder_url(slug: str, repo_path: str) -> str:
    return f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/{repo_path}"


def package_version() -> str:
    text = (REPO / "gaugelab" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


# ------------------------------------------------------------------------------------------------
# Notebook execution
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# Outputs for a kernel-less page
# ------------------------------------------------------------------------------------------------
def _text(value) -> str:
    if isinstance(value, dict):
        value = value.get("text", "")
    return plain(str(value or ""), markdown=False)  # plotly shows _ and * as they are


def figure_alt(fig: dict) -> str:
    """Alt text of a plotly figure (its JSON): title, axis titles, panel titles and legend entries."""
    layout = fig.get("layout", {}) or {}
    parts = []
    title = _text(layout.get("title"))
    parts.append(f"Figure: {title}." if title else "Figure.")
    axes = []
    for key in sorted(k for k in layout if re.fullmatch(r"[xy]axis\d*", k)):
        t = _text((layout[key] or {}).get("title"))
        if t and t not in axes:
            axes.append(t)
    if axes:
        parts.append("Axes: " + "; ".join(axes) + ".")
    panels = [_text(a.get("text")) for a in layout.get("annotations", []) or [] if isinstance(a, dict)]
    panels = [p for p in dict.fromkeys(panels) if p and len(p) < 120]
    if panels:
        parts.append("Panels: " + "; ".join(panels[:8]) + ".")
    names = []
    for trace in fig.get("data", []) or []:
        name = _text(trace.get("name"))
        if name and trace.get("showlegend", True) is not False and name not in names:
            names.append(name)
    if names:
        shown = names[:12]
        more = f" and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
        parts.append("Legend: " + ", ".join(shown) + more + ".")
    return " ".join(parts)


def _img(png_b64: str, alt: str) -> str:
    return (
        f'<figure class="gl-figure"><img src="data:image/png;base64,{png_b64}" alt="{html.escape(alt)}">'
        "</figure>"
    )


def _plotly_div(fig: dict, alt: str) -> str:
    import plotly.io as pio

    div = pio.to_html(
        fig, include_plotlyjs=False, full_html=False, validate=False, config={"displaylogo": False}
    )
    return f'<div class="gl-figure" role="img" aria-label="{html.escape(alt)}">{div}</div>'


def _figure_html(data: dict, interactive: bool) -> tuple[str | None, bool]:
    """(HTML of the figure in ``data``, needs plotly.js) or (None, False) when it holds no figure."""
    fig = data.get(PLOTLY_MIME)
    png = data.get("image/png")
    if fig is not None:
        alt = figure_alt(fig)
        if png and not interactive:
            return _img(png, alt), False
        return _plotly_div(fig, alt), True
    if png:
        return _img(png, "Figure."), False
    return None, False


def static_outputs(nb: nbformat.NotebookNode, interactive: bool = False) -> bool:
    """Rewrite outputs for a kernel-less page (in place); True if the page needs plotly.js."""
    needs_plotlyjs = False
    nb.metadata.pop("widgets", None)  # no widget state: nbconvert must not pull the widget manager
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            if WIDGET_MIME in data:
                fallback, js = _figure_html(data, interactive)
                if fallback is None and "text/html" in data:
                    fallback = (
                        data["text/html"]
                        if isinstance(data["text/html"], str)
                        else "".join(data["text/html"])
                    )
                out["data"] = {"text/html": (fallback or "") + WIDGET_NOTE}
                needs_plotlyjs |= js
            elif PLOTLY_MIME in data or "image/png" in data:
                figure, js = _figure_html(data, interactive)
                out["data"] = {"text/html": figure}
                out["metadata"] = {}
                needs_plotlyjs |= js
    return needs_plotlyjs


# ------------------------------------------------------------------------------------------------
# One page
# ------------------------------------------------------------------------------------------------
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"  # the configuration jupyter-server-mathjax ships
STIX_CONFIG = (
    '<script type="text/x-mathjax-config">MathJax.Hub.Config({"HTML-CSS": '
    '{availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", webFont: "STIX-Web", imageFont: null}});'
    "</script>\n"
)


def install_mathjax(out: Path) -> str | None:
    """Copy MathJax 2 (from the jupyter-server-mathjax package) to ``out/mathjax`` so that pages
    typeset their maths offline; returns the site-relative URL, or None without the package."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dest = out / "mathjax"
    if not (dest / "MathJax.js").exists():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    return f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def _relative(target: str, page_out: str) -> str:
    """URL of site path ``target`` from the page at site path ``page_out``."""
    return os.path.relpath(target, start=os.path.dirname(page_out) or ".").replace(os.sep, "/")


def export_html(
    nb: nbformat.NotebookNode, interactive: bool = False, mathjax_url: str | None = None, language: str = "en"
) -> str:
    """The notebook as one HTML page (JupyterLab light look, outputs made static); no site chrome."""
    import plotly.offline
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    needs_plotlyjs = static_outputs(nb, interactive)
    kw = {"mathjax_url": mathjax_url} if mathjax_url else {}
    exporter = HTMLExporter(template_name="lab", language_code=language, **kw)
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


class Site:
    """The pages of one build and what links between them need: the slug, the version, the output."""

    def __init__(self, pages: list[Page], out: Path, slug: str, version: str):
        self.pages, self.out, self.slug, self.version = pages, out, slug, version
        self.by_source = {p.source: p for p in pages if p.source}
        self.problems: list[str] = []

    def github_url(self, repo_rel: str, is_dir: bool) -> str:
        return f"https://github.com/{self.slug}/{'tree' if is_dir else 'blob'}/HEAD/{repo_rel}"

    def rewrite_link(self, href: str, page: Page) -> str:
        """A link of ``page``'s source, as it must read on the site."""
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("#", "mailto:", "data:")) or not parts.path:
            return href
        base = PurePosixPath(page.source).parent if page.source else PurePosixPath(".")
        target = os.path.normpath((base / parts.path).as_posix()).replace(os.sep, "/")
        frag = f"#{parts.fragment}" if parts.fragment else ""
        if target in self.by_source:
            return _relative(self.by_source[target].out, page.out) + frag
        path = REPO / target
        if not target.startswith("..") and path.exists():
            return self.github_url(target, path.is_dir()) + frag
        self.problems.append(f"{page.out}: link to a missing file: {href}")
        return href

    def chrome(self, soup, page: Page, main) -> None:
        """Header, sidebar, previous/next links and footer around ``main``."""

        def tag(name, attrs=None, text=None):
            t = soup.new_tag(name, attrs=attrs or {})
            if text is not None:
                t.string = text
            return t

        rel = lambda target: _relative(target, page.out)  # noqa: E731
        body = soup.body
        skip = tag("a", {"class": "gl-skip", "href": "#gl-content"}, "Skip to the content")
        header = tag("header", {"class": "gl-header"})
        header.append(tag("a", {"class": "gl-home", "href": rel("index.html")}, SITE_NAME))
        header.append(tag("span", {"class": "gl-version"}, f"gaugelab {self.version}"))
        actions = tag("div", {"class": "gl-actions"})
        actions.append(
            tag(
                "a",
                {"class": "gl-button", "href": binder_url(self.slug, page.binder_path)},
                "Launch on Binder",
            )
        )
        if page.kind == "notebook":
            actions.append(
                tag(
                    "a",
                    {
                        "class": "gl-button gl-secondary",
                        "href": PurePosixPath(page.source).name,
                        "download": "",
                    },
                    "Download notebook",
                )
            )
        header.append(actions)

        nav = tag("nav", {"class": "gl-sidebar", "aria-label": "Course pages"})
        nav.append(tag("p", {"class": "gl-nav-title"}, "Course"))
        groups = [("ol", [p for p in self.pages if p.kind in ("index", "notebook")])]
        docs = [p for p in self.pages if p.kind == "doc"]
        lists = []
        for name, items in groups + ([("ul", docs)] if docs else []):
            lst = tag(name)
            for p in items:
                a = tag("a", {"href": rel(p.out)}, "Home" if p.kind == "index" else p.title)
                if p == page:
                    a["aria-current"] = "page"
                li = tag("li")
                li.append(a)
                lst.append(li)
            lists.append(lst)
        nav.append(lists[0])
        if docs:
            nav.append(tag("p", {"class": "gl-nav-title"}, "Guides"))
            nav.append(lists[1])

        i = self.pages.index(page)
        pager = tag("nav", {"class": "gl-pager", "aria-label": "Previous and next page"})
        if i > 0:
            prev = self.pages[i - 1]
            a = tag(
                "a", {"class": "gl-prev", "href": rel(prev.out), "rel": "prev"}, f"← Previous: {prev.title}"
            )
            pager.append(a)
        if i + 1 < len(self.pages):
            nxt = self.pages[i + 1]
            pager.append(
                tag("a", {"class": "gl-next", "href": rel(nxt.out), "rel": "next"}, f"Next: {nxt.title} →")
            )

        footer = tag("footer", {"class": "gl-footer"})
        footer.append(
            tag(
                "p",
                text=(
                    f"GaugeLab {self.version}. Figures are static here; the widgets need JupyterLab "
                    "(locally: bash scripts/open-course.sh) or Binder. Cite: CITATION.cff."
                ),
            )
        )

        main["id"] = "gl-content"
        main.append(pager)
        layout = tag("div", {"class": "gl-layout"})
        main.replace_with(layout)
        layout.append(nav)
        layout.append(main)
        body.insert(0, header)
        body.insert(0, skip)
        body.append(footer)

    def finish(self, raw_html: str, page: Page) -> str:
        """Title, styles, working links and the site chrome for one exported page."""
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(raw_html, features="html.parser")
        soup.html["lang"] = "en"
        soup.title.string = page.title if page.kind == "index" else f"{page.title} · {SITE_NAME}"
        style = soup.new_tag("style")
        style.string = SITE_CSS
        soup.head.append(style)
        main = soup.find("main")
        # GitHub-style in-page anchors (#1-model-and-gauge-group, as a guide written for GitHub has
        # them) point at the id nbconvert gave the heading (1.-Model-and-gauge-group).
        github_ids = {github_anchor(h["id"]): h["id"] for h in main.find_all(HEADINGS, id=True)}
        ids = {t["id"] for t in main.find_all(id=True)}
        for a in main.find_all("a", href=True):
            frag = a["href"][1:] if a["href"].startswith("#") else None
            if frag is not None and frag not in ids and frag in github_ids:
                a["href"] = "#" + github_ids[frag]
            a["href"] = self.rewrite_link(a["href"], page)
        for img in main.find_all("img", src=True):
            src = img["src"]
            if urlsplit(src).scheme or src.startswith("data:"):
                continue
            base = PurePosixPath(page.source).parent if page.source else PurePosixPath(".")
            target = os.path.normpath((base / src).as_posix())
            if (REPO / target).is_file() and not target.startswith(".."):
                dest = self.out / "assets" / target
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(REPO / target, dest)
                img["src"] = _relative(f"assets/{target}", page.out)
            else:
                self.problems.append(f"{page.out}: image not found: {src}")
            if not img.get("alt") or img["alt"].startswith("No description"):
                self.problems.append(f"{page.out}: image without alt text: {src[:80]}")
        self.chrome(soup, page, main)
        return str(soup)

    def write(self, page: Page, nb: nbformat.NotebookNode, interactive: bool, mathjax: str | None) -> Path:
        url = _relative(mathjax, page.out) if mathjax else None
        dest = self.out / page.out
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(self.finish(export_html(nb, interactive, url), page), encoding="utf-8")
        if page.kind == "notebook":
            shutil.copyfile(REPO / page.source, dest.parent / PurePosixPath(page.source).name)
        return dest


HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]


def github_anchor(heading_id: str) -> str:
    """The anchor GitHub gives a heading, from nbconvert's id: lower case, punctuation other than
    '-' and '_' dropped ("1.-Model-and-gauge-group" -> "1-model-and-gauge-group")."""
    text = unquote(heading_id).replace("-", " ").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def markdown_notebook(text: str) -> nbformat.NotebookNode:
    """A markdown document as a one-cell notebook (so that it gets the same look and MathJax)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    return nb


INDEX_INTRO = """\
An interactive course on the rescaling symmetry (“gauge redundancy”) of ReLU-type neural networks and on
soft gauge fixing, with the small Python package `gaugelab`. It teaches and reproduces, under a stated
protocol, R. Carmo Terin, *Scale redundancy and soft gauge fixing in positively homogeneous neural
networks*, arXiv:2602.14729 (2026).

These pages show every notebook as executed, with its figures. The widgets need a running kernel: open
a notebook in JupyterLab, on your machine (`bash scripts/open-course.sh`) or on Binder (the button at
the top of each page)."""


def index_notebook(site: Site, times: dict, timings: dict) -> nbformat.NotebookNode:
    notebooks = [p for p in site.pages if p.kind == "notebook"]
    ran = {p.source: timings.get(PurePosixPath(p.source).name) for p in notebooks}
    show_ran = any(v is not None for v in ran.values())  # a build that executed the notebooks
    head = "| notebook | estimated time |" + (" executed in |" if show_ran else "")
    rule = "|---|---|" + ("---|" if show_ran else "")
    rows = [
        f"| [{p.title}]({p.source}) | {times.get(p.source) or '—'} |"
        + ((f" {ran[p.source]:.1f} s |" if ran[p.source] is not None else " — |") if show_ran else "")
        for p in notebooks
    ]
    docs = [f"- [{p.title}]({p.source})" for p in site.pages if p.kind == "doc"]
    text = "\n".join(
        [
            "# GaugeLab course",
            "",
            INDEX_INTRO,
            "",
            "## Notebooks",
            "",
            head,
            rule,
            *rows,
            "",
            *(["## Guides", "", *docs, ""] if docs else []),
            f"This is gaugelab {site.version}.",
        ]
    )
    return markdown_notebook(text)


# ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "html")
    ap.add_argument("--no-execute", action="store_true", help="export the committed outputs without running")
    ap.add_argument("--interactive", action="store_true", help="draw every figure with plotly.js (offline)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ap.add_argument("--github", help="OWNER/REPO for the Binder and source links (default: pyproject.toml)")
    args = ap.parse_args(argv)

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    mathjax = install_mathjax(out)
    if mathjax is None:
        print(
            "error: jupyter-server-mathjax is not installed: maths could not be typeset offline",
            file=sys.stderr,
        )
        return 1
    slug = github_slug(args.github)
    if slug == PLACEHOLDER_SLUG:
        print(
            f"note: the GitHub slug is the placeholder {slug}: Binder and source links point nowhere "
            "(set [tool.gaugelab] github in pyproject.toml, or pass --github OWNER/REPO)",
            file=sys.stderr,
        )
    notebooks = [p.resolve() for p in args.notebooks] or course_notebooks()
    site = Site(site_pages(course_notebooks(), course_docs()), out, slug, package_version())
    timings_file = out / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    times, failed = {}, []
    for path in course_notebooks():
        times[path.relative_to(REPO).as_posix()] = estimated_time(nbformat.read(path, as_version=4))
    for path in notebooks:
        page = site.by_source[path.relative_to(REPO).as_posix()]
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
        dest = site.write(page, nb, args.interactive, mathjax)
        secs = "" if sec is None else f"{sec:6.1f} s"
        print(f"{path.name:45s} {secs:>8}  -> {dest} ({dest.stat().st_size / 1e6:.1f} MB)")
    for page in site.pages:
        if page.kind == "doc":
            nb = markdown_notebook((REPO / page.source).read_text(encoding="utf-8"))
            print(f"{page.source:45s} {'':>8}  -> {site.write(page, nb, False, mathjax)}")
    if not args.no_execute:
        timings_file.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    index = site.pages[0]
    print(
        f"{'index':45s} {'':>8}  -> {site.write(index, index_notebook(site, times, timings), False, mathjax)}"
    )
    for problem in site.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {failed}", file=sys.stderr)
    return 1 if failed or site.problems else 0


if __name__ == "__main__":
    sys.exit(main())
