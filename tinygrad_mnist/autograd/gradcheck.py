"""Gradient checking: compare backward, and the backward of backward, with central finite differences.

Public so users can prove the gradients of their own ops and modules, the same
way the project's tests prove its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .engine import grad


class GradcheckError(AssertionError):
    """backward() and finite differences disagree; the message says where."""


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradients with respect to its inputs by central differences in float64.

    Inputs are Tensors or arrays, given one by one or, PyTorch's form, as one tuple; each is
    copied to float64. Tensors that do not require grad are held constant; arrays and requiring
    tensors are checked. A non-scalar output is reduced to a scalar by a fixed random projection.
    Returns True, or raises ``GradcheckError`` naming the input, the worst element and both values.
    """
    tensors, checked = _float64_inputs(inputs, "gradcheck")
    out = fn(*tensors)
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    analytic = _gradients(out, [tensors[i] for i in checked], Tensor(projection))

    def scalar_output() -> float:
        return float(np.sum(fn(*tensors)._data * projection))

    _compare("gradcheck", "gradient", "backward", scalar_output, tensors, checked, analytic, eps, atol, rtol)
    return True


def gradgradcheck(
    func: Callable[..., Tensor],
    *inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check ``func``'s second-order gradients (the backward of its backward) by central differences in float64.

    The first-order gradients ``g_i = d<func(x), v>/dx_i`` are built with ``grad(..., create_graph=True)``
    at the cotangent ``v`` (``grad_outputs``, else random), and reduced to the scalar ``sum_i <w_i, g_i>``
    at random ``w_i``; its gradient by backward must match its central differences. So every second
    derivative counts, mixed ones between inputs too, and a backward that leaves the graph (through
    ``._data`` or NumPy) is caught: its gradients are constants, whose gradient is zero. The gradient with
    respect to ``v`` is checked as well (reported as the input after the last one). Inputs are given
    as to ``gradcheck``; returns True or raises ``GradcheckError`` naming the input, the worst element
    and both values. First-order gradients are ``gradcheck``'s job.
    """
    tensors, checked = _float64_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    out = func(*tensors)
    if grad_outputs is None:
        cotangent = rng.standard_normal(out.shape)
    else:
        if isinstance(grad_outputs, tuple) and len(grad_outputs) == 1:  # PyTorch's form: one per output
            grad_outputs = grad_outputs[0]
        cotangent = np.array(_data(grad_outputs), dtype=np.float64)
        if cotangent.shape != out.shape:
            raise ValueError(f"gradgradcheck: grad_outputs has shape {cotangent.shape}, the output {out.shape}")
    weights = [rng.standard_normal(tensors[i].shape) for i in checked]
    # The cotangent is checked too, last, as PyTorch does: a backward that is linear in it can still be wrong.
    v = Tensor(cotangent, requires_grad=True)

    def projected_gradient() -> Tensor:
        out = func(*tensors)
        total = Tensor(np.zeros(()))
        if not out.requires_grad:
            return total
        gradients = grad(out, [tensors[i] for i in checked], v, create_graph=True, allow_unused=True)
        for gradient, weight in zip(gradients, weights, strict=True):
            if gradient is not None:
                total = total + (gradient * weight).sum()
        return total

    analytic = _gradients(projected_gradient(), [*(tensors[i] for i in checked), v], None)

    def scalar_output() -> float:
        return float(projected_gradient()._data)

    what = ("gradgradcheck", "second-order gradient", "double backward")
    _compare(*what, scalar_output, [*tensors, v], [*checked, len(tensors)], analytic, eps, atol, rtol)
    return True


def _float64_inputs(inputs: tuple[Any, ...], caller: str) -> tuple[list[Tensor], list[int]]:
    """Float64 copies of the inputs (one tuple is PyTorch's form of them all), and which ones are checked."""
    if len(inputs) == 1 and isinstance(inputs[0], tuple):
        inputs = inputs[0]
    tensors = [Tensor(np.array(_data(x), dtype=np.float64), requires_grad=_wants_grad(x)) for x in inputs]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError(f"{caller}: no input requires a gradient; pass arrays or tensors with requires_grad=True")
    return tensors, checked


def _gradients(out: Tensor, targets: list[Tensor], cotangent: Tensor | None) -> list[np.ndarray]:
    """The gradients of ``<out, cotangent>`` by backward; zeros where it has no path (or no graph at all)."""
    if not out.requires_grad:
        return [np.zeros(t.shape) for t in targets]
    found = grad(out, targets, cotangent, allow_unused=True)
    return [np.zeros(t.shape) if g is None else g._data for g, t in zip(found, targets, strict=True)]


def _compare(
    caller: str,
    what: str,
    method: str,
    scalar_output: Callable[[], float],
    tensors: list[Tensor],
    checked: list[int],
    analytic: list[np.ndarray],
    eps: float,
    atol: float,
    rtol: float,
) -> None:
    """Raise ``GradcheckError`` at the worst element of the first input whose ``analytic`` gradient
    is off the central differences of ``scalar_output`` by more than ``atol + rtol * |numeric|``."""
    for i, expected in zip(checked, analytic, strict=True):
        t = tensors[i]
        numeric = np.zeros(t.shape)
        flat = t._data.reshape(-1)
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = scalar_output()
            flat[j] = original - eps
            minus = scalar_output()
            flat[j] = original
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        error = np.abs(expected - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(np.argmax(error), error.shape)
            raise GradcheckError(
                f"{caller}: {what} of input {i} (shape {t.shape}) is wrong at index {tuple(map(int, worst))}: "
                f"{method} gives {expected[worst]:.10g}, finite differences give {numeric[worst]:.10g} "
                f"(atol={atol}, rtol={rtol})"
            )


def _data(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _wants_grad(x: Any) -> bool:
    return x.requires_grad if isinstance(x, Tensor) else True
