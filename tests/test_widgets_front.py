"""gaugelab.widgets.front: the figure the page redraws from tables, headless.

The JavaScript side runs in the browser tests (tests/test_browser*.py, benchmarks/widgets_browser.py);
here: the JSON the page gets (rounding, gaps, the table format), updates applied to the Python
mirror as plotly.js applies them, the comm protocol (plotly.js once, a state no table holds served
by the kernel, a dragged shape handed to the app), and bad arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import plotly
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaugelab.widgets import front


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12),
                min_size=1, max_size=30))  # fmt: skip
def test_rounding_keeps_five_significant_digits_of_every_value(values):
    out = front.rounded(values)
    a = np.array(values)
    assert len(out) == len(values)
    # half a unit of each value's own 5th digit (plus the double's rounding): small values of a log
    # axis survive (not the subnormals below 1e-290); zero stays zero
    np.testing.assert_allclose(out, a, rtol=5.0001e-5, atol=1e-300)
    assert all((o == 0) == (v == 0) for o, v in zip(out, values) if v == 0 or abs(v) > 1e-290)
    assert all(len(repr(v)) <= 24 for v in out)  # short decimals, not 17-digit doubles


def test_non_finite_values_become_gaps_and_the_json_is_strict():
    out = front.rounded(np.array([1.0, np.nan, np.inf, -2.0]))
    assert out == [1.0, None, None, -2.0]
    json.dumps(front.for_page(front.update({0: {"y": np.array([np.nan, 1.0])}})), allow_nan=False)
    assert front.rounded([[0.123456, 1.0], [2.0, 3.0]]) == [[0.12346, 1.0], [2.0, 3.0]]
    assert front.rounded([2.220446049250313e-16, 1e-17, 123456789.0]) == [2.2204e-16, 1e-17, 123460000.0]


def test_an_update_applied_to_the_mirror_is_what_was_asked():
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, 1]), go.Scatter(x=[0], y=[0], name="a")])
    fig.add_shape(type="circle", x0=0, x1=1, y0=0, y1=1)
    upd = front.merge(
        front.update({0: {"y": np.array([2.0, 3.0])}}),
        front.update({1: {"name": "b", "marker.color": "red"}}, {"shapes[0].x1": 5.0, "xaxis.range": [0, 9]}),
        front.update(readout="<b>r</b>"),
    )
    front.apply(fig, upd)
    assert list(fig.data[0].y) == [2.0, 3.0] and list(fig.data[0].x) == [0, 1]
    assert fig.data[1].name == "b" and fig.data[1].marker.color == "red"
    assert fig.layout.shapes[0].x1 == 5.0 and tuple(fig.layout.xaxis.range) == (0, 9)
    assert upd["readout"] == "<b>r</b>"
    page = front.for_page(upd)
    assert page["traces"]["0"]["y"] == [2.0, 3.0] and page["layout"]["shapes[0].x1"] == 5.0
    new = go.Figure([go.Bar(y=[1, 2])])
    front.apply(fig, {"figure": new.to_plotly_json()})
    assert len(fig.data) == 1 and fig.data[0].type == "bar"


def test_a_table_holds_one_update_per_value():
    t = front.table("lam", {"lr": 0.1}, [0.0, 0.5], [front.update(readout="a"), front.update(readout="b")])
    assert t == {"along": "lam", "at": {"lr": 0.1}, "values": [0.0, 0.5],
                 "updates": [{"readout": "a"}, {"readout": "b"}], "complete": True}  # fmt: skip
    with pytest.raises(ValueError, match=r"^updates:"):
        front.table("lam", {}, [0.0, 0.5], [front.update(readout="a")])


def _app():
    s = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.1)
    calls = []

    def serve(state):
        calls.append(state)
        return front.update({0: {"y": np.array([state["s"], state["s"]])}}, readout=f"s = {state['s']}")

    fig = go.Figure([go.Scatter(x=[0, 1], y=[0.5, 0.5])])
    ff = front.FrontFigure(fig, {"s": s}, serve, readout="s = 0.5")
    sent = []
    ff.send = lambda content, buffers=None: sent.append((content, buffers))
    return s, ff, calls, sent


def test_the_page_gets_plotly_js_from_the_kernel_not_the_network():
    _, ff, _, sent = _app()
    ff._on_msg(ff, {"kind": "plotly-source?"}, [])
    (content, buffers), = sent  # fmt: skip
    assert content == {"kind": "plotly-source"}
    local = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    assert buffers == [local] and b"window.Plotly" in local


def test_a_state_no_table_holds_is_served_by_the_kernel():
    s, ff, calls, sent = _app()
    assert ff.controls == {"s": s.model_id} and ff.figure_state == {"s": 0.5}
    ff._on_msg(ff, {"kind": "need", "state": {"s": 0.7}}, [])
    assert calls == [{"s": 0.7}] and ff.served == 1
    (content, _), = sent  # fmt: skip
    assert content["kind"] == "update" and content["state"] == {"s": 0.7}
    assert content["update"]["traces"]["0"]["y"] == [0.7, 0.7] and content["update"]["readout"] == "s = 0.7"
    ff._on_msg(ff, {"kind": "nonsense"}, [])
    ff._on_msg(ff, "not a dict", [])
    assert len(sent) == 1


def test_tables_go_to_the_page_as_one_json_string_and_pushes_are_marked():
    s, ff, _, sent = _app()
    t = front.table("s", {}, [0.0, 0.1], [front.update(readout="0"), front.update(readout="1")])
    ff.tables = [t]
    assert json.loads(ff.tables_json) == [t] and ff.tables == [t]
    ff.push(front.update(readout="x"))
    (content, _), = sent  # fmt: skip
    assert content["pushed"] and content["state"] == {"s": 0.5} and content["update"] == {"readout": "x"}


def test_a_selection_control_is_an_option_index_in_the_page_and_a_value_in_the_kernel():
    # a Dropdown / ToggleButtons syncs only `index`: the page can read nothing else
    menu = widgets.Dropdown(options=[("neuron 3", 3), ("neuron 7", 7), ("neuron 9", 9)], value=7)
    s = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.1)
    calls = []
    ff = front.FrontFigure(go.Figure(), {"s": s, "n": menu}, lambda st: calls.append(st) or {})
    sent = []
    ff.send = lambda content, buffers=None: sent.append(content)
    assert ff.control_keys == {"s": "value", "n": "index"}
    assert ff.figure_state == {"s": 0.5, "n": 1} and ff.state() == {"s": 0.5, "n": 7}
    ups = [front.update(readout=str(j)) for j in (3, 9)]
    ff.tables = [front.table("n", {"s": 0.0}, [3, 9], ups, sets={"s": 0.0}),
                 front.table("s", {"n": 9}, [0.0], ups[:1])]  # fmt: skip
    page = json.loads(ff.tables_json)
    assert page[0]["values"] == [0, 2] and page[0]["at"] == {"s": 0.0} and page[0]["sets"] == {"s": 0.0}
    assert page[1]["at"] == {"n": 2} and ff.tables[1]["at"] == {"n": 9}  # the app keeps its values
    ff._on_msg(ff, {"kind": "need", "state": {"s": 0.2, "n": 2}}, [])
    assert calls == [{"s": 0.2, "n": 9}] and sent[-1]["state"] == {"s": 0.2, "n": 2}
    with pytest.raises(ValueError, match=r"^tables: 4 is not an option of control 'n'"):
        ff.tables = [front.table("n", {}, [4], ups[:1])]


def test_a_dragged_shape_goes_to_the_app():
    s = widgets.FloatSlider()
    got = []
    ff = front.FrontFigure(go.Figure(), {"s": s}, lambda st: {}, on_shape=got.append, config={"edits": {}})
    assert ff.figure["config"] == {"edits": {}}
    ff._on_msg(ff, {"kind": "relayout", "data": {"shapes[0].x0": 1.0}}, [])
    assert got == [{"shapes[0].x0": 1.0}]


def test_bad_arguments_are_named():
    s = widgets.FloatSlider()
    with pytest.raises(ValueError, match=r"^serve:"):
        front.FrontFigure(go.Figure(), {"s": s}, serve=None)
    with pytest.raises(ValueError, match=r"^controls:"):
        front.FrontFigure(go.Figure(), {"s": 3.0}, serve=lambda st: {})


def test_under_traces_are_checked_and_sent_sorted():
    s = widgets.FloatSlider()
    fig = go.Figure([go.Scatter(x=[0], y=[0]), go.Scatter(x=[1], y=[1])])
    for bad in ([2], [-1], [True], ["0"]):
        with pytest.raises(ValueError, match=r"^under_traces:"):
            front.FrontFigure(fig, {"s": s}, serve=lambda st: {}, under_traces=bad)
    ff = front.FrontFigure(fig, {"s": s}, serve=lambda st: {}, under_traces=[1, 0, 1])
    assert ff.under_traces == [0, 1]
