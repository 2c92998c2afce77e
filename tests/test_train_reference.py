"""gl.train gives bit for bit the outputs of its earlier implementation (tests/train_before_21a06eb.py).

Both run here, on the cases of train_reference_cases, with 1 and 2 torch threads. (Outputs frozen to
a file on one machine were the first oracle; float64 results of the same code differ in the last bits
between CPUs, so the old code itself is kept and run instead.)
"""

from __future__ import annotations

import pytest
import torch
import train_before_21a06eb as before
from train_reference_cases import cases, outputs

import gaugelab as gl

CASES = cases()


def _same(a, b, where: str) -> None:
    if torch.is_tensor(b):
        assert torch.is_tensor(a) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)), where
    elif isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), where
        for k in b:
            _same(a[k], b[k], f"{where}.{k}")
    else:
        assert a == b, where


def _run(train, name: str, threads: int) -> dict:
    model, x, y, kw = cases()[name]  # fresh objects per run (a case may carry optimizer state)
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return outputs(train(model, x, y, **kw))
    finally:
        torch.set_num_threads(prev)


def test_the_cases_cover_what_they_should():
    ref = {name: _run(before.train, name, 1) for name in CASES}
    assert ref["diverges"]["diverged"] and ref["nan"]["diverged"]
    assert not ref["gd"]["diverged"] and ref["momentum"]["optimizer_state"]
    assert ref["dead_neurons"]["rho"].isnan().any()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
def test_train_is_bit_identical_to_its_earlier_implementation(name, threads):
    _same(_run(gl.train, name, threads), _run(before.train, name, threads), name)


def test_the_comparison_can_fail():
    """A one-ulp change of the learning rate is seen (the check is bit for bit)."""
    model, x, y, kw = cases()["gd"]
    got = outputs(
        gl.train(
            model, x, y, **{**kw, "lr": float(torch.nextafter(torch.tensor(kw["lr"]), torch.tensor(1.0)))}
        )
    )
    with pytest.raises(AssertionError):
        _same(got, _run(before.train, "gd", 1), "gd")
