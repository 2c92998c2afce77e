"""The losses the course uses, in one place.

Training loss (half mean squared error): L(θ) = (1/2N) Σ_n ‖f_θ(x_n) − y_n‖².
With N = 1 and f = a·w·x this is THEORY §5's scalar toy ½(awx − y)².
Reported validation error: MSE = (1/(N k)) Σ_n ‖f_θ(x_n) − y_n‖².
"""

from __future__ import annotations

import torch


def half_mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = (1/2N) Σ_n ‖pred_n − y_n‖² (sums over outputs, averages over the N rows)."""
    return 0.5 * ((pred - y) ** 2).sum(dim=-1).mean(dim=-1)


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error over every entry (the validation metric)."""
    return ((pred - y) ** 2).mean(dim=(-2, -1))


class TrainingObjective(torch.nn.Module):
    """The module (x, y) ↦ L(θ) + R_λ(θ) for a model, for use with ``torch.func.functional_call``.

    Its parameters are the model's, named ``"model.<name>"``; swapping them in a functional call
    also swaps them inside the penalty.
    """

    def __init__(self, model: torch.nn.Module, lam: float = 0.0):
        super().__init__()
        from gaugelab.penalty import gauge_penalty

        self.model, self.lam, self._penalty = model, lam, gauge_penalty

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = half_mse(self.model(x), y)
        if self.lam > 0:
            value = value + self._penalty(self.model, self.lam)
        return value
