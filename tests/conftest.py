"""Shared fixtures and hypothesis strategies; measured statistics are printed in the summary."""

from __future__ import annotations

import subprocess

import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import gaugelab as gl

settings.register_profile(
    "gaugelab", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("gaugelab")

_REPORT: list[str] = []


@pytest.fixture
def report():
    """Call report("line") to print a measured number in pytest's terminal summary."""
    return _REPORT.append


def pytest_terminal_summary(terminalreporter):
    if _REPORT:
        terminalreporter.section("GaugeLab measurements")
        for line in _REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def binder_env(tmp_path_factory):
    """The Binder environment, built once per session (tests/browser/binder_env.py)."""
    from browser import binder_env as be

    try:
        return be.build(tmp_path_factory.mktemp("binder"))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"building the Binder environment failed: {exc}\n{(exc.stderr or '')[-3000:]}")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, binder_env):
    """JupyterLab for the browser tests: from the Binder environment, under the network guard
    (announcing every process)."""
    from browser import kernels, lab, probe

    work = tmp_path_factory.mktemp("jupyterlab")
    guard = kernels.guard_env(work / "netguard.jsonl", announce=True)
    server = lab.LabServer(lab.REPO, work, python=binder_env["python"], env_extra=guard)
    server.guard_log = work / "netguard.jsonl"
    probe.expose_app(server)  # window.jupyterapp: the rapid-input check asks the kernel for its pid
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One Playwright Chromium for the session (tests/test_browser.py, test_browser_drag.py): a second
    sync Playwright in the same thread would refuse to start."""
    from browser import lab

    cm = lab.chromium_context()
    try:
        ctx = cm.__enter__()
    except lab.ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield ctx
    cm.__exit__(None, None, None)


@st.composite
def architectures(draw, max_depth: int = 3):
    """A random (widths, activation, bias) for gaugelab.mlp."""
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(1, 4))] + [draw(st.integers(1, 6)) for _ in range(depth)]
    widths.append(draw(st.integers(1, 3)))
    activation = draw(st.sampled_from(["relu", "leaky_relu", "identity"]))
    bias = draw(st.booleans())
    return widths, activation, bias


@st.composite
def models(draw, max_depth: int = 3):
    """A random float64 MLP drawn from :func:`architectures` with a random seed."""
    widths, activation, bias = draw(architectures(max_depth))
    seed = draw(st.integers(0, 10_000))
    return gl.mlp(widths, activation=activation, bias=bias, seed=seed)


def inputs(model, n: int = 32, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, gl.nets.input_width(model), generator=gen, dtype=torch.float64)


def targets(model, n: int = 32, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, gl.nets.output_width(model), generator=gen, dtype=torch.float64)


def flat_grad(model, loss) -> torch.Tensor:
    """∇ loss over all parameters in flat order (zeros for parameters the loss does not use)."""
    params = list(model.parameters())
    grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for p, g in zip(params, grads)])


def flat_params(model) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
