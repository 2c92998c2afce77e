"""The course's losses: L = (1/2N) Σ_n ‖f(x_n) − y_n‖² (sum over outputs) and MSE over every entry."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import gaugelab as gl


@given(st.integers(1, 7), st.integers(1, 4), st.integers(0, 1000))
def test_half_mse_sums_over_outputs_and_averages_over_rows(n, k, seed):
    gen = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, k, generator=gen, dtype=torch.float64)
    y = torch.randn(n, k, generator=gen, dtype=torch.float64)
    by_hand = sum(float(((pred[i] - y[i]) ** 2).sum()) for i in range(n)) / (2 * n)
    assert float(gl.half_mse(pred, y)) == pytest.approx(by_hand, rel=1e-12)
    entries = sum(float(((pred[i] - y[i]) ** 2).sum()) for i in range(n)) / (n * k)
    assert float(gl.mse(pred, y)) == pytest.approx(entries, rel=1e-12)


def test_half_mse_of_the_scalar_toy():
    """N = 1, f = a w x: L = ½ (a w x − y)² (THEORY §5)."""
    assert float(gl.half_mse(torch.tensor([[6.0]]), torch.tensor([[1.0]]))) == pytest.approx(12.5)
