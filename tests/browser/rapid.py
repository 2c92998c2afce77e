"""Rapid input at every widget output of an open, fully run notebook (issue 11 §5).

For each widget output: :data:`N_INPUTS` inputs fired without waiting for the kernel: key presses on
the first slider (the first and the last stretch of the burst), and in between key presses on the
other sliders, clicks on the buttons and toggle buttons, dropdown switches. The last input is a key
press on the first slider, so the state to be shown at the end is the state of that slider value.
Then:

1. the kernel settles: idle, and nothing redrawn or rewritten for 300 ms, within
   :data:`SETTLE_S` seconds of the last input (a backlog of queued updates fails this);
2. the kernel answers an execute request within 10 s (a backlog of queued callbacks, e.g. one
   full update per button click, fails this) and is the same process as before the burst
   (``os.getpid()``; a crash and the automatic restart fail this);
3. the final state matches the last input: the widget's fingerprint (plots and readouts,
   probe.FP_JS) and the slider readout are recorded; then the slider is stepped one key away
   and one key back, each step waited out, which sets the same value the plain way. Fingerprint and
   readout must be the same as after the burst (a lost last update, or a state from an earlier
   value, fails this).
"""

from __future__ import annotations

import time

from browser import lab, probe

N_INPUTS = 50
SETTLE_S = 5.0
KEY_GAP_MS = 0  # no wait between inputs beyond what Playwright itself takes

AT_END_JS = r"""([sel, i, j, up]) => {
  const s = document.querySelectorAll(sel)[i]?.querySelectorAll('.widget-slider')[j];
  const hd = s?.querySelector('.noUi-handle');
  if (!hd) return true;
  const num = a => parseFloat(hd.getAttribute(a));
  return up ? num('aria-valuenow') >= num('aria-valuemax') : num('aria-valuenow') <= num('aria-valuemin');
}"""


def _press(page, i: int, j: int, up: bool) -> bool:
    """One key press on slider j of output i towards ``up``, turning at the ends; returns the direction."""
    if page.evaluate(AT_END_JS, [lab.WIDGET_OUT_SEL, i, j, up]):
        up = not up
    page.keyboard.press("ArrowRight" if up else "ArrowLeft")
    return up


def _focus_slider(page, i: int, j: int) -> None:
    handle = page.locator(lab.WIDGET_OUT_SEL).nth(i).locator(".widget-slider").nth(j).locator(".noUi-handle")
    handle.first.focus()


def _pid(page, timeout_s: float = 10) -> str | None:
    """The kernel's process id, or None if it does not answer within ``timeout_s``."""
    r = probe.kernel_exec(page, "import os as _o; print(_o.getpid())", timeout_s=timeout_s)
    return r["out"].strip() if r.get("status") == "ok" else None


def burst(page, i: int, n: int = N_INPUTS) -> dict:
    """Fire ``n`` inputs at widget output i (see module doc); return what was fired."""
    out = page.locator(lab.WIDGET_OUT_SEL).nth(i)
    ctrls = [c for c in probe.controls(page, i) if not c.get("disabled") and c["kind"] != "play"]
    sliders = [c for c in ctrls if c["kind"] == "slider"]
    others = [c for c in ctrls if c["kind"] != "slider" or c["index"] != 0]
    fired: list[str] = []
    up = True
    out.scroll_into_view_if_needed()
    head = n // 2 if others else n
    tail = n // 5 if others else 0
    if sliders:
        _focus_slider(page, i, 0)
        for _ in range(head):
            up = _press(page, i, 0, up)
            fired.append("key s0")
    k = 0
    while others and len(fired) < n - tail:
        c = others[k % len(others)]
        k += 1
        try:
            _fire(page, out, i, c, k)
        except Exception as exc:  # e.g. a dialog covers the page after the kernel died
            fired.append(f"FAILED {c['kind']} {c['label']}: {type(exc).__name__}")
            return {"fired": fired, "has_slider": bool(sliders), "blocked": True}
        fired.append(f"{c['kind']} {c['label']}")
    if sliders:
        _focus_slider(page, i, 0)
        while len(fired) < n:
            up = _press(page, i, 0, up)
            fired.append("key s0")
    return {"fired": fired, "has_slider": bool(sliders), "blocked": False}


def _fire(page, out, i: int, c: dict, k: int) -> None:
    """One input at control ``c`` of output ``out`` (index i); k varies the option/button chosen."""
    if c["kind"] == "slider":
        _focus_slider(page, i, c["index"])
        _press(page, i, c["index"], True)
    elif c["kind"] == "button":
        buttons = out.locator("button.widget-button")
        mine = [
            b
            for b in (buttons.nth(m) for m in range(buttons.count()))
            if not b.evaluate("b => !!b.closest('.widget-play, .widget-toggle-buttons')")
        ]
        mine[c["index"]].click(delay=0, timeout=3_000)
    elif c["kind"] == "toggle":
        group = out.locator(".widget-toggle-buttons").nth(c["index"]).locator("button")
        group.nth(k % max(group.count(), 1)).click(delay=0, timeout=3_000)
    elif c["kind"] == "dropdown":
        sel = out.locator(".widget-dropdown select").nth(c["index"])
        m = sel.evaluate("s => s.options.length")
        sel.select_option(index=k % max(m, 1), timeout=3_000)


