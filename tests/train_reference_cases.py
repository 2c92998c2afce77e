"""The configurations on which ``gl.train`` must give bit for bit the outputs of its implementation
before its per-step bookkeeping was cut (commit 21a06eb, kept as ``tests/train_before_21a06eb.py``);
``tests/test_train_reference.py`` runs both here and compares. ``outputs`` is what is compared.
"""

from __future__ import annotations

import torch

import gaugelab as gl
from gaugelab.optim import PathSGD

DATA = gl.toy_regression(n_train=24, n_val=17, seed=5)


def _two_d():
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(20, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(20, 2, generator=gen, dtype=torch.float64)
    return x, y


def _rescale_at_5(t, model, opt):
    if t == 5:
        gl.rescale_(model, gl.random_scales(model, -1.0, 1.0, seed=2))


def cases() -> dict[str, tuple]:
    """name -> (model, x, y, keyword arguments of gl.train)."""
    x, y, xv, yv = DATA.x_train, DATA.y_train, DATA.x_val, DATA.y_val
    x2, y2 = _two_d()
    val = dict(x_val=xv, y_val=yv)
    return {
        "gd": (gl.two_layer(1, 8, seed=0, rho0=1.0), x, y, dict(steps=30, lr=0.1, **val)),
        "gd_penalty_wd": (
            gl.two_layer(1, 8, seed=1, rho0=2.0),
            x,
            y,
            dict(steps=40, lr=0.05, lam=0.3, weight_decay=0.01, record_every=7, **val),
        ),
        "sgd": (
            gl.two_layer(1, 6, seed=2),
            x,
            y,
            dict(steps=25, lr=0.05, optimizer="sgd", batch_size=8, seed=3, lam=0.2, record_every=3),
        ),
        "momentum": (
            gl.two_layer(1, 6, seed=3),
            x,
            y,
            dict(steps=25, lr=0.02, optimizer="momentum", momentum=0.8, weight_decay=0.05, **val),
        ),
        "adam": (gl.two_layer(1, 6, seed=4), x, y, dict(steps=25, lr=0.01, optimizer="adam", lam=0.1)),
        "deep": (
            gl.mlp([2, 5, 4, 2], seed=5, init_scale=1.5),
            x2,
            y2,
            dict(steps=30, lr=0.05, lam=0.5, record_every=4, record_outputs=True),
        ),
        "leaky_nobias": (
            gl.two_layer(1, 5, seed=6, activation="leaky_relu", bias=False),
            x,
            y,
            dict(steps=20, lr=0.1, lam=0.2, record_outputs=True, probe=xv[:5]),
        ),
        "diverges": (
            gl.two_layer(1, 16, seed=0, rho0=2.0),
            x,
            y,
            dict(steps=300, lr=5.0, record_every=10, **val),
        ),
        "nan": (gl.two_layer(1, 4, seed=0), x, y, dict(steps=50, lr=1e200)),
        "before_step": (gl.two_layer(1, 6, seed=7), x, y, dict(steps=12, lr=0.1, before_step=_rescale_at_5)),
        "path_sgd": (
            gl.two_layer(1, 6, seed=8, rho0=1.0),
            x,
            y,
            dict(steps=20, lr=0.05, optimizer=lambda m: PathSGD(m, lr=0.05)),
        ),
        "float32": (gl.two_layer(1, 8, seed=9, dtype=torch.float32), x, y, dict(steps=20, lr=0.05, lam=0.1)),
        "zero_steps": (gl.two_layer(1, 4, seed=10), x, y, dict(steps=0, lr=0.1, **val)),
        "dead_neurons": (_dead(), x, y, dict(steps=15, lr=0.1, lam=0.5, **val)),
    }


def _dead():
    model = gl.two_layer(1, 6, seed=12)
    with torch.no_grad():
        model[0].weight[:2] = 0.0
        model[0].bias[:2] = 0.0
        model[2].weight[0, 4] = 0.0
    return model


def outputs(result) -> dict:
    """Everything a TrainResult holds, as plain tensors and numbers."""
    opt_state = result.optimizer.state_dict()["state"] if result.optimizer is not None else {}
    return dict(
        steps=result.steps,
        loss=result.loss,
        delta=result.delta,
        rho=result.rho,
        function_change=result.function_change,
        val_mse=result.val_mse,
        diverged=result.diverged,
        diverged_step=result.diverged_step,
        reason=result.reason,
        outputs=result.outputs,
        params={k: v.detach().clone() for k, v in result.model.state_dict().items()},
        optimizer_state={
            i: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()} for i, s in opt_state.items()
        },
        config={k: v for k, v in result.config.items()},
    )
