"""One look for every GaugeLab figure: a colour-blind-safe plotly template, light and dark.

- Categorical colours: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), ordered
  so that the first four stay distinct under deuteranopia, protanopia and tritanopia
  (tests/test_theme.py simulates them with Machado, Oliveira & Fernandes 2009 and Brettel, Viénot &
  Mollon 1997 and requires a CIEDE2000 colour difference of at least 10 between any two of the four).
  Beyond four series, figures also vary the line style (:data:`DASHES`) or the marker (:data:`SYMBOLS`).
- Maps (heatmaps, contours): ``cividis`` (perceptually uniform and readable with colour-vision
  deficiencies) for sequential data.
- Numbers on axes: exponent format "power" (10⁻⁶, never SI prefixes such as "100μ" on a precision
  axis); log axes get one labelled tick per decade (:func:`log_axis`).
- Room for the title above the plot, so the modebar never covers it.

Templates are registered in ``plotly.io.templates`` as ``"gaugelab"`` and ``"gaugelab_dark"``;
:func:`template` picks one (:func:`theme`): ``GAUGELAB_THEME=light|dark`` if set; else the theme the
browser reported through a :func:`follow_jupyterlab` widget in this kernel; else JupyterLab's saved
theme setting (user settings, then the environment's ``overrides.json``) when it can be read; else
light. :func:`follow_jupyterlab` also restyles FigureWidgets when the user switches JupyterLab's theme.
Readout HTML takes its verdict colours from JupyterLab's CSS theme variables (:data:`VERDICT_CSS`),
mixed toward the theme's text colour so that they reach 4.5:1 contrast in the light and dark themes.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import weakref
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

#: Okabe–Ito, in the order GaugeLab uses them (blue, vermillion, bluish green, orange, reddish
#: purple, sky blue, yellow, black). Yellow is last: it is weak on a white background.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Same hues for a dark background (black replaced by light grey).
OKABE_ITO_DARK = ("#56B4E9", "#E69F00", "#009E73", "#F0E442", "#CC79A7", "#0072B2", "#D55E00", "#DDDDDD")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "triangle-down")
SEQUENTIAL = "Cividis"

_ROLES_LIGHT = {
    "baseline": OKABE_ITO[0],
    "gauge_fixed": OKABE_ITO[1],
    "balanced_init": OKABE_ITO[2],
    "weight_decay": OKABE_ITO[4],
    "target": "#000000",
    "reference": "#777777",
}
#: On a dark background (black and the dark blue would vanish on it): the dark palette's first four,
#: which stay apart under the three colour-vision deficiencies (reddish purple would merge with
#: orange under tritanopia there).
_ROLES_DARK = {
    "baseline": OKABE_ITO_DARK[0],
    "gauge_fixed": OKABE_ITO_DARK[1],
    "balanced_init": OKABE_ITO_DARK[2],
    "weight_decay": OKABE_ITO_DARK[3],
    "target": "#DDDDDD",
    "reference": "#999999",
}


class _RoleColors(Mapping):
    """``ROLE_COLORS[role]``: the role's colour in the theme in force when it is read (:func:`theme`)."""

    def _table(self) -> dict:
        return _ROLES_DARK if theme() == "dark" else _ROLES_LIGHT

    def __getitem__(self, role: str) -> str:
        return self._table()[role]

    def __iter__(self):
        return iter(_ROLES_LIGHT)

    def __len__(self) -> int:
        return len(_ROLES_LIGHT)

    def __repr__(self) -> str:
        return f"ROLE_COLORS({self._table()!r})"


#: Fixed roles, so an arm has the same colour in every figure of the course (read it when the figure
#: is made: the values follow the light or dark theme).
ROLE_COLORS = _RoleColors()


