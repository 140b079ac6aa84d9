"""Gradient clipping, PyTorch's names: ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm``...

All work in place on ``p.grad`` of the parameters that have one (the others are skipped), outside the graph.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable

import numpy as np

from ...autograd import no_grad
from ...tensor import Tensor

TensorOrTensors = Tensor | Iterable[Tensor]


def _as_list(tensors: TensorOrTensors) -> list[Tensor]:
    """A single tensor or an iterable of them as a list (warning, as PyTorch, on an empty generator)."""
    if isinstance(tensors, Tensor):
        return [tensors]
    generator = isinstance(tensors, types.GeneratorType)
    tensors = list(tensors)
    if generator and not tensors:
        warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    return tensors


def _grads(parameters: TensorOrTensors) -> list[Tensor]:
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


def get_total_norm(
    tensors: TensorOrTensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach: bool | None = None
) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` taken as one vector (the norm of their norms); ``inf`` for the
    largest magnitude. A Tensor of the tensors' dtype (0.0 for no tensors)."""
    tensors, norm_type = _as_list(tensors), float(norm_type)
    if not tensors:
        return Tensor(np.array(0.0, dtype=np.float32))
    norms = [np.linalg.vector_norm(t.numpy(), ord=norm_type) for t in tensors]
    dtype = np.result_type(*(t.numpy().dtype for t in tensors))
    total = np.linalg.vector_norm(np.array(norms, dtype=dtype), ord=norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(
    parameters: TensorOrTensors, max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Scale the gradients by ``min(max_norm / (total_norm + 1e-6), 1)``: only ever down, never up."""
    grads = _grads(parameters)
    if not grads:
        return
    coefficient = np.minimum(float(max_norm) / (total_norm.numpy() + 1e-6), 1.0)
    with no_grad():
        for grad in grads:
            grad.mul_(coefficient.astype(grad.numpy().dtype))


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients in place so that their total ``norm_type``-norm is at most ``max_norm``; returns the
    total norm before clipping (a Tensor). ``foreach`` is accepted and has no effect."""
    parameters = _as_list(parameters)
    total_norm = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters: TensorOrTensors, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for grad in _grads(parameters):
            grad.clamp_(-clip_value, clip_value)
