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
    """``x ** exponent`` for a Python-number exponent."""

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return np.power(x._data, exponent)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.exponent == 2:  # the common square, without a power kernel
            return grad * 2 * x
        return grad * ctx.exponent * x ** (ctx.exponent - 1)


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
        return grad * positive


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