def _verdict(variable: str, fallback: str, share: int = 70) -> str:
    """``share`` % of the theme colour ``variable`` mixed with the theme's strongest text colour
    (black in light themes, white in dark ones): darker on light backgrounds, lighter on dark ones."""
    return f"color-mix(in srgb, var({variable}, {fallback}) {share}%, var(--jp-content-font-color0, #000))"


#: Verdict colours for HTML readouts, from JupyterLab's theme variables. Plain ``--jp-*-color0``
#: values fall below 4.5:1 on JupyterLab 4.6's backgrounds (light ``--jp-warn-color0`` #e65100 on
#: white: 3.8; dark ``--jp-error-color0`` #d32f2f on #111: 3.8), so each is mixed toward the text
#: colour; tests/test_theme.py checks 4.5:1 in the light, dark and high-contrast themes, from the
#: installed JupyterLab's CSS and in Chromium. Fallbacks (no JupyterLab CSS) are the light theme's.
VERDICT_CSS = {
    "ok": _verdict("--jp-success-color1", "#388e3c"),
    "bad": _verdict("--jp-error-color1", "#d32f2f"),
    "warn": _verdict("--jp-warn-color1", "#f57c00"),
    "muted": "color-mix(in srgb, var(--jp-ui-font-color0, #000) 62%, var(--jp-layout-color0, #fff))",
}


def _axis(grid: str, line: str) -> dict:
    return dict(
        exponentformat="power",
        showexponent="all",
        gridcolor=grid,
        linecolor=line,
        zerolinecolor=grid,
        ticks="outside",
        automargin=True,
        title=dict(standoff=8),
    )


def _make(base: str, colors, grid: str, line: str, font: str) -> go.layout.Template:
    t = go.layout.Template(pio.templates[base])
    t.layout.update(
        colorway=list(colors),
        colorscale=dict(sequential=SEQUENTIAL, sequentialminus=SEQUENTIAL),
        font=dict(family="Open Sans, Arial, sans-serif", size=13, color=font),
        title=dict(x=0.0, xanchor="left", y=0.98, yanchor="top", font=dict(size=15)),
        margin=dict(t=70, l=60, r=20, b=50),
        xaxis=_axis(grid, line),
        yaxis=_axis(grid, line),
        legend=dict(bgcolor="rgba(0,0,0,0)"),
        hoverlabel=dict(namelength=-1),
    )
    t.data.heatmap = [go.Heatmap(colorscale=SEQUENTIAL)]
    t.data.contour = [go.Contour(colorscale=SEQUENTIAL)]
    return t


pio.templates["gaugelab"] = _make("plotly_white", OKABE_ITO, "#e5e5e5", "#444444", "#222222")
pio.templates["gaugelab_dark"] = _make("plotly_dark", OKABE_ITO_DARK, "#3a3a3a", "#bbbbbb", "#eeeeee")

THEMES = ("light", "dark")


_THEME_SETTINGS = ("@jupyterlab", "apputils-extension", "themes.jupyterlab-settings")
_THEME_PLUGIN = "@jupyterlab/apputils-extension:themes"


