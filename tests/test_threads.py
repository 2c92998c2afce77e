"""``python -m gaugelab reproduce --threads 1`` and ``--threads 2`` give identical numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gaugelab import fused


@pytest.mark.skipif(not fused.available(), reason="numba is not installed")
def test_cli_thread_count_does_not_change_any_number(tmp_path):
    results = {}
    for n in (1, 2):
        out = tmp_path / f"threads{n}"
        cmd = [sys.executable, "-m", "gaugelab", "reproduce", "--quick", "--no-png", "--no-progress"]
        subprocess.run([*cmd, "--threads", str(n), "--out", str(out)], check=True, capture_output=True)
        results[n] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    one, two = results[1], results[2]
    assert (one["threads"], two["threads"]) == (1, 2)
    for data in (one, two):
        del data["threads"], data["timings_seconds"]
    assert one == two
    flags = list(_flat(one["stability_map"]["diverged"]))
    assert any(flags) and not all(flags)  # the comparison covers diverging and stable runs


def _flat(v):
    if isinstance(v, list):
        for x in v:
            yield from _flat(x)
    else:
        yield v
