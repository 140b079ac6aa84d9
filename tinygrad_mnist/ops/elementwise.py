"""Elementwise operations with NumPy broadcasting.

Backward returns gradients in the *output's* shape; the engine sums each one back
to its input's shape (``tensor.unbroadcast``), so broadcasting lives in one place.
Every backward here returns ``grad`` itself or new arrays (``returns_new_arrays``).
"""

from __future__ import annotations

import numpy as np

from .op import Op


class Elementwise(Op):
    """An elementwise op: its backward returns ``grad`` itself or arrays it has just made."""

    returns_new_arrays = True


def broadcast_error(name: str, a: np.ndarray, b: np.ndarray) -> ValueError:
    """The error for shapes that cannot broadcast, naming the op and both shapes.

    Ops raise it when NumPy refuses, rather than checking first: the check would
    cost more than the arithmetic on small arrays.
    """
    return ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together")


class Add(Elementwise):
    def forward(self, a, b):
        try:
            return a + b
        except ValueError:
            raise broadcast_error("add", a, b) from None

    def backward(self, grad):
        return grad, grad


class Sub(Elementwise):
    def forward(self, a, b):
        try:
            return a - b
        except ValueError:
            raise broadcast_error("sub", a, b) from None

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Elementwise):
    def forward(self, a, b):
        try:
            out = a * b
        except ValueError:
            raise broadcast_error("mul", a, b) from None
        # Save only what the wanted gradients need (da needs b, db needs a), as PyTorch does:
        # an in-place change of an input that is not needed is then no error.
        self.save(a if self.needs_input_grad[1] else None, b if self.needs_input_grad[0] else None)
        return out

    def backward(self, grad):
        a, b = self.saved
        return (
            grad * b if self.needs_input_grad[0] else None,
            grad * a if self.needs_input_grad[1] else None,
        )


class Div(Elementwise):
    def forward(self, a, b):
        try:
            out = a / b
        except ValueError:
            raise broadcast_error("div", a, b) from None
        self.save(a if self.needs_input_grad[1] else None, b)  # da needs b; db needs a and b
        return out

    def backward(self, grad):
        a, b = self.saved
        grad_a = grad / b
        return (
            grad_a if self.needs_input_grad[0] else None,
            -grad_a * a / b if self.needs_input_grad[1] else None,
        )


class Neg(Elementwise):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Pow(Elementwise):
    """``x ** exponent`` for a Python-number exponent."""

    def __init__(self, exponent: float) -> None:
        super().__init__()
        self.exponent = exponent

    def forward(self, x):
        self.save(x)
        return x**self.exponent

    def backward(self, grad):
        (x,) = self.saved
        return (grad * self.exponent * x ** (self.exponent - 1),)


class Exp(Elementwise):
    def forward(self, x):
        out = np.exp(x)
        self.save(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * out,)


class Log(Elementwise):
    def forward(self, x):
        self.save(x)
        return np.log(x)

    def backward(self, grad):
        (x,) = self.saved
        return (grad / x,)


class ReLU(Elementwise):
    """``max(x, 0)``. Backward keeps a one-byte mask, not the output: the output's
    memory goes as soon as the next layer's backward is done with it."""

    def forward(self, x):
        out = np.maximum(x, 0)
        if self.needs_input_grad[0]:
            self.save(out > 0)
        return out

    def backward(self, grad):
        (positive,) = self.saved
        if self.may_overwrite_grad:  # no one else holds grad: mask it in place, no new array
            return (np.multiply(grad, positive, out=grad),)
        return (grad * positive,)


class Sigmoid(Elementwise):
    def forward(self, x):
        # 1 / (1 + exp(-x)) without overflow for large negative x.
        out = np.exp(-np.logaddexp(0, -x))
        self.save(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * out * (1 - out),)


class Tanh(Elementwise):
    def forward(self, x):
        out = np.tanh(x)
        self.save(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * (1 - out * out),)
