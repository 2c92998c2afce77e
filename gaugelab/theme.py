"""One look for every GaugeLab figure: a colour-blind-safe plotly template, light and dark.

- Categorical colours: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), ordered
  so that the first four stay distinct under deuteranopia, protanopia and tritanopia. Beyond four
  series, figures also vary the line style (:data:`DASHES`) or the marker (:data:`SYMBOLS`).
- Maps (heatmaps, contours): ``cividis`` (perceptually uniform and readable with colour-vision
  deficiencies) for sequential data.
- Numbers on axes: exponent format "power" (10⁻⁶, never SI prefixes such as "100μ" on a precision
  axis); log axes get one labelled tick per decade (:func:`log_axis`).
- Room for the title above the plot, so the modebar never covers it.

Templates are registered in ``plotly.io.templates`` as ``"gaugelab"`` and ``"gaugelab_dark"``;
:func:`template` picks one: ``GAUGELAB_THEME=light|dark`` if set, else JupyterLab's saved theme
setting when it can be read (a dark theme → the dark template), else light.
Readout HTML takes its verdict colours from JupyterLab's CSS theme variables (:data:`VERDICT_CSS`).
"""

from __future__ import annotations

import json
import os
import re
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

#: Fixed roles, so an arm has the same colour in every figure of the course.
ROLE_COLORS = {
    "baseline": OKABE_ITO[0],
    "gauge_fixed": OKABE_ITO[1],
    "balanced_init": OKABE_ITO[2],
    "weight_decay": OKABE_ITO[4],
    "target": "#000000",
    "reference": "#777777",
}

#: Verdict colours for HTML readouts: JupyterLab theme variables (right in light and dark themes),
#: with fallbacks of at least 4.5:1 contrast on white for pages without JupyterLab's CSS.
VERDICT_CSS = {
    "ok": "var(--jp-success-color0, #1b5e20)",
    "bad": "var(--jp-error-color0, #b71c1c)",
    "warn": "var(--jp-warn-color0, #8a4b00)",
    "muted": "var(--jp-ui-font-color2, #555555)",
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


def _jupyterlab_theme_is_dark() -> bool | None:
    """True/False from JupyterLab's saved theme setting, None when there is none to read."""
    default = Path.home() / ".jupyter" / "lab" / "user-settings"
    roots = [os.environ.get("JUPYTERLAB_SETTINGS_DIR"), str(default)]
    for root in filter(None, roots):
        path = Path(root) / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
        try:
            text = path.read_text()
        except OSError:
            continue
        text = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # the settings files allow // comments
        try:
            name = json.loads(text).get("theme")
        except (ValueError, AttributeError):
            continue
        if isinstance(name, str):
            return "dark" in name.lower()
    return None


def theme() -> str:
    """ "light" or "dark": ``GAUGELAB_THEME`` if set, else JupyterLab's saved theme, else "light"."""
    env = os.environ.get("GAUGELAB_THEME", "").strip().lower()
    if env:
        if env not in THEMES:
            raise ValueError(f"GAUGELAB_THEME: expected one of {THEMES}, got {env!r}")
        return env
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
