"""tinygrad_mnist: a small, graph-based reverse-mode autodiff framework on NumPy."""

from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .functions import METHOD_FUNCTIONS
from .ops.indexing import where
from .ops.matmul import einsum
from .tensor import Tensor, cross_entropy

globals().update(METHOD_FUNCTIONS)  # torch.exp(x), torch.sum(x, dim), ...: Tensor methods as functions

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Tensor",
    "autograd",
    "cross_entropy",
    "einsum",
    "enable_grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "topological_order",
    "where",
    *METHOD_FUNCTIONS,
]
