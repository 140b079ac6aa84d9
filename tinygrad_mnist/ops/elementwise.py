"""Elementwise operations with NumPy broadcasting.

Each backward returns gradients in the *output's* shape; the engine sums each one back
to its input's shape, so broadcasting lives in one place. Backward rules are Tensor
operations, so with ``create_graph=True`` they are recorded and can be differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function


def broadcast_error(name: str, a: Any, b: Any) -> ValueError:
    """The error for shapes that cannot broadcast, naming the op and both shapes.

    Ops raise it when NumPy refuses, rather than checking first: the check would cost
    more than the arithmetic on small arrays.
    """
    return ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together")


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return a._data + b._data
        except ValueError:
            raise broadcast_error("add", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        try:
            return a._data - b._data
        except ValueError:
            raise broadcast_error("sub", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # Save only what the wanted gradients need (da needs b, db needs a), as PyTorch does:
        # an in-place change of an input that is not needed is then no error.
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        try:
            return a._data * b._data
        except ValueError:
            raise broadcast_error("mul", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None, grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)  # da needs b; db needs a and b
        try:
            return a._data / b._data
        except ValueError:
            raise broadcast_error("div", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad / b
        return (grad_a if ctx.needs_input_grad[0] else None, -grad_a * a / b if ctx.needs_input_grad[1] else None)


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return np.negative(x._data)

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """``x ** exponent`` for a Python-number or Tensor exponent, with PyTorch's gradients: none for ``x``
    where the exponent is 0, none for the exponent where ``x == 0`` and the exponent is >= 0."""

    @staticmethod
    def forward(ctx, x, exponent):
        tensor_exponent = not isinstance(exponent, int | float)
        with np.errstate(invalid="ignore", divide="ignore"):  # a negative base to a fractional power is nan
            out = np.power(x._data, exponent._data if tensor_exponent else exponent)
        if tensor_exponent:
            zero_base = (x._data == 0) & (exponent._data >= 0) if ctx.needs_input_grad[1] else None
            ctx.save_for_backward(x, exponent, out if ctx.needs_input_grad[1] else None, zero_base)
        else:
            ctx.save_for_backward(x)
        ctx.exponent = None if tensor_exponent else exponent
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.exponent is not None:
            (x,) = ctx.saved_tensors
            if ctx.exponent == 2:  # the common square, without a power kernel
                return grad * 2 * x
            return grad * 0 if ctx.exponent == 0 else grad * ctx.exponent * x ** (ctx.exponent - 1)
        x, exponent, out, zero_base = ctx.saved_tensors
        # Shifting the masked entries keeps these expressions finite where PyTorch's gradient is 0, and differentiable.
        grad_x = grad * exponent * x ** (exponent - 1 + (exponent == 0)) if ctx.needs_input_grad[0] else None
        return grad_x, grad * out * (x + zero_base).log() if ctx.needs_input_grad[1] else None


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            out = np.sqrt(x._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Tan(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tan(x._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 + out * out)


class Expm1(Function):
    """``exp(x) - 1``, accurate for small ``x``."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Log1p(Function):
    """``log(1 + x)``, accurate for small ``x``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log1p(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


class Abs(Function):
    """``|x|``; its gradient at 0 is 0, as PyTorch's."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sign()


def _sign(x: np.ndarray) -> np.ndarray:
    """NumPy's sign, but 0 for nan, as PyTorch's."""
    return np.sign(x) if x.dtype.kind in "biu" else np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype)


