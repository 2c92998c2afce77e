"""Latest-value-wins updates for the widgets: what runs on a slider step, what waits until input is idle.

**How a drag reaches the kernel (ipywidgets 8.1.9, measured).** ipywidgets' front end keeps at most
one state message per widget model in flight: while the kernel has not answered "idle" to the last
``update`` it sent, further values of that model are *merged into one buffered message* (latest value
wins) and sent when the kernel goes idle (``WidgetModel.sync`` / ``_handle_status``,
``_pending_msgs`` and ``_msg_buffer`` in the jupyterlab-manager bundle). So an observer that does its
work *synchronously* paces the front end: the slower the work, the more intermediate values are
skipped, and the last value always arrives. Measured in JupyterLab 4.6 + Chromium (30 ArrowRight
presses sent in 0.3–0.5 s to an IntSlider whose observer sleeps; a load average of 3–5):

=============  ======================================  ===========================================
observer work  synchronous in the observer             deferred with ``loop.call_soon``
=============  ======================================  ===========================================
100 ms         3 runs: values 1, 10, 30                6 runs: 1, 2, 18, 23, 29, 30
30 ms          7 runs: 1, 7, 8, 16, 20, 24, 30         5 runs: 1, 3, 9, 15, 30
=============  ======================================  ===========================================

Both end on the final value 30 (no backlog); deferring gains nothing and with slow work runs more
stale values (the handler returns at once, so the front end stops buffering), hence
:class:`LatestWins` runs the work synchronously and only guards against re-entry (a callback that
sets another control while an update is running: the newer value is run after it, once).

Expensive readouts (λ_max by Lanczos, a profile of many Lanczos runs) do not belong on the drag path:
:class:`WhenIdle` runs them on the kernel's event loop once the input has been quiet for ``delay``
seconds; a new input cancels the pending run (latest wins). Work given as a generator runs one step
per event-loop turn, so slider messages that arrive meanwhile are handled between steps. Without a
running event loop (plain pytest) nothing is scheduled: :meth:`WhenIdle.flush` runs the work.

:func:`restyle` applies one update as a single ``fig.batch_update()``: only the traces named, with
numpy arrays (plotly sends those as binary buffers), layout only if asked.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable

import numpy as np

_NOTHING = object()


class LatestWins:
    """Call ``work(value)`` for each submitted value, synchronously, without re-entering.

    A value submitted while ``work`` is running (from inside it, or from a callback it triggers)
    is kept as the only pending one; when ``work`` returns it runs once more with the newest
    pending value. ``runs`` counts the calls of ``work``.
    """

    def __init__(self, work: Callable[[object], object]):
        if not callable(work):
            raise ValueError(f"work: expected a callable taking one value, got {work!r}")
        self.work = work
        self.runs = 0
        self._pending = _NOTHING
        self._running = False

    def __call__(self, value) -> None:
        self._pending = value
        if self._running:
            return
        self._running = True
        try:
            while self._pending is not _NOTHING:
                value, self._pending = self._pending, _NOTHING
                self.runs += 1
                self.work(value)
        finally:
            self._running = False
            self._pending = _NOTHING

    @property
    def running(self) -> bool:
        """True while ``work`` is running."""
        return self._running

    def observe(self, widget, names: str = "value") -> LatestWins:
        """Wire ``widget``'s trait ``names`` to this runner (the new value is submitted)."""
        widget.observe(lambda change: self(change["new"]), names=names)
        return self


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class WhenIdle:
    """Run ``work()`` once input has been quiet for ``delay`` seconds (on the kernel's event loop).

    :meth:`poke` (call it on every input) marks the work pending and restarts the timer, so a drag
    runs it once, after the drag. ``work`` may return a generator: its steps then run one per
    event-loop turn (other messages are handled in between) and a new :meth:`poke` abandons it.
    ``pending`` is True from :meth:`poke` until the work has finished; :meth:`flush` runs it to the
    end at once (what tests and code without an event loop use). An exception in ``work`` is kept
    in ``error`` (and the work counts as done), never raised into the event loop.
    """

    def __init__(self, work: Callable[[], object], delay: float = 0.25):
        if not callable(work):
            raise ValueError(f"work: expected a callable without arguments, got {work!r}")
        if not (isinstance(delay, (int, float)) and not isinstance(delay, bool) and 0 <= delay <= 10):
            raise ValueError(f"delay: expected a number of seconds in [0, 10], got {delay!r}")
        self.work = work
        self.delay = float(delay)
        self.pending = False
        self.error: BaseException | None = None
        self.runs = 0
        self._handle = None
        self._steps = None

    def poke(self) -> None:
        """Input arrived: (re)start the quiet-time timer; a running generator is dropped."""
        self.pending = True
        self._steps = None
        self._cancel()
        loop = _running_loop()
        if loop is not None:
            self._handle = loop.call_later(self.delay, self._start)

    def cancel(self) -> None:
        """Forget the pending work."""
        self.pending = False
        self._steps = None
        self._cancel()

    def flush(self) -> None:
        """Run the pending work now, to the end (all generator steps)."""
        self._cancel()
        if not self.pending:
            return
        if self._steps is None:
            self._begin()
        while self._steps is not None:
            self._step(reschedule=False)

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _begin(self) -> None:
        self.runs += 1
        try:
            result = self.work()
        except Exception as exc:  # noqa: BLE001 - kept for the caller, never raised into the loop
            self.error, self.pending = exc, False
            return
        if inspect.isgenerator(result):
            self._steps = result
        else:
            self.pending = False

    def _start(self) -> None:
        self._handle = None
        self._begin()
        if self._steps is not None:
            self._step(reschedule=True)

    def _step(self, reschedule: bool) -> None:
        self._handle = None
        steps = self._steps
        if steps is None:
            return
        try:
            next(steps)
        except StopIteration:
            self._steps, self.pending = None, False
            return
        except Exception as exc:  # noqa: BLE001
            self._steps, self.pending, self.error = None, False, exc
            return
        if reschedule and self._steps is steps:
            loop = _running_loop()
            if loop is not None:
                self._handle = loop.call_soon(self._step, True)


def as_array(values) -> np.ndarray:
    """``values`` as a float numpy array; None (a gap in a line) becomes NaN."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def restyle(fig, traces: dict[int, dict], layout: dict | None = None) -> None:
    """One ``fig.batch_update()`` setting ``traces`` = {trace index: {property: value}} and, if
    given, ``layout`` = {property path: value}. Sequences of numbers (x, y, z, marker colors …)
    are sent as float numpy arrays; other values (strings, bools, dicts) as they are."""
    n = len(fig.data)
    for k in traces:
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
            raise ValueError(f"traces: expected trace indexes in [0, {n - 1}], got {k!r}")
    with fig.batch_update():
        for k, props in traces.items():
            trace = fig.data[k]
            for name, value in props.items():
                if isinstance(value, (list, tuple, np.ndarray)) and name in _ARRAY_PROPS:
                    value = as_array(value)
                trace[name] = value
        for path, value in (layout or {}).items():
            fig.layout[path] = value


#: Trace properties sent as numpy arrays by :func:`restyle`.
_ARRAY_PROPS = frozenset({"x", "y", "z"})
