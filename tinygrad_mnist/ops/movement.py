"""Operations that move, copy or convert elements without combining them: reshape, transpose, clone, cast."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x._data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {x.shape} ({x.size} elements) into {shape}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Transpose(Function):
    """Permute axes; with ``axes=None``, reverse them (``.T``), which is its own inverse."""

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is not None and sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of {x.shape}")
        ctx.inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]).tolist())
        return x._data.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(*ctx.inverse) if ctx.inverse is not None else grad.transpose()


class Cast(Function):
    """``x`` converted to another dtype; the gradient is converted back."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x._data.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.in_dtype)


class Clone(Function):
    """A copy of ``x`` in memory of its own."""

    @staticmethod
    def forward(ctx, x):
        return x._data.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad
