"""`python -m gaugelab reproduce --quick` runs headless and writes every artifact."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

FIGURES = (
    "fig2_dataset",
    "fig3_lambda_sweep",
    "fig4_lr_stress_test",
    "fig5_invariance",
    "scale_drift",
    "stability_map",
)


def test_reproduce_quick_writes_every_artifact(tmp_path, report):
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "gaugelab",
        "reproduce",
        "--quick",
        "--out",
        str(out),
        "--no-png",
        "--no-progress",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[1])
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    report(f"reproduce --quick (no PNG): {elapsed:.1f} s wall")
    for name in FIGURES:
        html = (out / "figures" / f"{name}.html").read_text(encoding="utf-8")
        assert "plotly" in html and len(html) > 1_000_000  # plotly.js inlined: self-contained, offline
        assert "cdn.plot.ly" not in html.split("<body>")[-1][:2000]
    for name in ("table1_protocol", "table2_results"):
        md = (out / f"{name}.md").read_text(encoding="utf-8")
        assert md.count("|") > 20
        assert (out / f"{name}.csv").read_text(encoding="utf-8").count("\n") >= 3
    table2 = (out / "table2_results.md").read_text(encoding="utf-8")
    assert "paper (fig. 5)" in table2 and "3.99e-18" in table2
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in (
        "protocol",
        "lambda_sweep",
        "stability_map",
        "stress_test",
        "scale_drift",
        "invariance",
        "claims",
    ):
        assert key in data
    assert data["protocol"]["name"] == "quick"
    assert len(data["invariance"]["errors"]) == 200
    assert "Summary" in proc.stdout and ("REPRODUCES" in proc.stdout)
    assert "Wrote 6 HTML figures" in proc.stdout


@pytest.mark.parametrize("bad", [["reproduce", "--seeds", "0"], ["reproduce", "--threads", "0"], ["nope"]])
def test_bad_arguments_exit_with_an_error(bad):
    from gaugelab.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(bad)
    assert e.value.code == 2
