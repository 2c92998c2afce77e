"""gl.train gives bit for bit the outputs frozen from its earlier implementation (train_reference_cases)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_reference_cases import cases, outputs

import gaugelab as gl

REFERENCE = torch.load(Path(__file__).parent / "data" / "train_reference.pt", weights_only=False)
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


def test_the_reference_covers_what_it_should():
    assert REFERENCE.keys() == CASES.keys()
    assert REFERENCE["diverges"]["diverged"] and REFERENCE["nan"]["diverged"]
    assert not REFERENCE["gd"]["diverged"] and REFERENCE["momentum"]["optimizer_state"]
    assert REFERENCE["dead_neurons"]["rho"].isnan().any()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
def test_train_is_bit_identical_to_the_frozen_reference(name, threads):
    model, x, y, kw = CASES[name]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = outputs(gl.train(model, x, y, **kw))
    finally:
        torch.set_num_threads(before)
    _same(got, REFERENCE[name], name)
