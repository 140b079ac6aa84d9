"""tinygrad_mnist: a small, graph-based reverse-mode autodiff framework on NumPy."""

from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor, cross_entropy, is_grad_enabled, no_grad, topological_order, unbroadcast

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Tensor",
    "cross_entropy",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
    "unbroadcast",
]
