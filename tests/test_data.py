"""The data sets: ranges, noise, shapes, determinism."""

from __future__ import annotations

import torch

import gaugelab as gl


def test_toy_regression_protocol():
    d = gl.toy_regression(n_train=500, noise=0.1, seed=3)
    assert d.x_train.shape == (500, 1) and d.y_train.shape == (500, 1)
    assert d.x_train.min() >= -2 and d.x_train.max() <= 2
    assert d.x_val.shape == (201, 1)
    assert d.x_val[0].item() == -3 and d.x_val[-1].item() == 3
    torch.testing.assert_close(d.y_val, torch.sin(2 * d.x_val))  # noiseless validation target
    resid = d.y_train - torch.sin(2 * d.x_train)
    assert 0.08 < resid.std().item() < 0.12 and abs(resid.mean().item()) < 0.02
    same = gl.toy_regression(n_train=500, noise=0.1, seed=3)
    assert torch.equal(d.y_train, same.y_train)
    assert not torch.equal(d.y_train, gl.toy_regression(n_train=500, noise=0.1, seed=4).y_train)
    assert torch.equal(gl.toy_regression(noise=0.0).y_train, torch.sin(2 * gl.toy_regression().x_train))


def test_teacher_student():
    d, teacher = gl.teacher_student(d_in=3, teacher_width=4, n_train=50)
    assert d.x_train.shape == (50, 3) and d.y_train.shape == (50, 1)
    torch.testing.assert_close(d.y_train, teacher(d.x_train).detach())
    torch.testing.assert_close(
        gl.imbalance(teacher)[0].detach(), torch.zeros(4, dtype=torch.float64), atol=1e-14, rtol=0
    )


def test_teacher_student_validation_inputs_are_fresh_draws():
    """Validation inputs are drawn after (and independently of) the training inputs: no row of
    x_val repeats a row of x_train, and y is the teacher's output on each."""
    data, teacher = gl.teacher_student(d_in=3, n_train=50, n_val=40, seed=4)
    assert data.x_val.shape == (40, 3) and data.x_train.shape == (50, 3)
    same = (data.x_val[:, None, :] == data.x_train[None, :, :]).all(-1)
    assert not same.any()
    with torch.no_grad():
        torch.testing.assert_close(data.y_val, teacher(data.x_val))
        torch.testing.assert_close(data.y_train, teacher(data.x_train))
