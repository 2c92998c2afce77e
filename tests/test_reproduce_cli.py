"""`python -m gaugelab reproduce --quick` writes every artifact headless; bad arguments: one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
FIGURES = (
    "fig2_dataset",
    "fig3_lambda_sweep",
    "fig4_lr_stress_test",
    "fig4_paired_edges",
    "fig4_tau_sensitivity",
    "fig5_invariance",
    "scale_drift",
    "stability_map",
    "mechanism",
)


def _run(*args, timeout=600):
    cmd = [sys.executable, "-m", "gaugelab", "reproduce", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_reproduce_quick_writes_every_artifact(tmp_path, report):
    out = tmp_path / "out"
    t0 = time.perf_counter()
    proc = _run("--quick", "--out", str(out), "--no-png", "--no-progress")
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    report(f"reproduce --quick (no PNG): {elapsed:.1f} s wall")
    for name in FIGURES:
        html = (out / "figures" / f"{name}.html").read_text(encoding="utf-8")
        assert "plotly" in html and len(html) > 1_000_000  # plotly.js inlined: self-contained, offline
        assert "cdn.plot.ly" not in html.split("<body>")[-1][:2000]
        assert '"template"' in html and "gaugelab" in html or "#0072B2" in html  # the GaugeLab template
    for name in ("table1_protocol", "table2_results"):
        md = (out / f"{name}.md").read_text(encoding="utf-8")
        assert md.count("|") > 20
        assert (out / f"{name}.csv").read_text(encoding="utf-8").count("\n") >= 3
    table2 = (out / "table2_results.md").read_text(encoding="utf-8")
    assert "paper (fig. 5)" in table2 and "3.99e-18" in table2 and "## Verdicts" in table2
    assert "interpolation" in table2 and "extrapolation" in table2 and "divergence only" in table2
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in (
        "protocol",
        "lambda_sweep",
        "stability_map",
        "stress_test",
        "scale_drift",
        "mechanism",
        "invariance",
        "claims",
    ):
        assert key in data
    assert data["protocol"]["name"] == "quick" and "regimes" not in data
    assert len(data["invariance"]["errors"]) == 200
    verdicts = {c["verdict"] for c in data["claims"]}
    assert verdicts <= {"holds", "does not hold"} | {v for v in verdicts if v.startswith("holds only when ")}
    assert all(c["criterion"] for c in data["claims"])
    assert "Verdicts" in proc.stdout and "holds" in proc.stdout
    assert f"Wrote {len(FIGURES)} HTML figures" in proc.stdout


def test_the_default_export_writes_every_figure_as_png(tmp_path):
    # the PNG path of the CLI (kaleido with the Chromium the test set-up installs); the process ends
    # through os._exit after stopping that browser, so stdout must still be complete
    out = tmp_path / "out"
    proc = _run("--quick", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert sorted(data["png_figures"]) == sorted(FIGURES), proc.stdout[-800:]
    for name in FIGURES:
        png = (out / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        assert int.from_bytes(png[16:20], "big") == 1000  # the width asked for
        assert len(png) > 10_000  # drawn, not blank
    assert f"({len(FIGURES)} PNG)" in proc.stdout and proc.stdout.rstrip().endswith(").")


@pytest.mark.parametrize("bad", [["reproduce", "--seeds", "0"], ["reproduce", "--threads", "0"], ["nope"]])
def test_bad_arguments_exit_with_an_error(bad):
    from gaugelab.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(bad)
    assert e.value.code == 2


def _one_line_error(proc, must_contain: str):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("python -m gaugelab reproduce: error: ") and must_contain in lines[0], lines[0]


def test_an_unwritable_out_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = _run("--quick", "--out", str(blocker / "out"), "--no-png", "--no-progress", timeout=120)
    _one_line_error(proc, "--out: cannot write to")
    assert str(blocker / "out") in proc.stderr


def test_a_device_this_torch_cannot_use_is_a_one_line_error(tmp_path):
    # on a CPU-only torch, "cuda" itself; on a CUDA machine, a GPU index that does not exist
    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    proc = _run(
        "--quick", "--device", device, "--out", str(tmp_path / "o"), "--no-png", "--no-progress", timeout=120
    )
    _one_line_error(proc, "--device:")
    if not torch.cuda.is_available():
        assert "CPU-only" in proc.stderr
    proc = _run("--quick", "--device", "not-a-device", "--out", str(tmp_path / "o"), timeout=120)
    _one_line_error(proc, "--device: expected a torch device")
