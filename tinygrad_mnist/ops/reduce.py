"""Reductions over axes (sum, mean, max) and their adjoint, broadcasting (``expand``)."""

from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..autograd.function import Function

Axis = int | tuple[int, ...] | None


def normalize_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """Axes as sorted non-negative ints; a clear error for one out of range."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without NumPy's slower general path
        return (axis % ndim,)
    try:
        return tuple(sorted(normalize_axis_tuple(axis, ndim)))
    except (ValueError, IndexError, TypeError):
        raise ValueError(f"axis {axis} is out of range for a tensor with {ndim} dimensions") from None


def keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = normalize_axes(axis, x.ndim)
        ctx.in_shape = x.shape
        return x._data.sum(axis=ctx.axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(keepdims_shape(ctx.in_shape, ctx.axes)).expand(ctx.in_shape)


class Expand(Function):
    """``x`` broadcast to a larger ``shape`` (a read-only view); its gradient sums back (``sum_to_size``)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return np.broadcast_to(x._data, shape)
        except ValueError:
            raise ValueError(f"expand: a tensor of shape {x.shape} cannot be broadcast to {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.sum_to_size(ctx.in_shape)


class Max(Function):
    """Maximum over axes; tied maxima share the gradient equally (the mask is a constant)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x._data.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {x.shape}")
        axes = normalize_axes(axis, x.ndim)
        out = np.max(x._data, axis=axes, keepdims=True)
        if ctx.needs_input_grad[0]:
            is_max = x._data == out
            ctx.save_for_backward(is_max / is_max.sum(axis=axes, keepdims=True))
            ctx.keep_shape = out.shape
        return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return grad.reshape(ctx.keep_shape) * share
