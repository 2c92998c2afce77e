"""A :class:`~gaugelab.widgets.front.FrontFigure` for apps whose every state is a cheap lookup.

Apps of notebooks 06–09 train or compute every state their controls can reach when they are built
(a grid of ρ × η runs, every (η, λ, ρ0) of the explorer, every teleport step); a control move only
looks a state up. :class:`LookupFigure` turns such an app into one the page redraws by itself:

* the app gives its figure, its controls, the grid of values each control can take and
  ``update_at(state)``: the figure update (:func:`gaugelab.widgets.front.update`) at a state
  {control: value}, with everything that depends on the state (a *complete* update);
* when the whole grid needs at most ``max_updates`` updates, every table is sent once (for each
  control, one table along it at every combination of the other controls' values): every move of
  every control is then drawn in the page, and nothing runs in the kernel on input;
* otherwise the page holds one table along each control at the other controls' current values, and
  the tables are rebuilt around the new state once the input has been idle for ``delay`` seconds
  (:class:`~gaugelab.widgets.live.WhenIdle`); a state no table holds (two controls moved within
  ``delay``) is asked of the kernel, which looks it up (``update_at``).

The Python-side mirror (:attr:`fig`, :attr:`readout`) is brought up to date when read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import plotly.graph_objects as go

from gaugelab.widgets import front
from gaugelab.widgets.live import WhenIdle


class LookupFigure:
    """``fig`` drawn by a FrontFigure (:attr:`front`) whose tables come from ``update_at``.

    ``controls`` = {name: ipywidgets value widget}; ``grids`` = {name: every value that control
    can take} (same names); ``update_at(state)`` = the complete update at a state of the grid (and
    at any state the controls can be set to from code: the kernel serves those).
    """

    def __init__(
        self,
        fig: go.Figure,
        controls: Mapping[str, object],
        grids: Mapping[str, Sequence],
        update_at: Callable[[dict], dict],
        *,
        readout_min_height: str = "0",
        config: Mapping | None = None,
        max_updates: int = 600,
        delay: float = 0.1,
        cache_size: int = 4096,
    ):
        if not callable(update_at):
            raise ValueError(f"update_at: expected a callable taking a state dict, got {update_at!r}")
        if set(grids) != set(controls):
            raise ValueError(f"grids: expected one grid per control {sorted(controls)}, got {sorted(grids)}")
        self.grids = {name: list(grids[name]) for name in controls}
        for name, grid in self.grids.items():
            if not grid:
                raise ValueError(f"grids: the grid of {name!r} is empty")
        if not isinstance(max_updates, int) or max_updates < 0:
            raise ValueError(f"max_updates: expected an integer >= 0, got {max_updates!r}")
        self.controls = dict(controls)
        self.update_at = update_at
        self.cache_size = cache_size
        self._cache: dict[tuple, dict] = {}
        #: every table at once (nothing to rebuild on input) when the grid is small enough
        self.full = self.table_updates_needed() <= max_updates
        self._fig = fig
        upd = self._update(self.state())
        front.apply(self._fig, upd)
        self._readout = front.Text(upd.get("readout", ""))
        self._stale = False
        self.front = front.FrontFigure(
            self._fig,
            self.controls,
            self.serve,
            readout=self._readout.value,
            readout_min_height=readout_min_height,
            config=config,
        )
        self.idle = WhenIdle(self._table_steps, delay=delay)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.publish_tables()

    def table_updates_needed(self) -> int:
        """How many updates the tables of the whole grid hold (one per state and control)."""
        sizes = [len(g) for g in self.grids.values()]
        return len(sizes) * math.prod(sizes)

    def state(self) -> dict:
        """The controls' current values."""
        return {name: w.value for name, w in self.controls.items()}

    def _key(self, state: Mapping) -> tuple:
        return tuple(
            round(float(v), 12) if isinstance(v, float) else v for v in (state[n] for n in self.controls)
        )

    def _update(self, state: Mapping) -> dict:
        key = self._key(state)
        upd = self._cache.get(key)
        if upd is None:
            upd = self.update_at(dict(state))
            if len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = upd
        return upd

    def serve(self, state: dict) -> dict:
        """The update at a state no table holds (the page asks; missing controls keep their values)."""
        return self._update({**self.state(), **{k: v for k, v in state.items() if k in self.controls}})

    def _table(self, along: str, at: Mapping) -> dict:
        states = [{**at, along: v} for v in self.grids[along]]
        return front.table(along, at, self.grids[along], [self._update(s) for s in states])

    def _table_steps(self):
        """The tables (a generator: one table per step, so input arriving meanwhile waits at most
        one step; :class:`WhenIdle` drops the generator on new input)."""
        tables = []
        now = self.state()
        for along in self.controls:
            others = [n for n in self.controls if n != along]
            combos = itertools.product(*(self.grids[n] for n in others)) if self.full else [None]
            for combo in combos:
                yield
                at = dict(zip(others, combo)) if combo is not None else {n: now[n] for n in others}
                tables.append(self._table(along, at))
        self.front.tables = tables

    def publish_tables(self) -> None:
        """Send the page its tables now (every table, or those around the current state)."""
        self.idle.cancel()
        for _ in self._table_steps():
            pass

    def _on_change(self, _change=None) -> None:
        self._stale = True
        if not self.full:
            self.idle.poke()

    def settle(self) -> None:
        """Finish what waits for idle input (the tables around the current state; the mirror)."""
        self.idle.flush()
        self._sync()

    def _sync(self) -> None:
        if self._stale:
            self._stale = False
            upd = self._update(self.state())
            front.apply(self._fig, upd)
            self._readout.value = upd.get("readout", self._readout.value)

    @property
    def fig(self) -> go.Figure:
        """The Python-side ``go.Figure`` mirror of what the page draws, up to date when read."""
        self._sync()
        return self._fig

    @property
    def readout(self) -> front.Text:
        """The readout's HTML (``.value``) at the current state."""
        self._sync()
        return self._readout


class LookupViewMixin:
    """``fig`` and ``readout`` of an app whose widget draws through a :class:`LookupFigure` kept in
    ``self._view`` (None until the widget is built)."""

    _view: LookupFigure | None = None

    @property
    def fig(self):
        """The figure the page draws (a ``go.Figure`` mirror, up to date), once the widget exists."""
        return None if self._view is None else self._view.fig

    @property
    def readout(self):
        """The readout's HTML (``.value``), once the widget exists."""
        return None if self._view is None else self._view.readout
