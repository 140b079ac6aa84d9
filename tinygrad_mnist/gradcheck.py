"""Gradient checking: compare backward() with central finite differences.

Public so users can prove the gradients of their own ops and modules, the same
way the project's tests prove its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .tensor import Tensor


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

    Inputs are Tensors or arrays; each is copied to float64. Tensors that do not
    require grad are held constant; arrays and requiring tensors are checked. A
    non-scalar output is reduced to a scalar by a fixed random projection. Returns
    True, or raises ``GradcheckError`` naming the input, the worst element and both values.
    """
    tensors = [Tensor(np.array(_data(x), dtype=np.float64), requires_grad=_wants_grad(x)) for x in inputs]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient; pass arrays or tensors with requires_grad=True")

    out = fn(*tensors)
    projection = np.random.default_rng(seed).standard_normal(out.shape)

    def scalar_output() -> float:
        return float(np.sum(fn(*tensors).data * projection))

    out.backward(projection)
    for i in checked:
        t = tensors[i]
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.data
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = scalar_output()
            flat[j] = original - eps
            minus = scalar_output()
            flat[j] = original
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(np.argmax(error), error.shape)
            raise GradcheckError(
                f"gradcheck: gradient of input {i} (shape {t.shape}) is wrong at index {tuple(map(int, worst))}: "
                f"backward gives {analytic[worst]:.10g}, finite differences give {numeric[worst]:.10g} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _wants_grad(x: Any) -> bool:
    return x.requires_grad if isinstance(x, Tensor) else True
