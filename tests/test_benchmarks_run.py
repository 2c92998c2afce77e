"""Every Python benchmark in benchmarks/ still runs (with small settings): a benchmark is not a timed
test, but one that no longer starts measures nothing (benchmarks/ensemble.py once called a helper
that a refactor of gaugelab.experiments had removed). Timings are not checked here; what each run
prints that says its comparison held (e.g. "check: OK") is.

Not here: the two browser benchmarks (widgets_browser.py, live_throttle.py: JupyterLab and Chromium,
minutes); the browser tests (tests/test_browser*.py) drive the same pages and helpers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

CASES = {
    # script and arguments: lines the output must contain
    "ensemble.py --repeats 1 --steps 20 --every 100": ["ratio (fused over today's ensemble", "check: OK"],
    "train_step.py --repeats 1 --steps 20": ["plain loop", "before/now"],
    "widgets_dynamics.py": ["LandscapeWidget"],
    "widgets_lookup.py": ["serve median"],
    "widgets_orbit.py": ["orbit_state alone"],
    "reproduce.py --repeats 1 --no-png": ["median fused (auto): wall"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_benchmark_runs(case):
    script, *args = case.split()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"{case} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    for line in CASES[case]:
        assert line in proc.stdout, f"{case}: {line!r} not in its output:\n{proc.stdout[-2000:]}"
