"""Set-up and packaging: the torch command the set-up chooses, the Chromium/npm step of the test
command, and the wheel that `pip install .` builds.

Everything here is offline. The torch choice (scripts/_torch.sh) runs real pip against two package
indexes served on 127.0.0.1 (a stand-in "PyTorch CPU index" and a stand-in "PyPI", each with a tiny
fake torch wheel that says where it came from); the Chromium step (scripts/_chromium.sh) runs
against fake apt-get / sudo / id programs that record their arguments: the machine's own Chromium is
never touched.
"""

from __future__ import annotations

import email
import functools
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import tomllib
import zipfile
from pathlib import Path

import pytest

import gaugelab

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


# ------------------------------------------------------------------------------------------------
# torch: the CPU wheel index first, the plain pin as the quick fallback
# ------------------------------------------------------------------------------------------------
def torch_pin() -> str:
    pins = re.findall(r"^torch==(\S+)$", (REPO / "requirements.txt").read_text(), re.M)
    assert len(pins) == 1, pins
    return pins[0]


def fake_wheel(folder: Path, version: str, origin: str) -> Path:
    """A pure-Python wheel named torch whose module records ``origin``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"torch-{version}-py3-none-any.whl"
    info = f"torch-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("torch/__init__.py", f"ORIGIN = {origin!r}\n__version__ = {version!r}\n")
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
        wheel_file = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        z.writestr(f"{info}/WHEEL", wheel_file)
        z.writestr(f"{info}/RECORD", "")
    return path


class Index:
    """A PEP 503 'simple' index on 127.0.0.1 serving ``root/simple/<name>/``; records request paths."""

    def __init__(self, root: Path):
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                requests.append(self.path)

        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
        )
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    base = tmp_path_factory.mktemp("indexes")
    pin = torch_pin()
    fake_wheel(base / "cpu" / "simple" / "torch", f"{pin}+cpu", "cpu-index")
    fake_wheel(base / "pypi" / "simple" / "torch", pin, "pypi")
    cpu, pypi = Index(base / "cpu"), Index(base / "pypi")
    yield {"cpu": cpu, "pypi": pypi}
    cpu.close()
    pypi.close()


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory):
    venv = tmp_path_factory.mktemp("torch-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return str(venv / "bin" / "python")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple"  # nothing listens there: connection refused


def install_torch(python: str, pypi_url: str, cpu_url: str, uname: str = "Linux", timeout: int = 3):
    """Run scripts/_torch.sh's install_torch with pip configured for the stand-in indexes only."""
    subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", "torch"], capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # neither the machine's pip.conf nor its local wheels
        PIP_INDEX_URL=pypi_url,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        GAUGELAB_TORCH_INDEX=cpu_url,
        GAUGELAB_TORCH_TIMEOUT=str(timeout),
        GAUGELAB_UNAME=uname,
    )
    proc = subprocess.run(
        ["bash", "-c", 'source scripts/_torch.sh && install_torch "$0"', python],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    origin = subprocess.run(
        [python, "-c", "import torch; print(torch.ORIGIN, torch.__version__)"], capture_output=True, text=True
    )
    commands = re.findall(r"^\[gaugelab\] torch: (.*pip install.*)$", proc.stdout, re.M)
    return proc, origin.stdout.split(), commands


def test_default_torch_index_is_the_pytorch_cpu_index():
    text = (SCRIPTS / "_torch.sh").read_text()
    assert f"GAUGELAB_CPU_INDEX_DEFAULT={CPU_INDEX}\n" in text
    assert f"--extra-index-url {CPU_INDEX}" in (REPO / "binder" / "requirements.txt").read_text()


def test_linux_takes_torch_from_the_cpu_index_when_it_answers(indexes, venv_python):
    cpu, pypi = indexes["cpu"], indexes["pypi"]
    cpu.requests.clear()
    proc, origin, commands = install_torch(venv_python, pypi.url, cpu.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert origin == ["cpu-index", f"{torch_pin()}+cpu"], proc.stdout + proc.stderr
    assert len(commands) == 1, proc.stdout
    assert f"--index-url {cpu.url}" in commands[0] and "--no-deps" in commands[0]
    assert "--retries 0" in commands[0] and "--timeout 3" in commands[0]
    assert commands[0].endswith(f"torch=={torch_pin()}")
    assert any(r.startswith("/simple/torch/") for r in cpu.requests), cpu.requests
    assert "falling back" not in proc.stdout


@pytest.mark.parametrize("failure", ["refused", "no answer"])
def test_linux_falls_back_to_the_plain_pin_when_the_cpu_index_cannot_be_reached(
    indexes, venv_python, failure
):
    pypi = indexes["pypi"]
    silent = None
    if failure == "refused":
        cpu_url = closed_port_url()
    else:  # accepts the connection, never answers: pip's --timeout must end the wait
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        cpu_url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple"
    try:
        proc, origin, commands = install_torch(venv_python, pypi.url, cpu_url, timeout=2)
    finally:
        if silent is not None:
            silent.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert origin == ["pypi", torch_pin()], proc.stdout + proc.stderr
    assert len(commands) == 2, proc.stdout
    assert f"--index-url {cpu_url}" in commands[0], "the CPU index must be tried first"
    assert "--index-url" not in commands[1] and commands[1].endswith(f"torch=={torch_pin()}")
    assert "falling back to the plain pin" in proc.stdout


@pytest.mark.parametrize("uname", ["Darwin", "MINGW64_NT-10.0"])
def test_macos_and_windows_take_the_normal_wheel(indexes, venv_python, uname):
    cpu, pypi = indexes["cpu"], indexes["pypi"]
    cpu.requests.clear()
    proc, origin, commands = install_torch(venv_python, pypi.url, cpu.url, uname=uname)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert origin == ["pypi", torch_pin()]
    assert len(commands) == 1 and "--index-url" not in commands[0]
    assert cpu.requests == [], "the CPU index is for Linux only"


def test_env_installs_torch_before_the_requirements():
    text = (SCRIPTS / "_env.sh").read_text()
    assert "source scripts/_torch.sh" in text
    assert text.index("install_torch .venv/bin/python") < text.index("-r requirements.txt")


# ------------------------------------------------------------------------------------------------
# The test command installs Chromium and npm when it can (simulated: fake apt-get, sudo, id)
# ------------------------------------------------------------------------------------------------
def fake_bin(tmp: Path, uid: int, sudo: bool | None, npm: bool, apt_creates: Path | None) -> Path:
    """A PATH folder: fake id/apt-get/sudo/npm that log to tmp/log, plus the real `env`."""
    b = tmp / "bin"
    b.mkdir()
    log = tmp / "log"

    def script(name, body):
        (b / name).write_text("#!/bin/bash\n" + body)
        (b / name).chmod(0o755)

    script("id", f'[[ $1 == -u ]] && echo {uid} || echo "uid={uid}"\n')
    create = apt_creates and (  # coreutils by absolute path: PATH holds only the fakes
        f'[[ $1 == install ]] && /bin/mkdir -p "{apt_creates.parent}" && /usr/bin/touch "{apt_creates}" '
        f'&& /bin/chmod +x "{apt_creates}"\n'
    )
    script(
        "apt-get",
        f'echo "apt-get $* DEBIAN_FRONTEND=${{DEBIAN_FRONTEND:-}}" >> "{log}"\n'
        + (create or "")
        + "exit 0\n",
    )
    if sudo is not None:
        ok = "0" if sudo else "1"
        script("sudo", f'[[ $1 == -n ]] && exit {ok}\necho "sudo $1" >> "{log}"\nexec "$@"\n')
    if npm:
        script("npm", "exit 0\n")
    real_env = subprocess.run(["bash", "-c", "command -v env"], capture_output=True, text=True).stdout.strip()
    os.symlink(real_env, b / "env")
    return b


def ensure(tmp: Path, *, os_id="debian", uid=0, sudo=None, npm=True, chromium_exists=False, apt_creates=True):
    chromium = tmp / "usr" / "bin" / "chromium"
    if chromium_exists:
        chromium.parent.mkdir(parents=True)
        chromium.touch()
        chromium.chmod(0o755)
    (tmp / "os-release").write_text(f'ID={os_id}\nID_LIKE=""\n')
    b = fake_bin(tmp, uid, sudo, npm, chromium if apt_creates else None)
    env = {
        "PATH": str(b),
        "HOME": str(tmp),
        "GAUGELAB_CHROMIUM": str(chromium),
        "GAUGELAB_OS_RELEASE": str(tmp / "os-release"),
    }
    proc = subprocess.run(
        ["/bin/bash", "-c", "set -euo pipefail; source scripts/_chromium.sh; ensure_browser_tools; echo ok"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    log = (tmp / "log").read_text().splitlines() if (tmp / "log").exists() else []
    return proc, log


def test_nothing_is_installed_when_chromium_and_npm_are_there(tmp_path):
    proc, log = ensure(tmp_path, chromium_exists=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert log == []


def test_root_on_debian_installs_chromium_with_apt(tmp_path):
    proc, log = ensure(tmp_path, uid=0)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert log == [
        "apt-get update -q DEBIAN_FRONTEND=",
        "apt-get install -y -q chromium DEBIAN_FRONTEND=noninteractive",
    ]
    assert "installing chromium: apt-get update && apt-get install -y chromium" in proc.stdout


def test_missing_npm_is_installed_too(tmp_path):
    proc, log = ensure(tmp_path, uid=0, npm=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert log[-1] == "apt-get install -y -q chromium npm DEBIAN_FRONTEND=noninteractive"


def test_user_with_sudo_installs_through_sudo(tmp_path):
    proc, log = ensure(tmp_path, uid=1000, sudo=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert log == [
        "sudo apt-get",
        "apt-get update -q DEBIAN_FRONTEND=",
        "sudo env",
        "apt-get install -y -q chromium DEBIAN_FRONTEND=noninteractive",
    ]


@pytest.mark.parametrize("sudo", [False, None], ids=["sudo-needs-password", "no-sudo"])
def test_user_without_sudo_gets_the_exact_command_at_once(tmp_path, sudo):
    proc, log = ensure(tmp_path, uid=1000, sudo=sudo)
    assert proc.returncode != 0 and "ok" not in proc.stdout
    assert "Install with: sudo sh -c 'apt-get update && apt-get install -y chromium'" in proc.stderr
    assert log == []


def test_ubuntu_installs_its_chromium_package(tmp_path):
    proc, log = ensure(tmp_path, os_id="ubuntu", uid=0)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert log[-1] == "apt-get install -y -q chromium-browser DEBIAN_FRONTEND=noninteractive"


def test_other_systems_are_told_what_to_install(tmp_path):
    proc, log = ensure(tmp_path, os_id="fedora", uid=0)
    assert proc.returncode != 0 and log == []
    assert "need: chromium" in proc.stderr and "GAUGELAB_CHROMIUM" in proc.stderr


def test_an_install_that_leaves_no_chromium_fails(tmp_path):
    proc, log = ensure(tmp_path, uid=0, apt_creates=False)
    assert proc.returncode != 0 and "ok" not in proc.stdout
    assert "Chromium is still not at" in proc.stderr and len(log) == 2


def test_run_tests_sets_up_the_browser_tools_before_pytest_and_ci_runs_the_readme_command():
    text = (SCRIPTS / "run-tests.sh").read_text()
    order = [text.index(s) for s in ("source scripts/_chromium.sh", "\nensure_browser_tools", "-m pytest")]
    assert order == sorted(order), order
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", readme, re.S).group(1)
    test_cmd = [line.split("#")[0].strip() for line in block.splitlines() if "run-tests" in line]
    ci = [
        line.strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ci == test_cmd == ["bash scripts/run-tests.sh"]


# ------------------------------------------------------------------------------------------------
# One version; the wheel of `pip install .` works outside the repository
# ------------------------------------------------------------------------------------------------
def test_one_version_everywhere():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gaugelab.__version__"}
    cff = (REPO / "CITATION.cff").read_text()
    assert re.search(r"^version: \"?([^\"\n]+)\"?$", cff, re.M).group(1) == gaugelab.__version__
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [0.1.0]" in changelog
    assert re.search(r"^## \[Unreleased\]", changelog, re.M) or f"## [{gaugelab.__version__}]" in changelog


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "gaugelab-src"
    # build from a copy of the tracked files, as a fresh clone would (no build/, no .venv)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for rel in filter(None, files.stdout.split("\0")):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes((REPO / rel).read_bytes())
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (whl,) = out.glob("gaugelab-*.whl")
    return whl


def test_wheel_holds_every_package_file_and_the_metadata(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "gaugelab"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked and {"gaugelab/exercises/__init__.py", "gaugelab/widgets/__init__.py"} <= set(tracked)
    missing = sorted(set(tracked) - names)
    assert missing == [], f"files of gaugelab/ missing from the wheel: {missing}"
    meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
    meta = email.message_from_bytes(zipfile.ZipFile(wheel).read(meta_name))
    assert meta["Name"] == "gaugelab" and meta["Version"] == gaugelab.__version__
    assert any(r.startswith("torch") for r in meta.get_all("Requires-Dist"))


def test_wheel_installed_elsewhere_imports_and_computes(wheel, tmp_path):
    """Install the wheel (--no-deps) into a fresh venv that borrows this venv's packages for the
    dependencies, then import it from an empty folder: the copy in the venv must be the one used."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    here = "import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))"
    ours = subprocess.run(
        [sys.executable, "-c", here], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(ours + "\n")  # a plain path: editable hooks there stay off
    inst = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                          capture_output=True, text=True)  # fmt: skip
    assert inst.returncode == 0, inst.stdout + inst.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = (
        "import gaugelab as gl, gaugelab.exercises, gaugelab.widgets, gaugelab.theme, pathlib, sys\n"
        "print(pathlib.Path(gl.__file__).resolve())\n"
        "print(gl.__version__)\n"
        "m = gl.two_layer(d_in=1, width=8, seed=0)\n"
        "x = gl.toy_regression(seed=0).x_val\n"
        "print(float(gl.invariance_error(m, gl.random_scales(m, -2, 2), x)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(py), "-c", code], cwd=work, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    path, version, err = run.stdout.split()
    assert Path(path).is_relative_to(venv.resolve()) and not Path(path).is_relative_to(REPO), path
    assert version == gaugelab.__version__
    assert float(err) < 1e-12