def _trunc_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` rounded toward zero; exact for integers."""
    if np.result_type(a, b).kind in "biu":
        return (a - np.fmod(a, b)) // b
    return np.trunc(a / b)


def _integral(fn: np.ufunc) -> Any:
    """A rounding ufunc that leaves integer arrays as they are (NumPy's would make them float64)."""
    return lambda x: x.copy() if x.dtype.kind in "biu" else fn(x)


#: The piecewise-constant functions: their gradient is zero wherever it is defined, which PyTorch gives everywhere.
STEPWISE: dict[str, Any] = {
    "floor": _integral(np.floor),
    "ceil": _integral(np.ceil),
    "trunc": _integral(np.trunc),
    "round": np.round,
    "sign": _sign,
    "floor_divide": np.floor_divide,
    "trunc_divide": _trunc_divide,
}


class Stepwise(Function):
    """One of ``STEPWISE`` applied to the tensors (and arguments) after its name, with a zero gradient."""

    @staticmethod
    def forward(ctx, name, *args):
        try:
            return STEPWISE[name](*[a._data if hasattr(a, "_data") else a for a in args])
        except ValueError:
            raise broadcast_error(name, *args[:2]) from None

    @staticmethod
    def backward(ctx, grad):
        return (None, *[grad * 0 if needed else None for needed in ctx.needs_input_grad[1:]])


class Remainder(Function):
    """``a - b * q`` with ``q`` the quotient rounded down (Python's ``%``, ``floor=True``) or toward zero (``fmod``)."""

    @staticmethod
    def forward(ctx, a, b, floor):
        try:
            out = (np.remainder if floor else np.fmod)(a._data, b._data)
        except ValueError:
            raise broadcast_error("remainder" if floor else "fmod", a, b) from None
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(STEPWISE["floor_divide" if floor else "trunc_divide"](a._data, b._data))
        return out

    @staticmethod
    def backward(ctx, grad):
        quotient = ctx.saved_tensors[0] if ctx.needs_input_grad[1] else None
        return grad, -grad * quotient if ctx.needs_input_grad[1] else None


class Clamp(Function):
    """``x`` limited to ``[low, high]`` (tensors, or None for no limit). As PyTorch: ``x`` takes the gradient
    where it is within the limits, boundaries included; a limit where ``x`` is beyond it."""

    @staticmethod
    def forward(ctx, x, low, high):
        lo, hi = (None if t is None else t._data for t in (low, high))
        raised = x._data if lo is None else np.maximum(x._data, lo)
        out = raised if hi is None else np.minimum(raised, hi)
        if True in ctx.needs_input_grad:
            above = np.zeros(out.shape, bool) if hi is None else np.broadcast_to(raised > hi, out.shape)
            below = np.zeros(out.shape, bool) if lo is None else np.broadcast_to(x._data < lo, out.shape) & ~above
            ctx.save_for_backward(~(below | above), below, above)
        return out

    @staticmethod
    def backward(ctx, grad):
        inside, below, above = ctx.saved_tensors
        return tuple(
            grad * mask if needed else None
            for mask, needed in zip((inside, below, above), ctx.needs_input_grad, strict=True)
        )


class Extremum(Function):
    """``maximum`` (``largest``) or ``minimum`` of two tensors; equal values split the gradient half and half."""

    @staticmethod
    def forward(ctx, a, b, largest):
        try:
            out = (np.maximum if largest else np.minimum)(a._data, b._data)
        except ValueError:
            raise broadcast_error("maximum" if largest else "minimum", a, b) from None
        if True in ctx.needs_input_grad:
            ctx.save_for_backward(((a._data == out) - 0.5 * (a._data == b._data)).astype(out.dtype))
        return out

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return (
            grad * share if ctx.needs_input_grad[0] else None,
            grad * (1 - share) if ctx.needs_input_grad[1] else None,
        )


class NanToNum(Function):
    """nan, +inf and -inf replaced by numbers; the gradient flows through the finite entries only."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(np.isfinite(x._data))
        return np.nan_to_num(x._data, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (finite,) = ctx.saved_tensors
        return grad * finite


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x._data)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class ReLU(Function):
    """``max(x, 0)``. Backward keeps a one-byte mask, not the output: the output's memory goes
    as soon as the next layer's backward is done with it. The mask is a constant (the
    derivative of ReLU is flat away from 0), so ReLU's second derivative is zero, as PyTorch's."""

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x._data, 0)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(out > 0)  # a constant: ReLU's second derivative is zero
        return out

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return Mul.apply(grad, positive)  # float times the bool mask is float: no promotion to decide


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(-np.logaddexp(0, -x._data))  # 1 / (1 + exp(-x)) without overflow for large negative x
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x._data)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)
