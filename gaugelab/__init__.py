"""GaugeLab: rescaling symmetry ("gauge redundancy") and soft gauge fixing in ReLU-type networks.

Names follow THEORY (docs/theory.md): u_j incoming, a_j outgoing, v_j = a_j u_jᵀ invariant,
δ_j = ‖u_j‖² − ‖a_j‖² imbalance, ρ_j = log(‖u_j‖/‖a_j‖) log-scale, R_λ = (λ/4) Σ δ_j² penalty.
"""

from gaugelab.coords import (
    GaugeCoordinates,
    flat,
    from_gauge_coordinates,
    gauge_coordinates,
    imbalance,
    imbalance_from_log_scale,
    log_scale,
    neuron_norms,
    neuron_vectors,
    path_norm,
)
from gaugelab.data import Dataset, teacher_student, toy_regression
from gaugelab.gauge import (
    BalanceWarning,
    balance,
    balancing_scales,
    degenerate_neurons,
    invariance_error,
    orbit_generators,
    random_scales,
    rescale,
    rescale_,
)
from gaugelab.losses import half_mse, mse
from gaugelab.nets import hidden_layers, hidden_widths, mlp, two_layer
from gaugelab.penalty import (
    gauge_penalty,
    lambda_upper_limit,
    log_gauge_penalty,
    relaxation,
    relaxation_rate,
)
from gaugelab.sharpness import hessian_vector_product, max_stable_lr, top_hessian_eigenvalue
from gaugelab.train import TrainResult, train

__version__ = "0.2.0.dev0"  # the one version: pyproject.toml, CITATION.cff and CHANGELOG.md follow it

__all__ = [
    "BalanceWarning",
    "Dataset",
    "GaugeCoordinates",
    "TrainResult",
    "balance",
    "balancing_scales",
    "degenerate_neurons",
    "flat",
    "from_gauge_coordinates",
    "gauge_coordinates",
    "gauge_penalty",
    "half_mse",
    "hessian_vector_product",
    "hidden_layers",
    "hidden_widths",
    "imbalance",
    "imbalance_from_log_scale",
    "invariance_error",
    "lambda_upper_limit",
    "log_gauge_penalty",
    "log_scale",
    "max_stable_lr",
    "mlp",
    "mse",
    "neuron_norms",
    "neuron_vectors",
    "orbit_generators",
    "path_norm",
    "random_scales",
    "relaxation",
    "relaxation_rate",
    "rescale",
    "rescale_",
    "teacher_student",
    "toy_regression",
    "top_hessian_eigenvalue",
    "train",
    "two_layer",
]
