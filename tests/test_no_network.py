"""Security: no notebook and no gaugelab module reaches the network; open-course.sh stays local.

The guard (tests/browser/netguard/sitecustomize.py, loaded through PYTHONPATH) refuses and logs
every Python-level attempt to resolve or connect to a non-loopback address. Each course notebook is
executed in a kernel that loads it; a test shows the guard catches a deliberate urlopen to a public
host (refused before any DNS lookup or connection is made).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browser import kernels, lab

REPO = lab.REPO
NOTEBOOKS = lab.notebooks()
GUARD_CHECK_CELL = (
    "import socket, sitecustomize\n"
    "assert getattr(sitecustomize, 'GUARD_ACTIVE', False), 'network guard not loaded in this kernel'\n"
    "assert socket.getaddrinfo.__module__ == 'sitecustomize'\n"
    "print('network guard active')"
)


def _run_guarded(code: str, log: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **kernels.guard_env(log)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_guard_refuses_public_host_and_allows_loopback(tmp_path):
    """Negative control: the guard must catch a deliberate urlopen to a public host."""
    log = tmp_path / "guard.jsonl"
    proc = _run_guarded(
        """
        import socket, urllib.request
        try:
            urllib.request.urlopen("https://pypi.org/simple/", timeout=5)
            print("URLOPEN-WENT-THROUGH")
        except Exception as exc:
            print("urlopen refused:", type(exc).__name__)
        try:
            socket.create_connection(("151.101.0.223", 443), timeout=5)
            print("CONNECT-WENT-THROUGH")
        except ConnectionRefusedError:
            print("connect refused")
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()
        print("loopback ok")
        """,
        log,
    )
    assert proc.returncode == 0, proc.stderr
    assert "urlopen refused: URLError" in proc.stdout
    assert "connect refused" in proc.stdout
    assert "WENT-THROUGH" not in proc.stdout
    assert "loopback ok" in proc.stdout
    records = kernels.guard_records(log)
    targets = " ".join(r["target"] for r in records)
    assert "pypi.org" in targets and "151.101.0.223" in targets
    assert "127.0.0.1" not in targets


def test_gaugelab_modules_stay_offline(tmp_path):
    """Import every gaugelab module and exercise data, training, sharpness and figure display
    (including the kaleido PNG export) under the guard: nothing may try the network."""
    log = tmp_path / "guard.jsonl"
    proc = _run_guarded(
        """
        import importlib, pkgutil
        import gaugelab as gl
        names = [m.name for m in pkgutil.walk_packages(gl.__path__, "gaugelab.")]
        for name in names:
            importlib.import_module(name)
        data = gl.toy_regression(seed=0)
        run = gl.train(gl.two_layer(width=8, seed=0), data.x_train, data.y_train, steps=20, lr=0.05, lam=0.1)
        gl.top_hessian_eigenvalue(run.model, data.x_train, data.y_train, iters=10)
        import plotly.graph_objects as go
        from gaugelab.display import mimebundle
        bundle = mimebundle(go.Figure(go.Scatter(y=[1, 3, 2])))
        print("modules", len(names), "bundle", sorted(bundle))
        """,
        log,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "modules" in proc.stdout
    assert kernels.guard_records(log) == [], kernels.guard_records(log)


@pytest.fixture(scope="module")
def guarded_runs(tmp_path_factory):
    """Every course notebook executed under the guard (two kernels at a time); name -> result."""
    base = tmp_path_factory.mktemp("netguard")

    def run(path: Path) -> dict:
        log = base / f"{path.stem}.jsonl"
        t0 = time.perf_counter()
        try:
            nb, _ = kernels.execute_notebook(
                path, env=kernels.guard_env(log), extra_cells=(GUARD_CHECK_CELL,)
            )
            error = None
        except Exception as exc:  # CellExecutionError: the cell and traceback are in the message
            nb, error = None, f"{type(exc).__name__}: {str(exc)[-3000:]}"
        return {"nb": nb, "error": error, "log": log, "seconds": time.perf_counter() - t0}

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([p.name for p in NOTEBOOKS], pool.map(run, NOTEBOOKS)))


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_never_reaches_the_network(nb_path, guarded_runs, report):
    res = guarded_runs[nb_path.name]
    report(f"no-network run {nb_path.name}: {res['seconds']:.1f} s (2 kernels in parallel)")
    assert res["error"] is None, res["error"]
    last = res["nb"].cells[-1].outputs
    assert any("network guard active" in o.get("text", "") for o in last), last
    records = kernels.guard_records(res["log"])
    assert records == [], "network access attempted:\n" + "\n".join(
        f"{r['kind']} {r['target']}\n{''.join(r['stack'][-4:])}" for r in records
    )


# ------------------------------------------------------------------------------------------------
# scripts/open-course.sh: bound to 127.0.0.1, token on
# ------------------------------------------------------------------------------------------------
OPEN_COURSE = REPO / "scripts" / "open-course.sh"


def test_open_course_script_binds_loopback_with_token():
    text = OPEN_COURSE.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"--ServerApp\.ip=127\.0\.0\.1\b", code)
    assert not re.search(r"--(ServerApp\.)?ip=(0\.0\.0\.0|\*|::)|--ip\b", code)
    m = re.search(r"--(IdentityProvider|ServerApp|NotebookApp)\.token=(\S+)", code)
    assert m and m.group(2) not in ("''", '""', ""), "the token must be set to a non-empty value"
    assert re.search(r"token=\$\{JUPYTER_TOKEN:-\$\(.*secrets\.token_hex", code), (
        "token must default to random"
    )
    for bad in (
        "disable_check_xsrf",
        "allow_origin='*'",
        "allow_origin=*",
        "password=''",
        "allow_remote_access",
    ):
        assert bad not in code, bad


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, from /proc/net/tcp*) that listen on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, p = local.split(":")
                if state == "0A" and int(p, 16) == port:  # 0A = LISTEN
                    found.add(addr)
    return found


def test_open_course_live_refuses_requests_without_token(tmp_path):
    """Start scripts/open-course.sh on a free port: only 127.0.0.1 listens; no token -> 403."""
    stamp = REPO / ".venv" / ".gaugelab-installed"
    newest = max((REPO / f).stat().st_mtime for f in ("requirements.txt", "pyproject.toml"))
    assert stamp.exists() and stamp.stat().st_mtime >= newest, (
        ".venv is not set up (open-course.sh would install it): run `bash scripts/run-tests.sh` once first"
    )
    env, _ = lab.isolated_jupyter_env(tmp_path / "jupyter")
    port = lab.free_port()
    env["GAUGELAB_PORT"] = str(port)
    out = tmp_path / "open-course.log"
    proc = subprocess.Popen(
        ["bash", str(OPEN_COURSE), "--no-browser", "--ServerApp.port_retries=0"],
        cwd=REPO,
        env=env,
        stdout=open(out, "w"),
        stderr=subprocess.STDOUT,
    )
    import urllib.error
    import urllib.request

    def get(path: str, token: str | None = None) -> int:
        headers = {"Authorization": f"token {token}"} if token else {}
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        token, end = None, time.time() + 120
        while time.time() < end and proc.poll() is None:
            m = re.search(rf"http://127\.0\.0\.1:{port}/lab/\S*[?&]token=([0-9a-f]+)", out.read_text())
            if m:
                token = m.group(1)
                try:
                    if get("/api/contents", token) == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.2)
        assert token and len(token) >= 32, out.read_text()[-2000:]
        assert get("/api/contents", token) == 200
        assert get("/api/contents") == 403
        assert get("/api/contents?token=wrong") == 403
        addrs = _listening_addresses(port)
        assert addrs == {"0100007F"}, f"listening on {addrs} (0100007F = 127.0.0.1 only)"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