def _step_settled(page, i: int, up: bool) -> dict:
    _focus_slider(page, i, 0)
    before = probe.now_ms(page)
    up = _press(page, i, 0, up)
    r = probe.settle(page, i, before, max_ms=int(SETTLE_S * 1000))
    r["up"] = up
    return r


def check_widget(page, i: int, n: int = N_INPUTS) -> dict:
    """Burst + the three checks of the module doc for widget output i. Returns problems and notes."""
    probe.install(page)
    name = probe.widget_name(page, i)
    if not [c for c in probe.controls(page, i) if not c.get("disabled") and c["kind"] != "play"]:
        return {"problems": [], "widget": name, "inputs": 0}
    where = f"widget output {i} ({name})"
    problems: list[str] = []
    pid0 = _pid(page, timeout_s=60)
    t_burst = time.time()
    fired = burst(page, i, n)
    burst_s = time.time() - t_burst
    t_last = probe.now_ms(page)
    r = probe.settle(page, i, t_last, max_ms=int(SETTLE_S * 1000), min_ms=300)
    res = {"widget": name, "inputs": len(fired["fired"]), "burst_s": round(burst_s, 2)}
    if fired["blocked"]:
        problems.append(f"{where}: the page stopped taking input during the burst: {fired['fired'][-1]}")
    res["settle_ms"] = round(r["waited_ms"])
    if r["timeout"]:
        # keep waiting (up to a minute) to tell a slow backlog from a hang, for the message
        r2 = probe.settle(page, i, probe.now_ms(page), max_ms=60_000, min_ms=300)
        extra = "never" if r2["timeout"] else f"only after {SETTLE_S + r2['waited_ms'] / 1000:.1f} s"
        problems.append(
            f"{where}: not settled within {SETTLE_S} s of the last of {len(fired['fired'])} rapid inputs "
            f"(kernel {r['kernel']}; settled {extra}): a backlog of queued updates"
        )
    pid1, t_ask = _pid(page), time.time()
    if pid1 is None:  # busy with a backlog (execute requests queue behind widget messages) or dead
        while pid1 is None and time.time() - t_ask < 60:
            pid1 = _pid(page)
        busy = time.time() - t_ask
        late = f"it answered after {busy:.0f} s: a backlog of queued callbacks" if pid1 else "nor 60 s later"
        problems.append(f"{where}: no answer to an execute request within 10 s of the burst ({late})")
    res["kernel_pid"] = (pid0, pid1)
    if pid1 is None:
        problems.append(f"{where}: the kernel does not answer after the rapid inputs (died or hangs)")
        return {"problems": problems, **res}
    if pid0 is not None and pid0 != pid1:
        problems.append(f"{where}: the kernel restarted during the rapid inputs (pid {pid0} → {pid1})")
    if fired["has_slider"]:
        # The execute request above is answered after every widget message the kernel had received;
        # the last input's message may still have been buffered in the front end (one update in flight
        # per model) when the first settle saw a quiet, idle kernel. Wait out what it draws.
        probe.settle(page, i, probe.now_ms(page), max_ms=int(SETTLE_S * 1000), min_ms=600)
        fp_burst = probe.fingerprint(page, i)
        ro_burst = probe.slider_state(page, i, 0)["readout"]
        a = _step_settled(page, i, True)
        b = _step_settled(page, i, not a["up"])
        fp_plain = probe.fingerprint(page, i)
        ro_plain = probe.slider_state(page, i, 0)["readout"]
        res["final"] = {"readout": ro_burst, "same_plots": fp_burst["plots"] == fp_plain["plots"]}
        if a["timeout"] or b["timeout"]:
            problems.append(f"{where}: a single key step after the burst did not settle in {SETTLE_S} s")
        if ro_plain != ro_burst:
            problems.append(
                f"{where}: slider readout {ro_burst!r} after the burst, {ro_plain!r} after away/back"
            )
        elif fp_burst != fp_plain:
            what = [k for k in ("plots", "text") if fp_burst[k] != fp_plain[k]]
            problems.append(
                f"{where}: after the burst the {' and '.join(what)} shown for slider value {ro_burst} differ "
                "from what the same value shows when set by one key step: the last input was lost, or "
                "an earlier state was drawn last (a backlog still drawing old values)"
            )
    return {"problems": problems, **res}


def check_page(page, n: int = N_INPUTS) -> dict:
    """:func:`check_widget` for every widget output of the page."""
    outs = page.locator(lab.WIDGET_OUT_SEL).count()
    results = [check_widget(page, i, n) for i in range(outs)]
    return {"problems": [p for r in results for p in r["problems"]], "widgets": results}
