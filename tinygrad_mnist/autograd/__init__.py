"""Reverse-mode autodiff, PyTorch's API: ``backward``, ``grad``, ``Function``, grad mode, ``functional``, checks.

The engine (``engine.py``) walks the graph that ``Function.apply`` (``function.py``)
records; ``grad_mode.py`` holds the one flag that says whether ops record; ``functional.py``
builds Jacobians, Hessians and their products on ``grad``; ``gradcheck.py`` proves first and
second derivatives against finite differences.
"""

from . import functional
from .engine import backward, grad, topological_order
from .function import Function
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Function",
    "GradcheckError",
    "backward",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
    "topological_order",
]
