"""tinygrad_mnist: a small, graph-based reverse-mode autodiff framework on NumPy."""

from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled, topological_order
from .autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .functions import METHOD_FUNCTIONS
from .tensor import Size, Tensor, cat, concat, concatenate, cross_entropy, hstack, stack, vstack

globals().update(METHOD_FUNCTIONS)  # torch.exp(x), torch.sum(x, dim), ...: Tensor methods as functions

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Size",
    "Tensor",
    "autograd",
    "cat",
    "concat",
    "concatenate",
    "cross_entropy",
    "enable_grad",
    "gradcheck",
    "gradgradcheck",
    "hstack",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "stack",
    "topological_order",
    "vstack",
    *METHOD_FUNCTIONS,
]
