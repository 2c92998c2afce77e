"""Security: no notebook and no gaugelab module reaches the network; open-course.sh stays local.

The guard (tests/browser/netguard/sitecustomize.py, loaded through PYTHONPATH) hooks Python's audit
events and refuses and logs every attempt to resolve, connect or send to a non-loopback address,
from ``socket`` or ``_socket``, TCP or UDP, through ctypes, or in a child process (even one started
with a cleared environment). The tests below show that each of those paths is caught and that
loopback (the kernel's own channel) works. Every course notebook runs under the guard once per test
session: in tests/test_browser.py, whose JupyterLab (from the Binder environment) and kernels load it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from browser import kernels, lab

REPO = lab.REPO
NOTEBOOKS = lab.notebooks()
GUARD_CHECK_CELL = (
    "import sitecustomize\n"
    "assert getattr(sitecustomize, 'GUARD_ACTIVE', False), 'network guard not loaded in this kernel'\n"
    "assert sitecustomize.selftest(), 'the audit hook does not refuse a public name lookup'\n"
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


# Addresses reserved for documentation (RFC 5737, RFC 3849, RFC 2606): even a guard that failed
# would reach nothing; the tests check the guard's own refusal, not a network error.
PUBLIC4, PUBLIC6, PUBLIC_NAME = "192.0.2.1", "2001:db8::1", "guard-test.example"
GUARDED_CALLS = {
    "_socket-connect": f"import _socket; s = _socket.socket(); s.settimeout(2); s.connect(({PUBLIC4!r}, 80))",
    "_socket-connect_ex": f"import _socket; s = _socket.socket(); s.connect_ex(({PUBLIC4!r}, 80))",
    "_socket-getaddrinfo": f"import _socket; _socket.getaddrinfo({PUBLIC_NAME!r}, 80)",
    "socket-gethostbyname": f"import socket; socket.gethostbyname({PUBLIC_NAME!r})",
    "socket-gethostbyaddr": f"import socket; socket.gethostbyaddr({PUBLIC4!r})",
    "udp-sendto": f"import socket as k; k.socket(k.AF_INET, k.SOCK_DGRAM).sendto(b'x', ({PUBLIC4!r}, 53))",
    "udp-connect": f"import socket as k; k.socket(k.AF_INET, k.SOCK_DGRAM).connect(({PUBLIC4!r}, 53))",
    "udp-sendmsg": f"import socket as k; k.socket(2, k.SOCK_DGRAM).sendmsg([b'x'], [], 0, ({PUBLIC4!r}, 5))",
    "ipv6-connect": f"import socket as k; s = k.socket(10); s.settimeout(2); s.connect(({PUBLIC6!r}, 8))",
    "ipv4-mapped-ipv6": (
        "import socket; s = socket.socket(socket.AF_INET6); s.settimeout(2); "
        f"s.connect(('::ffff:{PUBLIC4}', 80, 0, 0))"
    ),
    "asyncio-open_connection": (
        f"import asyncio; asyncio.run(asyncio.wait_for(asyncio.open_connection({PUBLIC4!r}, 80), 2))"
    ),
    "ctypes-libc-connect": "import ctypes; ctypes.CDLL(None).connect",
    "ctypes-libc-getaddrinfo": "import ctypes; ctypes.CDLL(None).getaddrinfo",
}


@pytest.mark.parametrize("name", sorted(GUARDED_CALLS))
def test_guard_refuses_every_path_to_a_public_address(tmp_path, name):
    """Each path is refused by the guard itself (its message), and logged with its target."""
    log = tmp_path / "guard.jsonl"
    proc = _run_guarded(
        f"""
        try:
            {GUARDED_CALLS[name]}
            print("WENT-THROUGH")
        except Exception as exc:
            guard = "gaugelab network guard" in str(exc)
            print("refused" if guard else f"OTHER {{type(exc).__name__}}: {{exc}}")
        """,
        log,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "refused", proc.stdout + proc.stderr[-2000:]
    records = kernels.guard_records(log)
    assert len(records) >= 1, "refused but not logged"
    assert any(t in records[0]["target"] for t in (PUBLIC4, PUBLIC6, PUBLIC_NAME, "connect", "getaddrinfo"))


CHILD_CODE = f"import socket; socket.create_connection(({PUBLIC4!r}, 80), timeout=2)"


@pytest.mark.parametrize(
    "launch",
    [
        "subprocess.run([sys.executable, '-c', CHILD], env={}, capture_output=True)",
        "subprocess.run([sys.executable, '-c', CHILD], env={'PATH': '/usr/bin'}, capture_output=True)",
        "os.environ.pop('PYTHONPATH'); subprocess.run([sys.executable, '-c', CHILD], capture_output=True)",
        "os.environ.pop('PYTHONPATH'); os.system(sys.executable + ' -c ' + repr(CHILD) + ' 2>/dev/null')",
    ],
    ids=["popen-cleared-env", "popen-env-without-guard", "popen-after-environ-edit", "os.system"],
)
def test_guard_follows_python_children_even_with_a_cleared_environment(tmp_path, launch):
    """The child's own connection attempt is refused and logged, by the child (its pid)."""
    log = tmp_path / "guard.jsonl"
    proc = _run_guarded(
        f"""
        import os, subprocess, sys
        CHILD = {CHILD_CODE!r}
        {launch}
        print("parent", os.getpid())
        """,
        log,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    parent = int(proc.stdout.split("parent")[1].split()[0])
    records = kernels.guard_records(log)
    assert records and all(r["pid"] != parent for r in records), records
    assert PUBLIC4 in records[0]["target"]


@pytest.mark.parametrize(
    "call",
    [
        "os.posix_spawn(sys.executable, [sys.executable, '-c', 'pass'], {})",
        "os.execve(sys.executable, [sys.executable, '-c', 'pass'], {'PATH': '/usr/bin'})",
        # os.spawnve forks, then its execve is refused in the child, which exits with 127
        "assert os.spawnve(os.P_WAIT, sys.executable, [sys.executable, '-c', 'pass'], {}) == 127; 1 / 0",
    ],
    ids=["posix_spawn", "execve", "spawnve"],
)
def test_guard_refuses_exec_and_spawn_with_an_environment_without_it(tmp_path, call):
    """Their environment is read before the hook sees it, so the guard cannot be put back: refused."""
    log = tmp_path / "guard.jsonl"
    proc = _run_guarded(
        f"""
        import os, sys
        try:
            {call}
            print("WENT-THROUGH")
        except ConnectionRefusedError as exc:
            print("refused" if "gaugelab network guard" in str(exc) else exc)
        except ZeroDivisionError:
            print("refused")
        """,
        log,
    )
    assert proc.stdout.strip() == "refused", proc.stdout + proc.stderr[-2000:]
    records = kernels.guard_records(log)
    assert records and "without the guard" in records[0]["kind"], records


def test_guard_allows_loopback_unix_sockets_and_guarded_children(tmp_path):
    """What kernels and JupyterLab need keeps working: TCP and UDP on 127.0.0.1 (and ::1 where the
    machine has IPv6), localhost names, Unix sockets, and children that inherit the guard."""
    log = tmp_path / "guard.jsonl"
    proc = _run_guarded(
        """
        import os, socket, subprocess, sys, tempfile
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
        socket.create_connection(server.getsockname(), timeout=5).close()
        socket.create_connection(("localhost", server.getsockname()[1]), timeout=5).close()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"ping", udp.getsockname())
        assert udp.recv(10) == b"ping"
        socket.getaddrinfo("localhost", 80); socket.getaddrinfo(None, 80); socket.getaddrinfo("127.0.0.1", 80)
        if socket.has_ipv6:
            try:
                s6 = socket.socket(socket.AF_INET6); s6.bind(("::1", 0)); s6.listen()
                socket.create_connection(("::1", s6.getsockname()[1]), timeout=5).close()
            except OSError as exc:  # no IPv6 loopback configured here: not the guard's business
                assert "gaugelab network guard" not in str(exc)
        path = os.path.join(tempfile.mkdtemp(), "sock")
        unix = socket.socket(socket.AF_UNIX); unix.bind(path); unix.listen()
        c = socket.socket(socket.AF_UNIX); c.connect(path); c.close()
        out = subprocess.run([sys.executable, "-c", "import sitecustomize; print(sitecustomize.selftest())"],
                             capture_output=True, text=True).stdout
        assert out.strip() == "True", out
        print("all local ok")
        """,
        log,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all local ok" in proc.stdout
    assert kernels.guard_records(log) == []


def test_a_kernel_under_the_guard_runs_code_and_is_guarded(tmp_path):
    """A real ipykernel (ZMQ over 127.0.0.1, started by jupyter_client) under the guard: it runs
    code, and a connection attempt from inside it is refused and logged."""
    from jupyter_client.manager import start_new_kernel

    log = tmp_path / "guard.jsonl"
    env = {**os.environ, **kernels.guard_env(log)}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        outputs = []

        def run(code):
            outputs.clear()
            kc.execute_interactive(code, timeout=60, output_hook=lambda m: outputs.append(m["content"]))
            return "".join(o.get("text", "") for o in outputs)

        assert run("print(6 * 7)").strip() == "42"
        assert run("import sitecustomize; print(sitecustomize.selftest())").strip() == "True"
        text = run(
            "import urllib.request\n"
            "try:\n    urllib.request.urlopen('http://192.0.2.1/', timeout=2)\n"
            "except Exception as exc:\n    print('guard' if 'gaugelab network guard' in str(exc) else exc)"
        )
        assert text.strip() == "guard", text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    records = kernels.guard_records(log)
    assert len(records) == 1 and "192.0.2.1" in records[0]["target"]


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


def test_announce_logs_every_guarded_process_start(tmp_path):
    """With announce on, a guarded process and its Python child each log their start: what the
    browser test relies on to show that JupyterLab's kernels ran under the guard."""
    log = tmp_path / "guard.jsonl"
    env = {**os.environ, **kernels.guard_env(log, announce=True)}
    child = "import subprocess, sys; subprocess.run([sys.executable, '-m', 'json.tool', '-h'], check=True)"
    proc = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    loads = kernels.guard_loads(log)
    assert len(loads) == 2 and len({r["pid"] for r in loads}) == 2, loads
    assert "json.tool" in loads[1]["argv"], loads[1]  # `-m module` is named (what test_browser looks for)
    assert kernels.guard_records(log) == []
    quiet = tmp_path / "quiet.jsonl"  # announce off: nothing logged for a process that sends nothing
    env = {**os.environ, **kernels.guard_env(quiet)}
    subprocess.run([sys.executable, "-c", "print(1)"], env=env, check=True, capture_output=True)
    assert kernels.guard_loads(quiet) == [] and not quiet.exists()


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


def test_kaleido_page_loads_only_local_scripts():
    """The PNG export's Chromium page (notebooks' static fallbacks, reproduce's PNGs) with our
    options loads only local files; kaleido's defaults load MathJax from a CDN (the control)."""
    from kaleido._page_generator import PageGenerator

    from gaugelab.display import KALEIDO_OPTIONS

    def scripts(**kw) -> list[str]:
        return re.findall(r'<script[^>]*src="([^"]+)"', PageGenerator(**kw).generate_index())

    ours = scripts(**KALEIDO_OPTIONS)
    assert ours and all(s.startswith("file://") for s in ours), ours
    assert any(s.startswith("https://") for s in scripts()), "control: kaleido's default page changed"


def test_no_figure_text_needs_mathjax():
    """KALEIDO_OPTIONS turns MathJax off: no string in the package or in a notebook's code may carry
    LaTeX ($...$) text (plotly would typeset it with MathJax only)."""
    import nbformat

    texts = {p.name: p.read_text() for p in (REPO / "gaugelab").rglob("*.py")}
    for nb_path in NOTEBOOKS:
        nb = nbformat.read(nb_path, as_version=4)
        texts[nb_path.name] = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    latex = re.compile(r"[\"'][^\"'\n]*\$[^\"'\n]*\$")
    hits = [f"{name}: {m.group(0)}" for name, text in texts.items() for m in latex.finditer(text)]
    assert hits == [], hits
    assert latex.search("title='$\\rho_j$'"), "control: the pattern must catch a LaTeX title"
