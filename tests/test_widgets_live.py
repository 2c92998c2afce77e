"""gaugelab.widgets.live: latest value wins, idle-time work on an event loop, one restyle message."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import plotly.graph_objects as go
import pytest

from gaugelab.widgets.live import LatestWins, WhenIdle, as_array, restyle


def test_latest_wins_runs_each_value_when_not_busy():
    seen = []
    run = LatestWins(seen.append)
    for v in (1, 2, 3):
        run(v)
    assert seen == [1, 2, 3] and run.runs == 3 and not run.running


def test_latest_wins_does_not_reenter_and_keeps_only_the_newest():
    """Values submitted during a run (here from inside the work) are not run nested: only the
    newest of them runs, once, after the current run returns."""
    seen, depth = [], []
    run = None

    def work(v):
        depth.append(run.running)
        seen.append(v)
        if v == 0:
            for k in (1, 2, 3):
                run(k)  # stale 1, 2 must be skipped

    run = LatestWins(work)
    run(0)
    assert seen == [0, 3]
    assert run.runs == 2 and not run.running


def test_latest_wins_recovers_after_an_exception():
    def work(v):
        if v == "bad":
            raise RuntimeError("boom")
        seen.append(v)

    seen = []
    run = LatestWins(work)
    with pytest.raises(RuntimeError):
        run("bad")
    run(5)
    assert seen == [5]


def test_latest_wins_observe_wires_a_trait():
    import ipywidgets as w

    s = w.FloatSlider(value=0.0, min=0, max=1, step=0.1)
    seen = []
    LatestWins(seen.append).observe(s)
    s.value = 0.3
    s.value = 0.7
    assert seen == [0.3, 0.7]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="work"):
        LatestWins(3)
    with pytest.raises(ValueError, match="work"):
        WhenIdle("not callable")
    with pytest.raises(ValueError, match="delay"):
        WhenIdle(lambda: None, delay=-1)
    fig = go.FigureWidget(go.Scatter(x=[1], y=[1]))
    with pytest.raises(ValueError, match="traces"):
        restyle(fig, {3: {"x": [1]}})


def test_when_idle_without_a_loop_waits_for_flush():
    calls = []
    idle = WhenIdle(lambda: calls.append(1), delay=0.01)
    idle.poke()
    idle.poke()
    assert idle.pending and calls == []
    idle.flush()
    assert calls == [1] and not idle.pending
    idle.flush()  # nothing pending: nothing runs
    assert calls == [1]


def run_in_fresh_thread(main):
    """asyncio.run(main()) in a new thread: this thread may already run a loop (Playwright's sync
    API keeps one running for the browser tests' session)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def test_when_idle_runs_once_after_a_burst_on_a_real_event_loop():
    """A burst of pokes faster than the delay runs the work once, after the burst."""
    calls = []

    async def main():
        idle = WhenIdle(lambda: calls.append(asyncio.get_running_loop().time()), delay=0.05)
        t0 = asyncio.get_running_loop().time()
        for _ in range(10):
            idle.poke()
            t_last = asyncio.get_running_loop().time()
            await asyncio.sleep(0.01)
        assert idle.pending and calls == []
        await asyncio.sleep(0.15)
        return idle, t0, t_last

    idle, t0, t_last = run_in_fresh_thread(main)
    assert len(calls) == 1 and not idle.pending
    assert calls[0] - t_last >= 0.045  # quiet for `delay` after the last poke


def test_when_idle_generator_steps_interleave_and_a_poke_abandons_them():
    """Steps run one per loop turn: other callbacks run between them; a poke mid-way drops the
    old generator and the newest run completes."""
    log = []

    def work():
        tag = len([e for e in log if e == "start"])
        log.append("start")
        for k in range(4):
            log.append(("step", tag, k))
            yield

    async def main():
        loop = asyncio.get_running_loop()
        idle = WhenIdle(work, delay=0.0)
        idle.poke()
        await asyncio.sleep(0)  # timer fires: start + step 0
        await asyncio.sleep(0)
        loop.call_soon(log.append, "other")  # an input message arriving meanwhile
        await asyncio.sleep(0)
        idle.poke()  # new input: the first run is abandoned
        await asyncio.sleep(0.05)
        return idle

    idle = run_in_fresh_thread(main)
    assert not idle.pending and idle.runs == 2
    first = [e for e in log if isinstance(e, tuple) and e[1] == 0]
    second = [e for e in log if isinstance(e, tuple) and e[1] == 1]
    assert 0 < len(first) < 4, log  # abandoned part-way
    assert [e[2] for e in second] == [0, 1, 2, 3]
    steps_at = [i for i, e in enumerate(log) if isinstance(e, tuple)]
    assert steps_at[0] < log.index("other") < steps_at[-1]  # the other callback ran between steps


def test_when_idle_keeps_the_error():
    def work():
        raise ZeroDivisionError("x")

    idle = WhenIdle(work)
    idle.poke()
    idle.flush()
    assert isinstance(idle.error, ZeroDivisionError) and not idle.pending


def test_restyle_sends_one_message_with_only_the_named_traces():
    fig = go.FigureWidget()
    fig.add_scatter(x=[0, 1], y=[0, 1])
    fig.add_scatter(x=[0], y=[0])
    fig.add_scatter(x=[0], y=[0])
    sent = []
    send = fig._send_update_msg
    fig._send_update_msg = lambda *a, **k: (sent.append(k), send(*a, **k))
    restyle(fig, {1: {"x": [2.0, None], "y": [3, 4]}, 2: {"visible": False}}, {"title.text": "t"})
    assert len(sent) == 1
    assert sorted(sent[0]["trace_indexes"]) == [1, 2]
    assert sent[0]["relayout_data"] == {"title.text": "t"}
    xs = sent[0]["restyle_data"]["x"][sent[0]["trace_indexes"].index(1)]
    assert isinstance(xs, np.ndarray) and xs.dtype == float and np.isnan(xs[1]) and xs[0] == 2.0
    assert list(fig.data[0].x) == [0, 1]  # untouched
    assert fig.data[2].visible is False


def test_as_array_turns_gaps_into_nan():
    a = as_array([1, None, 3])
    assert a.dtype == float and np.isnan(a[1]) and a[2] == 3
