"""A fresh virtual environment built the way Binder builds the course: binder/requirements.txt
(its CPU-index lines replaced by the local torch pin, which pip finds on this machine) and then
binder/postBuild. tests/test_binder.py checks its pins and postBuild; tests/test_browser.py runs
JupyterLab from it, so every course notebook is executed in the Binder environment once, in the
browser, under the network guard.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from browser.lab import REPO

BINDER = REPO / "binder"
LOCAL_TORCH = "torch==2.13.0"


def build(workdir: Path) -> dict:
    """A new venv from binder/requirements.txt (CPU index lines -> the local torch pin) + postBuild.

    Returns {"python", "venv", "postBuild" (CompletedProcess), "freeze", "seconds"}; raises
    CalledProcessError when pip fails."""
    work = Path(workdir)
    venv = work / "binder-venv"
    reqs = work / "requirements.txt"
    kept = []
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        s = line.strip()
        if s.startswith("--extra-index-url") or s.startswith("torch=="):
            continue
        kept.append(line)
    reqs.write_text("\n".join([LOCAL_TORCH, *kept]) + "\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(reqs)], check=True, capture_output=True, text=True)
    env = {**os.environ, "NB_PYTHON_PREFIX": str(venv), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    post = subprocess.run([str(BINDER / "postBuild")], env=env, capture_output=True, text=True, cwd="/")
    freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    return {
        "python": py,
        "venv": venv,
        "postBuild": post,
        "freeze": freeze,
        "seconds": time.perf_counter() - t0,
    }
