"""A plotly figure redrawn in the browser from precomputed tables: no kernel round trip on a drag.

Why: with plotly's ``FigureWidget`` every slider step travels to the kernel, is computed, is
validated by plotly's Python objects and travels back before plotly.js redraws; measured in
JupyterLab + Chromium that is 90–250 ms per step and 2–6 redraws per second of drag (issue 11).
:class:`FrontFigure` draws the figure with plotly.js in the page (the ``plotly.min.js`` of the
installed plotly package, sent once per page through the widget's comm: no network) and redraws it
there when a control moves, from a *table*: for one control, every value of its grid and the
update the figure needs at that value, valid while the other controls keep given values.

    table = {"along": "lam", "at": {"lr": 0.03, "frame": 0},
             "values": [0.0, 0.05, ...], "updates": [update, update, ...]}
    update = {"traces": {"0": {"y": [...]}, "5": {"x": [...], "name": "now"}},
              "layout": {"xaxis.range": [0, 3]}, "readout": "<b>…</b>"}    # or {"figure": fig_json}

A state (the values of all controls) that no table holds is asked of the kernel: ``serve(state)``
returns its update (latest value wins: one request in flight). The app recomputes its tables around
the new state when the input is idle (:class:`gaugelab.widgets.live.WhenIdle`), so the next drag
along any control is drawn in the page again. The readout above the plot is part of the update, so
figure and readout change together.

The same update dicts are applied to a plain ``go.Figure`` on the Python side (:func:`apply`), the
mirror that tests, ``show_static`` and PNG export read: one source for what is drawn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import anywidget
import numpy as np
import plotly
import plotly.graph_objects as go
import traitlets
from ipywidgets.widgets.widget_selection import _Selection

#: significant digits kept for every coordinate sent to the browser (relative to the value itself:
#: a log axis keeps its small values; 5 digits are within 5e-5 of the value, far below a pixel)
DIGITS = 5


def rounded(values, digits: int = DIGITS) -> list:
    """``values`` (array-like of numbers) as a (nested) list of floats, each rounded to ``digits``
    significant digits of its own (so the small values of a log axis survive); NaN/inf become
    None (a gap in a plotly line), so the JSON stays valid. Each value is round(v·10^k)/10^k, the
    double nearest a short decimal (JSON writes it short)."""
    a = np.asarray(values, dtype=float)
    finite = np.isfinite(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.floor(np.log10(np.abs(a)))
    k = np.clip(digits - 1 - np.where(np.isfinite(exponent), exponent, 0), -300, 300)
    p = 10.0**k
    with np.errstate(invalid="ignore"):
        r = np.where(k >= 0, np.round(a * p) / p, np.round(a / 10.0**-k) * 10.0**-k)
    if finite.all():
        return r.tolist()
    return np.where(finite, r, None).tolist()


def update(traces: Mapping[int, Mapping[str, object]] | None = None, layout=None, readout=None) -> dict:
    """One update: ``traces`` = {trace index: {property path: value}}, ``layout`` = {property path:
    value} (paths such as ``"xaxis.range"``), ``readout`` = HTML. Values are kept as given (numpy
    arrays at full precision for the Python mirror); :func:`for_page` makes the JSON the page gets."""
    upd: dict = {}
    if traces:
        upd["traces"] = {str(int(i)): dict(p) for i, p in traces.items()}
    if layout:
        upd["layout"] = dict(layout)
    if readout is not None:
        upd["readout"] = str(readout)
    return upd


def for_page(upd: Mapping) -> dict:
    """``upd`` as JSON for the page: float arrays rounded to :data:`DIGITS` significant digits."""
    out = {k: v for k, v in upd.items() if k not in ("traces", "layout")}
    if "traces" in upd:
        out["traces"] = {i: {k: _jsonable(v) for k, v in p.items()} for i, p in upd["traces"].items()}
    if "layout" in upd:
        out["layout"] = {k: _jsonable(v) for k, v in upd["layout"].items()}
    return out


def merge(*updates: dict) -> dict:
    """Several updates as one (later ones win where they set the same property)."""
    out: dict = {}
    for u in updates:
        for i, props in u.get("traces", {}).items():
            out.setdefault("traces", {}).setdefault(i, {}).update(props)
        if "layout" in u:
            out.setdefault("layout", {}).update(u["layout"])
        if "readout" in u:
            out["readout"] = u["readout"]
    return out


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return rounded(v) if v.dtype.kind == "f" else v.tolist()
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, float) for x in v):
        return rounded(v)
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return v.item()
    return v


def apply(fig: go.Figure, upd: Mapping) -> go.Figure:
    """Apply one update (see the module docstring) to a Python-side ``go.Figure``, as plotly.js
    does in the page."""
    if "figure" in upd:
        new = go.Figure(upd["figure"])
        fig.data = ()
        fig.add_traces(list(new.data))
        fig.layout = new.layout
        return fig
    with fig.batch_update():
        for i, props in upd.get("traces", {}).items():
            for path, value in props.items():
                fig.data[int(i)][path] = value
        for path, value in upd.get("layout", {}).items():
            fig.layout[path] = value
    return fig


def table(
    along: str,
    at: Mapping[str, object],
    values,
    updates,
    complete: bool = True,
    sets: Mapping[str, object] | None = None,
) -> dict:
    """A table for control ``along``: ``updates[i]`` is drawn at ``values[i]`` while the other
    controls hold the values in ``at``. ``complete=False``: the updates change only what depends
    on ``along``, so the page uses them only while its figure already shows the state ``at``.
    ``sets`` = {control: value}: moving ``along`` also sets these controls (the page does it at
    once, e.g. another neuron puts its slider back to 0); ``at`` then normally holds them too."""
    values, updates = [_jsonable(v) for v in values], [for_page(u) for u in updates]
    if len(values) != len(updates):
        raise ValueError(f"updates: expected one update per value ({len(values)}), got {len(updates)}")
    at = {k: _jsonable(v) for k, v in at.items()}
    out = {"along": along, "at": at, "values": values, "updates": updates, "complete": bool(complete)}
    if sets:
        out["sets"] = {k: _jsonable(v) for k, v in sets.items()}
    return out


class Text:
    """A readout's current HTML (``.value``), drawn by the page's FrontFigure above the plot."""

    def __init__(self, value: str = ""):
        self.value = value


def slider_grid(slider, decimals: int = 9) -> list[float]:
    """Every value a FloatSlider can take (min + k·step up to max) and its current value,
    rounded to ``decimals`` decimals, sorted."""
    n = int(round((slider.max - slider.min) / slider.step))
    grid = {round(slider.min + k * slider.step, decimals) for k in range(n + 1)}
    return sorted(grid | {round(slider.value, decimals)})


def _is_selection(w) -> bool:
    """A single-selection widget (Dropdown, ToggleButtons, SelectionSlider …): it syncs ``index``."""
    return isinstance(w, _Selection)


def _option_values(w) -> list:
    return [o[1] if isinstance(o, tuple) else o for o in w.options]


@cache
def _plotly_js() -> bytes:
    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


class FrontFigure(anywidget.AnyWidget):
    """A readout above a plotly figure, both redrawn in the browser from :attr:`tables`.

    ``controls`` = {name: ipywidgets value widget}; ``serve(state)`` returns the update for a
    state {name: value} that no table holds (called when the browser asks).
    """

    _esm = Path(__file__).with_name("front.js")
    figure = traitlets.Dict().tag(sync=True)
    figure_state = traitlets.Dict().tag(sync=True)
    tables_json = traitlets.Unicode("[]").tag(sync=True)  # sent as one JSON string: far faster to
    # serialise than a nested list (ipywidgets walks a list's every element looking for buffers)
    controls = traitlets.Dict().tag(sync=True)
    control_keys = traitlets.Dict().tag(sync=True)  # {name: "value" or "index"}: what the page reads
    readout = traitlets.Unicode("").tag(sync=True)
    readout_min_height = traitlets.Unicode("0").tag(sync=True)
    #: contour/heatmap traces and the traces listed in ``under_traces`` (indexes of traces no
    #: control moves) are drawn with the axes in a plot underneath, redrawn only when they change;
    #: the rest on top, the plot a control redraws (front.js ``makeLayers``). False draws everything
    #: in one plot (the browser test compares the two). A trace on top must lie within the range
    #: the traces underneath give an autoranged axis (the top plot takes that range).
    layered = traitlets.Bool(True).tag(sync=True)
    under_traces = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(
        self,
        fig: go.Figure,
        controls: Mapping[str, object],
        serve: Callable[[dict], dict],
        readout: str = "",
        readout_min_height: str = "0",
        on_shape: Callable[[dict], None] | None = None,
        config: Mapping | None = None,
        under_traces=(),
    ):
        if not callable(serve):
            raise ValueError(f"serve: expected a callable taking a state dict, got {serve!r}")
        for name, w in controls.items():
            if not hasattr(w, "model_id") or not hasattr(w, "value"):
                raise ValueError(f"controls: {name!r} is not an ipywidgets value widget ({w!r})")
        figure = fig.to_plotly_json()
        if config:
            figure["config"] = dict(config)
        under = list(under_traces)
        if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(fig.data) for i in under):
            raise ValueError(
                f"under_traces: expected indexes of traces of the figure (0 to {len(fig.data) - 1}), "
                f"got {under!r}"
            )
        super().__init__(
            under_traces=sorted(set(under)),
            figure=figure,
            figure_state=self._page_state(controls),
            controls={name: w.model_id for name, w in controls.items()},
            control_keys={name: "index" if _is_selection(w) else "value" for name, w in controls.items()},
            readout=str(readout),
            readout_min_height=readout_min_height,
        )
        self._controls = dict(controls)
        self._tables: list = []
        self.serve = serve
        self.on_shape = on_shape
        self._config = dict(config or {})
        self.served = 0  # updates computed for the browser (tests and benchmarks read it)
        self.on_msg(self._on_msg)

    @property
    def tables(self) -> list:
        """The tables the page holds (see the module docstring); assign a list to send new ones.

        Values of a selection control (Dropdown, ToggleButtons, SelectionSlider) are given as its
        option values; the page gets them as option indexes (the only thing such a widget syncs)."""
        return self._tables

    @tables.setter
    def tables(self, tables: list) -> None:
        self._tables = list(tables)
        page = [self._table_for_page(t) for t in self._tables]
        self.tables_json = json.dumps(page, allow_nan=False, separators=(",", ":"))

    def _table_for_page(self, t: dict) -> dict:
        if not any(_is_selection(w) for w in self._controls.values()):
            return t
        out = dict(t)
        if t["along"] in self._controls:
            out["values"] = [self._to_page(t["along"], v) for v in t["values"]]
        for k in ("at", "sets"):
            if k in t:
                out[k] = {n: self._to_page(n, v) for n, v in t[k].items()}
        return out

    def _to_page(self, name: str, value):
        """A control's value as the page holds it (an option index for a selection control)."""
        w = self._controls.get(name)
        if w is None or not _is_selection(w):
            return value
        for i, v in enumerate(_option_values(w)):
            if v == value or (isinstance(v, float) and isinstance(value, float) and math.isclose(v, value)):
                return i
        raise ValueError(f"tables: {value!r} is not an option of control {name!r}")

    def _from_page(self, state: dict) -> dict:
        """A state from the page as values (option indexes of selection controls looked up)."""
        out = dict(state)
        for name, w in self._controls.items():
            if _is_selection(w) and isinstance(out.get(name), int):
                out[name] = _jsonable(_option_values(w)[out[name]])
        return out

    @staticmethod
    def _page_state(controls) -> dict:
        return {name: w.index if _is_selection(w) else _jsonable(w.value) for name, w in controls.items()}

    def state(self) -> dict:
        """The controls' current values (option values for selection controls)."""
        return {name: _jsonable(w.value) for name, w in self._controls.items()}

    def redraw(self, fig: go.Figure, readout: str = "") -> None:
        """Replace the whole figure (a state no table can reach, e.g. another neuron's figure)."""
        figure = fig.to_plotly_json()
        if self._config:
            figure["config"] = self._config
        self.set_trait("figure_state", self._page_state(self._controls))
        self.set_trait("readout", str(readout))
        self.figure = figure

    def push(self, upd: Mapping, state: Mapping | None = None) -> None:
        """Draw ``upd`` in the page now, for the current state (e.g. after the kernel moved a
        dragged shape to where it belongs), or for ``state`` = {control: value} (values the
        kernel is about to give the controls: the page then draws once, not their table first)."""
        state = {
            **self._page_state(self._controls),
            **{n: self._to_page(n, _jsonable(v)) for n, v in (state or {}).items()},
        }
        self.send({"kind": "update", "state": state, "update": for_page(upd), "pushed": True})

    def _on_msg(self, _widget, content, _buffers) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if kind == "plotly-source?":
            self.send({"kind": "plotly-source"}, [_plotly_js()])
        elif kind == "relayout" and self.on_shape is not None:
            self.on_shape(dict(content.get("data") or {}))
        elif kind == "need":
            state = dict(content.get("state") or {})
            self.served += 1
            upd = for_page(self.serve(self._from_page(state)))
            self.send({"kind": "update", "state": state, "update": upd})
