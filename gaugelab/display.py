"""Showing plotly figures so that they are readable with and without a kernel.

:func:`show` emits one output with the interactive plotly JSON (JupyterLab, VS Code, nbviewer with
plotly) and, where a static export works offline (kaleido driving a local Chromium), a PNG that
GitHub and plain HTML exports display. Set GAUGELAB_STATIC_PNG=0 to skip the PNG.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import warnings

import plotly.graph_objects as go
import plotly.io as pio

_png_works: bool | None = None


#: Options of every kaleido session: no MathJax. kaleido's page otherwise loads MathJax 3 from a CDN
#: (cdnjs.cloudflare.com) in its Chromium, a request leaving the machine at run time; no GaugeLab
#: figure uses LaTeX text.
KALEIDO_OPTIONS = {"mathjax": False}


def start_png_session(tabs: int = 1) -> bool:
    """Start, once per process, the kaleido browser session that every static export here uses
    (:func:`static_png`, the CLI's PNG export); it starts in a background thread, so a caller can
    start it early and let Chromium launch while it computes. ``tabs``: pages rendering in parallel.
    Returns False when kaleido cannot be imported."""
    if isinstance(tabs, bool) or not isinstance(tabs, int) or tabs < 1:
        raise ValueError(f"tabs: expected a positive integer, got {tabs!r}")
    try:
        import kaleido
    except ImportError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kaleido.start_sync_server(n=tabs, silence_warnings=True, **KALEIDO_OPTIONS)
    atexit.register(stop_png_session)
    return True


def stop_png_session() -> None:
    """Close the browser of :func:`start_png_session` now (a no-op if none was started)."""
    try:
        import kaleido
    except ImportError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kaleido.stop_sync_server(silence_warnings=True)


def static_png(fig: go.Figure, width: int | None = None, height: int | None = None) -> bytes | None:
    """The figure as PNG bytes, or None when no offline static export is available here.

    Size: ``width``/``height`` if given; else 820 px wide and the figure's own layout height (or
    460 px). The width is not taken from the layout: with a narrow layout width, JupyterLab's plotly
    renderer was seen to keep showing the PNG instead of drawing the interactive plot.
    """
    global _png_works
    if os.environ.get("GAUGELAB_STATIC_PNG", "1") == "0" or _png_works is False:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if _png_works is None and not start_png_session():  # one browser for the session
                raise ImportError("kaleido")
            width = width or 820
            height = height or fig.layout.height or 460
            png = fig.to_image(format="png", width=width, height=height)
    except Exception:  # no kaleido, or no Chromium for it: the interactive JSON still shows
        _png_works = False
        return None
    _png_works = True
    return png


def mimebundle(fig: go.Figure, png: bool = True) -> dict:
    """{"application/vnd.plotly.v1+json": ..., "image/png": ..., "text/plain": ...} for ``fig``."""
    bundle = {
        "application/vnd.plotly.v1+json": json.loads(pio.to_json(fig, validate=False)),
        "text/plain": f"<plotly figure: {fig.layout.title.text or 'untitled'}>",
    }
    if png and (data := static_png(fig)) is not None:
        bundle["image/png"] = base64.b64encode(data).decode()
    return bundle


def show(fig: go.Figure, png: bool = True) -> None:
    """Display ``fig`` as interactive plotly plus (where possible) a static PNG fallback."""
    from IPython.display import display

    display(mimebundle(fig, png=png), raw=True)
