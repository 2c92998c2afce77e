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
# scripts/open-course.sh: bound to 127.0.0.1, token on, kept off the command line, honest port
# ------------------------------------------------------------------------------------------------
OPEN_COURSE = REPO / "scripts" / "open-course.sh"


def test_open_course_script_binds_loopback_and_keeps_the_token_off_the_command_line():
    text = OPEN_COURSE.read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert re.search(r"--ServerApp\.ip=127\.0\.0\.1\b", code)
    assert not re.search(r"--(ServerApp\.)?ip=(0\.0\.0\.0|\*|::)|--ip\b", code)
    assert "--ServerApp.port_retries=0" in code
    assert not re.search(r"--[\w.]*token\b", code, re.I), "a token option on a command line"
    launch = re.search(r"\.venv/bin/jupyter lab .*?&$", code, re.S | re.M)
    assert launch and "TOKEN" not in launch.group(0).upper(), "the token must not be in Jupyter's argv"
    assert re.search(r"export JUPYTER_TOKEN=\$\{JUPYTER_TOKEN:-\$\(.*secrets\.token_hex", code), (
        "the token must go to Jupyter through the environment and default to random"
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


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from the parent ids in /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _cmdline(pid: int) -> str:
    try:
        return (
            (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _http(url: str, token: str | None = None, follow: bool = True) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    headers = {"Authorization": f"token {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


class _Course:
    """scripts/open-course.sh started in an isolated Jupyter environment, its output in a file."""

    def __init__(self, tmp_path: Path, port: int | None, token: str | None = None):
        stamp = REPO / ".venv" / ".gaugelab-installed"
        newest = max((REPO / f).stat().st_mtime for f in ("requirements.txt", "pyproject.toml"))
        assert stamp.exists() and stamp.stat().st_mtime >= newest, (
            ".venv is not set up (open-course.sh would install it): run `bash scripts/run-tests.sh` first"
        )
        env, _ = lab.isolated_jupyter_env(tmp_path / "jupyter")
        env.pop("GAUGELAB_PORT", None)
        if port is not None:
            env["GAUGELAB_PORT"] = str(port)
        if token is not None:
            env["JUPYTER_TOKEN"] = token
        self.out = tmp_path / "open-course.log"
        self.proc = subprocess.Popen(
            ["bash", str(OPEN_COURSE), "--no-browser"],
            cwd=REPO,
            env=env,
            stdout=open(self.out, "w"),
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.out.read_text()

    def link(self, timeout: float = 180) -> re.Match | None:
        end = time.time() + timeout
        while time.time() < end and self.proc.poll() is None:
            m = re.search(
                r"\[gaugelab\] open: (http://127\.0\.0\.1:(\d+)/lab/\S*[?&]token=([0-9a-f]+))", self.text()
            )
            if m:
                return m
            time.sleep(0.1)
        return None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            for pid in reversed(_descendants(self.proc.pid)):
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass


def _check_live_server(course: _Course, expect_port: int | None) -> tuple[int, str]:
    m = course.link()
    assert m, course.text()[-3000:]
    url, port, token = m.group(1), int(m.group(2)), m.group(3)
    # printed only once the server answers: the very first request, made at once, succeeds
    assert _http(url, token=None)[0] == 200, "the printed link does not answer 200"
    if expect_port is not None:
        assert port == expect_port
    assert len(token) >= 32
    api = f"http://127.0.0.1:{port}/api/contents"
    assert _http(api, token)[0] == 200
    assert _http(api)[0] == 403
    assert _http(api + "?token=wrong")[0] == 403
    bare = url.replace(f"&token={token}", "")
    status, headers = _http(bare, follow=False)
    assert status == 302 and headers.get("Location", "").startswith("/login"), (status, headers)
    assert _listening_addresses(port) == {"0100007F"}, "listening beyond 127.0.0.1"
    assert course.text().count("[gaugelab] open:") == 1
    return port, token


def test_open_course_live_token_only_in_the_environment(tmp_path):
    """The printed link answers 200 at once (with its token) and 403/redirect without; only
    127.0.0.1 listens; the token is in no process's argv: neither the script, nor the server, nor
    a kernel it starts (read from /proc/<pid>/cmdline of the whole process tree)."""
    port = lab.free_port()
    course = _Course(tmp_path, port)
    try:
        port, token = _check_live_server(course, port)
        import json
        import urllib.request

        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/kernels",
            data=json.dumps({"name": "python3"}).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 201
        end = time.time() + 60
        while time.time() < end and not any(
            "ipykernel" in _cmdline(p) for p in _descendants(course.proc.pid)
        ):
            time.sleep(0.2)
        tree = {p: _cmdline(p) for p in _descendants(course.proc.pid)}
        assert any("jupyter" in c for c in tree.values()) and any("ipykernel" in c for c in tree.values()), (
            tree
        )
        leaks = {p: c for p, c in tree.items() if token in c}
        assert not leaks, f"token visible in argv of {leaks}"
        all_procs = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
        assert not [p for p in all_procs if token in _cmdline(p)]
    finally:
        course.stop()


def test_open_course_refuses_a_taken_gaugelab_port(tmp_path):
    """GAUGELAB_PORT taken: the script says so and exits without starting a server or printing a link."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        course = _Course(tmp_path, port)
        try:
            code = course.proc.wait(120)
        finally:
            if course.proc.poll() is None:
                course.stop()
    text = course.text()
    assert code != 0
    assert f"port {port} (GAUGELAB_PORT) is taken" in text
    assert "[gaugelab] open:" not in text and "token=" not in text


def test_open_course_moves_off_a_taken_default_port_and_says_so(tmp_path):
    """Default port 8888 taken (by this test, or by someone else): the script picks a free port,
    says which, and the link it prints is for that port and works."""
    import socket

    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 8888))
        busy.listen()
    except OSError:  # already taken by another process: the same situation for the script
        busy.close()
        busy = None
    course = _Course(tmp_path, None)
    try:
        m = course.link()
        assert m, course.text()[-3000:]
        moved = re.search(
            r"port 8888 is taken \(another JupyterLab\?\); using port (\d+) instead", course.text()
        )
        assert moved, course.text()[-2000:]
        port, _ = _check_live_server(course, int(moved.group(1)))
        assert port != 8888
    finally:
        course.stop()
        if busy is not None:
            busy.close()
