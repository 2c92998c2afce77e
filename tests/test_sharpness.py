"""THEORY §5: sharpness lives on the orbit; the scalar toy's closed form; η_max = 2/λ_max."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import inputs, models, targets
from hypothesis import given
from hypothesis import strategies as st
from torch.func import functional_call, hessian

import gaugelab as gl


def scalar_toy(a: float, w: float) -> torch.nn.Sequential:
    """f(x) = a · relu(w x): THEORY §5's f = a·w·x for x = 1, w > 0."""
    model = gl.two_layer(1, 1, 1, bias=False)
    with torch.no_grad():
        model[0].weight.fill_(w)
        model[2].weight.fill_(a)
    return model


ONE = torch.ones(1, 1, dtype=torch.float64)


@given(st.floats(0.2, 3.0), st.floats(-2.0, 2.0).filter(lambda y: abs(y) > 0.1))
def test_scalar_toy_top_eigenvalue_at_a_minimum(ratio, y):
    """At a minimum a·w = y: λ_max = a² + w² = |y|(r + 1/r) with r = |w|/|a|; η_max = 2/λ_max."""
    w = math.sqrt(abs(y) * ratio)
    a = y / w
    model = scalar_toy(a, w)
    lam_max = gl.top_hessian_eigenvalue(model, ONE, torch.tensor([[y]], dtype=torch.float64))
    assert lam_max == pytest.approx(a**2 + w**2, rel=1e-10)
    assert lam_max == pytest.approx(abs(y) * (ratio + 1 / ratio), rel=1e-10)
    assert lam_max >= 2 * abs(y) * (1 - 1e-12)
    eta = gl.max_stable_lr(model, ONE, torch.tensor([[y]], dtype=torch.float64))
    assert eta == pytest.approx(2 / (abs(y) * (ratio + 1 / ratio)), rel=1e-10)


def test_balanced_minimum_has_the_largest_stable_step():
    y = torch.tensor([[1.5]], dtype=torch.float64)
    etas = {
        r: gl.max_stable_lr(scalar_toy(1.5 / math.sqrt(1.5 * r), math.sqrt(1.5 * r)), ONE, y)
        for r in (0.25, 0.5, 1.0, 2.0, 4.0)
    }
    assert max(etas, key=etas.get) == 1.0
    assert etas[1.0] == pytest.approx(1 / 1.5, rel=1e-10)


@pytest.mark.parametrize("factor, stable", [(0.9, True), (1.1, False)])
def test_gd_is_stable_below_eta_max_and_not_above(factor, stable):
    """From a perturbed imbalanced minimum, GD at 0.9 η_max converges; at 1.1 η_max it is reported
    as diverged (not raised)."""
    y = torch.tensor([[1.0]], dtype=torch.float64)
    model = scalar_toy(0.5, 2.0)  # a·w = 1, r = 4: λ_max = 4.25
    eta = gl.max_stable_lr(model, ONE, y)
    with torch.no_grad():
        model[2].weight.add_(1e-3)
    r = gl.train(model, ONE, y, steps=3000, lr=factor * eta)
    if stable:
        assert not r.diverged and r.final_loss < 1e-12
    else:
        # Either GD blows up, or it escapes to a flatter (more balanced) minimum: never stays here.
        escaped = abs(r.model[2].weight.item() - 0.5) > 0.05
        assert r.diverged or escaped
        assert torch.isfinite(r.loss).all()


@given(models(max_depth=2), st.integers(0, 100))
def test_lanczos_matches_the_full_hessian(model, seed):
    x, y = inputs(model, n=16, seed=seed), targets(model, n=16, seed=seed + 1)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(vec):
        parts = dict(
            zip(names, (t.reshape(s) for t, s in zip(vec.split([s.numel() for s in shapes]), shapes)))
        )
        return gl.half_mse(functional_call(model, parts, (x,)), y)

    full = torch.linalg.eigvalsh(hessian(loss)(theta))[-1].item()
    assert gl.top_hessian_eigenvalue(model, x, y, iters=500) == pytest.approx(full, rel=1e-8, abs=1e-10)


def test_hvp_includes_the_penalty_when_asked():
    """∇²R_λ adds λ Σ_j ξ_j ξ_jᵀ·2 at a balanced point (δ = 0): check H_R v on the generators."""
    model = gl.two_layer(2, 3, seed=0, rho0=0.0)
    x, y = inputs(model), targets(model)
    h0, _ = gl.hessian_vector_product(model, x, y, lam=0.0)
    h1, _ = gl.hessian_vector_product(model, x, y, lam=0.5)
    xi = gl.orbit_generators(model)
    for j in range(3):
        extra = h1(xi[j]) - h0(xi[j])
        # R = (λ/4) Σ δ², ∇δ_k = 2ξ_k ⇒ ∇²R = 2λ Σ_k ξ_k ξ_kᵀ + (λ/2) Σ δ_k ∇²δ_k, and δ = 0 here.
        torch.testing.assert_close(extra, 2 * 0.5 * xi.T @ (xi @ xi[j]), rtol=1e-10, atol=1e-12)


def test_sharpness_changes_along_the_orbit_while_the_loss_does_not():
    data = gl.toy_regression(seed=0)
    model = gl.train(gl.two_layer(1, 8, seed=0), data.x_train, data.y_train, steps=300, lr=0.05).model
    sharp, losses = [], []
    for s in (-1.0, 0.0, 1.0):
        moved = gl.rescale(model, torch.full((8,), math.exp(s), dtype=torch.float64))
        sharp.append(gl.top_hessian_eigenvalue(moved, data.x_train, data.y_train))
        losses.append(gl.half_mse(moved(data.x_train), data.y_train).item())
    assert max(losses) - min(losses) < 1e-13
    assert max(sharp) > 1.5 * min(sharp)
