"""Every seed does what it says: the same seed gives the same result, another seed another result,
and no seeded function draws from (or disturbs) torch's global random state."""

from __future__ import annotations

import pytest
import torch

import gaugelab as gl
from gaugelab.ensemble import ensemble_train

DATA = gl.toy_regression(n_train=20, seed=0)


def _params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


SEEDED = {
    "mlp": lambda s: _params(gl.mlp([2, 4, 3, 1], seed=s)),
    "two_layer with rho0": lambda s: _params(gl.two_layer(1, 6, seed=s, rho0=1.0)),
    "toy_regression x": lambda s: gl.toy_regression(seed=s).x_train,
    "toy_regression noise": lambda s: (
        gl.toy_regression(seed=s).y_train - torch.sin(2 * gl.toy_regression(seed=s).x_train)
    ),
    "teacher_student data": lambda s: gl.teacher_student(seed=s)[0].x_train,
    "teacher_student teacher": lambda s: _params(gl.teacher_student(seed=s)[1]),
    "random_scales": lambda s: torch.cat(gl.random_scales(gl.mlp([2, 4, 3, 1]), seed=s)),
    "sgd minibatches": lambda s: (
        gl.train(
            gl.two_layer(1, 6, seed=0),
            DATA.x_train,
            DATA.y_train,
            steps=10,
            lr=0.05,
            optimizer="sgd",
            batch_size=4,
            seed=s,
        ).loss
    ),
}


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_same_seed_same_result_other_seed_other_result(name):
    draw = SEEDED[name]
    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_functions_leave_the_global_random_state_alone(name):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    SEEDED[name](5)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_seeded_results_do_not_depend_on_the_global_random_state():
    torch.manual_seed(1)
    a = {k: f(7) for k, f in SEEDED.items()}
    torch.manual_seed(2)
    torch.rand(10)
    b = {k: f(7) for k, f in SEEDED.items()}
    assert all(torch.equal(a[k], b[k]) for k in SEEDED)


def test_the_teacher_is_not_the_student_seed():
    """teacher_student seeds its teacher with seed + 1000, so it is not gl.two_layer(seed=seed)."""
    data, teacher = gl.teacher_student(d_in=5, teacher_width=4, seed=2)
    same_seed = gl.two_layer(5, 4, 1, seed=2, rho0=0.0)
    assert not torch.equal(_params(teacher), _params(same_seed))
    torch.testing.assert_close(_params(teacher), _params(gl.two_layer(5, 4, 1, seed=1002, rho0=0.0)))


def test_lanczos_start_seed_does_not_change_the_eigenvalue():
    """The seed only picks Lanczos' start vector: λ_max agrees across seeds (to 1e-8 relative)."""
    model = gl.two_layer(1, 6, seed=0)
    vals = [gl.top_hessian_eigenvalue(model, DATA.x_train, DATA.y_train, seed=s) for s in range(3)]
    assert max(vals) - min(vals) <= 1e-8 * abs(max(vals))


def test_ensemble_members_are_independent_of_their_order():
    models = [gl.two_layer(1, 6, seed=s) for s in range(3)]
    a = ensemble_train(models, DATA.x_train, DATA.y_train, lr=[0.1, 0.2, 0.3], steps=10)
    b = ensemble_train(models[::-1], DATA.x_train, DATA.y_train, lr=[0.3, 0.2, 0.1], steps=10)
    torch.testing.assert_close(a.loss, b.loss.flip(0), rtol=0, atol=1e-13)


@pytest.mark.parametrize("seed", [0, 7])
def test_mlp_starts_from_pytorchs_default_init_under_its_seed(seed):
    """Documented: weights start from PyTorch's default initialisation, seeded by ``seed``: the same
    as building the nn.Linear layers by hand right after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    by_hand = [torch.nn.Linear(2, 4, dtype=torch.float64), torch.nn.Linear(4, 3, dtype=torch.float64)]
    by_hand.append(torch.nn.Linear(3, 1, dtype=torch.float64))
    expected = torch.cat([p.detach().reshape(-1) for lin in by_hand for p in lin.parameters()])
    assert torch.equal(_params(gl.mlp([2, 4, 3, 1], seed=seed)), expected)
    assert torch.equal(_params(gl.mlp([2, 4, 3, 1], seed=seed, init_scale=2.0)), 2 * expected)