def _read_json(path: Path) -> dict | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # the settings files allow // comments
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _jupyterlab_theme_is_dark() -> bool | None:
    """True/False from JupyterLab's saved theme setting, None when there is none to read.

    The user's setting (``$JUPYTERLAB_SETTINGS_DIR`` or ``~/.jupyter/lab/user-settings``) wins over
    the environment's default (``<prefix>/share/jupyter/lab/settings/overrides.json``). With
    "adaptive-theme" on, JupyterLab follows the operating system, which the kernel cannot see: None.
    """
    default = Path.home() / ".jupyter" / "lab" / "user-settings"
    found: list[dict] = []
    for root in filter(None, [os.environ.get("JUPYTERLAB_SETTINGS_DIR"), str(default)]):
        settings = _read_json(Path(root).joinpath(*_THEME_SETTINGS))
        if settings is not None:
            found.append(settings)
            break
    overrides = _read_json(Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json")
    if overrides and isinstance(overrides.get(_THEME_PLUGIN), dict):
        found.append(overrides[_THEME_PLUGIN])
    for settings in found:
        if settings.get("adaptive-theme") is True:
            return None
        name = settings.get("theme")
        if isinstance(name, str):
            return "dark" in name.lower()
    return None


#: What a :func:`follow_jupyterlab` widget last read in the browser: "light", "dark" or None.
_browser_theme: str | None = None


def theme() -> str:
    """ "light" or "dark": ``GAUGELAB_THEME`` if set, else the theme the browser reported (see
    :func:`follow_jupyterlab`), else JupyterLab's saved theme, else "light"."""
    env = os.environ.get("GAUGELAB_THEME", "").strip().lower()
    if env:
        if env not in THEMES:
            raise ValueError(f"GAUGELAB_THEME: expected one of {THEMES}, got {env!r}")
        return env
    if _browser_theme is not None:
        return _browser_theme
    return "dark" if _jupyterlab_theme_is_dark() else "light"


def template(which: str | None = None) -> str:
    """The plotly template name for ``which`` ("light"/"dark"; default :func:`theme`)."""
    which = theme() if which is None else which
    if which not in THEMES:
        raise ValueError(f"which: expected one of {THEMES} or None, got {which!r}")
    return "gaugelab_dark" if which == "dark" else "gaugelab"


def colors(which: str | None = None) -> tuple[str, ...]:
    """The categorical palette of the current (or given) theme."""
    return OKABE_ITO_DARK if template(which) == "gaugelab_dark" else OKABE_ITO


def log_axis(**kw) -> dict:
    """Layout dict of a log axis with one labelled tick per decade and exponents as powers of 10."""
    return dict(type="log", dtick=1, exponentformat="power", showexponent="all", minor=dict(ticks=""), **kw)


def style(fig: go.Figure, which: str | None = None) -> go.Figure:
    """Apply the GaugeLab template to ``fig`` (in place) and return it."""
    fig.update_layout(template=template(which))
    return fig


# ------------------------------------------------------------------------------------------------
# Following JupyterLab's theme in the browser
# ------------------------------------------------------------------------------------------------
_PROBE_ESM = """
function render({ model, el }) {
  el.style.display = "none";
  const read = () => {
    const v = document.body.dataset.jpThemeLight;   // JupyterLab sets it on <body> for every theme
    if (v === undefined) return;                    // not JupyterLab: nothing to report
    const light = v !== "false";
    if (model.get("light") !== light) { model.set("light", light); model.save_changes(); }
  };
  read();
  const observer = new MutationObserver(read);
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
  return () => observer.disconnect();
}
export default { render };
"""


@functools.cache
def _probe_class():
    import anywidget
    import traitlets

    class ThemeProbe(anywidget.AnyWidget):
        """An invisible widget whose ``light`` trait is JupyterLab's ``data-jp-theme-light``."""

        _esm = _PROBE_ESM
        light = traitlets.Bool(None, allow_none=True).tag(sync=True)

    return ThemeProbe


def follow_jupyterlab(*figures):
    """An invisible widget that reads JupyterLab's theme in the browser and follows its changes.

    Display it (alone, or inside an app's box). When it reports, :func:`template` answers with the
    browser's theme from then on in this kernel (unless ``GAUGELAB_THEME`` is set), and each of
    ``figures`` (plotly ``FigureWidget``s, held weakly) is restyled with :func:`style`, also
    whenever the user switches JupyterLab's theme. Without a browser (nbconvert, nbval) it never
    reports and nothing changes.
    """
    probe = _probe_class()()
    refs = [weakref.ref(f) for f in figures]

    def changed(change) -> None:
        global _browser_theme
        if change["new"] is None:
            return
        _browser_theme = "light" if change["new"] else "dark"
        for ref in refs:
            fig = ref()
            if fig is not None:
                style(fig)

    probe.observe(changed, names="light")
    return probe
