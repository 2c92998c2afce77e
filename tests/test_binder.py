"""Binder: binder/ agrees with requirements.txt, repo2docker turns it into a Dockerfile that installs
it, and a fresh virtual environment built from it (CPU-index lines replaced by the local torch pin)
matches the pins and ran postBuild. That environment (the session fixture ``binder_env``,
tests/browser/binder_env.py) is the one JupyterLab runs from in tests/test_browser.py, under the
network guard: every course notebook is executed there once, in the browser, not a second time here.

Slow-ish parts: jupyter-repo2docker lives in its own venv under build/.cache/ (created on first use,
then reused); the fresh environment is built once per session (one to three minutes) in a temp dir.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from browser import lab
from browser.binder_env import LOCAL_TORCH

REPO = lab.REPO
BINDER = REPO / "binder"
NOTEBOOKS = lab.notebooks()
CACHE = Path(os.environ.get("GAUGELAB_CACHE_DIR", REPO / "build" / ".cache"))
REPO2DOCKER_PIN = "jupyter-repo2docker==2026.4.0"
# What the notebooks need at run time (the root file also pins test tools Binder does not need).
RUNTIME = {"torch", "numpy", "tqdm", "jupyterlab", "ipywidgets", "jupyterlab-widgets", "plotly", "anywidget"}
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)\s*(;[^#]*)?")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> list[tuple[str, str, str]]:
    """(normalised name, version, marker) for every `name==version` line of a requirements file."""
    out = []
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        m = PIN.match(line)
        if m:
            out.append((_norm(m.group(1)), m.group(2), (m.group(3) or "").lstrip("; ").strip()))
    return out


def test_binder_files():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    post = BINDER / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable (chmod +x)"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash") and re.search(r"^set -e", text, re.M)
    assert re.search(r"pip install .*--no-deps -e \.", text)
    assert "binder/overrides.json" in text and "${NB_PYTHON_PREFIX" in text
    assert "share/jupyter/lab/settings" in text


def test_binder_pins_agree_with_requirements():
    root = {name: ver for name, ver, _ in pins(REPO / "requirements.txt")}
    binder = pins(BINDER / "requirements.txt")
    assert binder, "no pins found in binder/requirements.txt"
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    for name, ver, marker in binder:
        assert name in root, f"{name} is pinned in binder/ but not in requirements.txt"
        assert ver.split("+")[0] == root[name], f"{name}: binder {ver} != requirements.txt {root[name]}"
        if "+" in ver:
            assert name == "torch" and ver.endswith("+cpu") and 'sys_platform == "linux"' in marker
    names = {name for name, _, _ in binder}
    assert RUNTIME <= names, f"missing from binder/requirements.txt: {sorted(RUNTIME - names)}"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    torch_pins = [(v, m) for n, v, m in binder if n == "torch"]
    assert ("2.13.0+cpu", 'sys_platform == "linux"') in torch_pins, torch_pins
    assert all(not line.startswith("-e") for line in lines), "gaugelab is installed by postBuild"


def test_kaleido_absence_is_documented_and_handled():
    """Binder has no kaleido (no usable Chromium there): binder/requirements.txt says so, and
    gaugelab.display then shows the interactive figure alone (the fresh-env tests below run every
    notebook without kaleido)."""
    text = (BINDER / "requirements.txt").read_text()
    assert "kaleido" not in {name for name, _, _ in pins(BINDER / "requirements.txt")}
    assert re.search(r"^# kaleido is left out on purpose", text, re.M)
    readme = (REPO / "README.md").read_text()
    assert "kaleido" in readme.split("**On Binder")[1].split("\n\n")[0]


def test_github_slug_is_the_same_in_the_badge_and_pyproject():
    """The repository slug lives in two places, which the README names: the badge and pyproject."""
    slug = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["gaugelab"]["github"]
    readme = (REPO / "README.md").read_text()
    badges = re.findall(r"https://mybinder\.org/v2/gh/([^/]+/[^/]+)/HEAD", readme)
    assert badges and set(badges) == {slug}, (badges, slug)
    on_binder = readme.split("**On Binder")[1].split("\n\n")[0]
    assert "[tool.gaugelab]" in on_binder and "README" in on_binder


def test_repo2docker_dockerfile_installs_binder_requirements():
    venv = CACHE / "repo2docker-venv"
    r2d = venv / "bin" / "repo2docker"
    if not r2d.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             REPO2DOCKER_PIN],
            check=True,
        )  # fmt: skip
    proc = subprocess.run(
        [str(r2d), "--no-build", "--debug", "--user-id", "1000", "--user-name", "jovyan", str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "FROM " in out, out[-3000:]
    assert re.search(r'pip install --no-cache-dir -r "?binder/requirements\.txt"?', out), out[-4000:]
    assert re.search(r"python=?3\.11|python-3\.11|PYTHON_VERSION=3\.11", out), "runtime.txt not picked up"
    assert re.search(r"RUN .*\./binder/postBuild", out) or "binder/postBuild" in out


def test_fresh_env_matches_pins_and_postbuild_ran(binder_env, report):
    fresh_env = binder_env
    report(f"binder venv: pip install + postBuild {fresh_env['seconds']:.0f} s")
    post = fresh_env["postBuild"]
    assert post.returncode == 0, post.stdout + post.stderr
    installed = {}
    for line in fresh_env["freeze"].splitlines():
        if "==" in line:
            n, v = line.split("==", 1)
            installed[_norm(n)] = v
        elif " @ " not in line and "-e " in line and "gaugelab" in line:
            installed["gaugelab"] = "editable"
    for name, ver, _ in pins(BINDER / "requirements.txt"):
        if name == "torch":
            continue
        assert installed.get(name) == ver, f"{name}: installed {installed.get(name)}, pinned {ver}"
    assert installed.get("torch", "").split("+")[0] == LOCAL_TORCH.split("==")[1]
    check = subprocess.run(
        [fresh_env["python"], "-c", "import gaugelab, sys; print(gaugelab.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert check.returncode == 0 and str(REPO / "gaugelab") in check.stdout, check.stdout + check.stderr
    settings = Path(fresh_env["venv"]) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert settings.read_text() == (BINDER / "overrides.json").read_text()
