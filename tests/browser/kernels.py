"""Run a notebook top to bottom in a fresh kernel of a chosen interpreter, with extra environment.

The kernel is described by a throw-away kernelspec (argv = that interpreter's ipykernel, env = the
extras, IPYTHONDIR in a temporary folder), so no user-level kernelspec or ~/.ipython is used.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import nbformat

GUARD_DIR = Path(__file__).resolve().parent / "netguard"


LOADED = "guard loaded"  # the record kind sitecustomize.py logs at start with announce=True


def guard_env(log: Path, announce: bool = False) -> dict:
    """Environment that loads the network guard (tests/browser/netguard/sitecustomize.py); with
    ``announce`` every guarded process also logs a record of kind LOADED when it starts."""
    env = {"PYTHONPATH": str(GUARD_DIR), "GAUGELAB_NETGUARD_LOG": str(log)}
    if announce:
        env["GAUGELAB_NETGUARD_ANNOUNCE"] = "1"
    return env


def log_records(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def guard_records(log: Path) -> list[dict]:
    """The refused network attempts logged to ``log``."""
    return [r for r in log_records(log) if r["kind"] != LOADED]


def guard_loads(log: Path) -> list[dict]:
    """The processes that logged their start under the guard (announce=True): pid and argv."""
    return [r for r in log_records(log) if r["kind"] == LOADED]


def execute_notebook(
    path: Path,
    python: str = sys.executable,
    env: dict | None = None,
    timeout: int = 300,
    extra_cells: tuple[str, ...] = (),
) -> tuple[nbformat.NotebookNode, float]:
    """Execute ``path`` (cwd = its folder; widget state not stored), then ``extra_cells`` in the
    same kernel. Returns (executed notebook, wall seconds). Raises nbclient's CellExecutionError on
    the first cell that fails."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for src in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(src))
    with tempfile.TemporaryDirectory(prefix="gaugelab-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / "gaugelab-test"
        kdir.mkdir(parents=True)
        spec = {
            "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "gaugelab test",
            "language": "python",
            "env": {"IPYTHONDIR": str(Path(tmp) / "ipython"), **(env or {})},
        }
        (kdir / "kernel.json").write_text(json.dumps(spec))
        km = KernelManager(
            kernel_name="gaugelab-test", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kdir.parent)])
        )
        client = NotebookClient(
            nb,
            km=km,
            timeout=timeout,
            store_widget_state=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        t0 = time.perf_counter()
        client.execute()
        return nb, time.perf_counter() - t0


def error_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Every error output of an executed notebook, as 'ename: evalue'."""
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
