"""Reductions over dims (sum, max, prod, cumsum), their adjoint broadcasting (``expand``), and picking
elements along a dim (``TakeAlong``/``PutAlong``: what max/min with a dim, sort and topk return)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..autograd.function import Function

Dim = int | tuple[int, ...] | list[int] | None

#: PyTorch's ``torch.return_types``: ``(values, indices)`` named tuples, one type per op.
return_types = {name: namedtuple(name, ["values", "indices"]) for name in ("max", "min", "sort", "topk", "median")}


def normalize_axes(dim: Dim, ndim: int) -> tuple[int, ...]:
    """Dims as sorted non-negative ints (all of them for None); a clear error for one out of range."""
    if dim is None:
        return tuple(range(ndim))
    if not ndim and dim in (0, -1):  # PyTorch lets a 0-d tensor be reduced over its dim 0
        return ()
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, without NumPy's slower general path
        return (dim % ndim,)
    try:
        return tuple(sorted(normalize_axis_tuple(dim, ndim)))
    except (ValueError, IndexError, TypeError):
        raise IndexError(
            f"dim {dim} is out of range for a tensor with {ndim} dimensions (expected in [{-ndim}, {ndim - 1}])"
        ) from None


def normalize_dim(dim: int, ndim: int) -> int:
    """One dim as a non-negative int; a 0-d tensor has the one dim 0 (or -1), as in PyTorch."""
    return normalize_axes(dim, max(ndim, 1))[0]


def keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, dtype=None):
        ctx.axes = normalize_axes(dim, x.ndim)
        ctx.in_shape = x.shape
        return x._data.sum(axis=ctx.axes, keepdims=keepdim, dtype=dtype)

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
    """Maximum over dims (``amax``); tied maxima share the gradient equally (the mask is a constant)."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        axes = normalize_axes(dim, x.ndim)
        if any(x.shape[a] == 0 for a in axes) or (x._data.size == 0 and not axes):
            raise IndexError(f"max: cannot reduce dims {axes} of an empty tensor of shape {x.shape}")
        out = np.max(x._data, axis=axes, keepdims=True)
        if ctx.needs_input_grad[0]:
            is_max = x._data == out
            ctx.save_for_backward(is_max / is_max.sum(axis=axes, keepdims=True))
            ctx.keep_shape = out.shape
        return out if keepdim else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return grad.reshape(ctx.keep_shape) * share


class Prod(Function):
    """Product over one dim, kept. The gradient is the product of the other elements: ``out / x`` where no
    element is 0, else the product of each row with its own element replaced by 1 (exact with zeros)."""

    @staticmethod
    def forward(ctx, x, dim):
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
            ctx.dim = dim
        return np.prod(x._data, axis=dim, keepdims=True)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if np.all(x._data != 0):
            return grad * Prod.apply(x, ctx.dim) / x
        d, n = ctx.dim, x.shape[ctx.dim]
        eye = np.eye(n, dtype=x.dtype).reshape(n, n, *(1,) * (x.ndim - d - 1))  # [i, j]: element j of row i is 1
        rows = x.reshape(*x.shape[:d], 1, *x.shape[d:]) * (1 - eye) + eye
        return grad * Prod.apply(rows, d + 1).reshape(x.shape)


class CumSum(Function):
    """Cumulative sum along ``dim`` (from the end with ``reverse``); the gradient is the other direction's."""

    @staticmethod
    def forward(ctx, x, dim, reverse=False):
        ctx.dim, ctx.reverse = dim, reverse
        data = np.flip(x._data, dim) if reverse else x._data
        out = np.cumsum(data, axis=dim, dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else np.int64)
        return np.flip(out, dim).copy() if reverse else out

    @staticmethod
    def backward(ctx, grad):
        return CumSum.apply(grad, ctx.dim, not ctx.reverse)


class TakeAlong(Function):
    """``x``'s elements at ``indices`` (an int array, distinct along ``dim``) along ``dim``; the gradient goes
    back to those places only."""

    @staticmethod
    def forward(ctx, x, indices, dim):
        ctx.indices, ctx.dim, ctx.in_shape = indices, dim, x.shape
        return np.take_along_axis(x._data, indices, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return PutAlong.apply(grad, ctx.indices, ctx.dim, ctx.in_shape)


class PutAlong(Function):
    """Zeros of ``shape`` with ``x`` written at ``indices`` along ``dim``: ``TakeAlong``'s adjoint."""

    @staticmethod
    def forward(ctx, x, indices, dim, shape):
        ctx.indices, ctx.dim = indices, dim
        out = np.zeros(shape, dtype=x.dtype)
        np.put_along_axis(out, indices, x._data, axis=dim)
        return out

    @staticmethod
    def backward(ctx, grad):
        return TakeAlong.apply(grad, ctx.indices, ctx.dim)


def arg_reduce(x: np.ndarray, find: str, dim: int | None, keepdim: bool) -> np.ndarray:
    """``np.argmax``/``np.argmin`` (``find``) as int64, flattened for ``dim=None``; an error for an empty dim."""
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{find}: cannot take the {find} of an empty tensor of shape {x.shape}")
        index = getattr(np, find)(x)
        return np.asarray(index, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ())
    dim = normalize_dim(dim, x.ndim)
    if x.ndim and x.shape[dim] == 0:
        raise IndexError(f"{find}: cannot reduce dim {dim} of size 0 of a tensor of shape {x.shape}")
    data = x if x.ndim else x.reshape(1)
    index = getattr(np, find)(data, axis=dim, keepdims=keepdim).astype(np.int64)
    return index.reshape(x.shape) if not x.ndim else index


def sort_indices(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Indices that sort ``x`` along ``dim`` (int64); always stable: equal elements keep their order."""
    if not x.ndim:
        return np.zeros((), dtype=np.int64)
    keys = x.astype(np.int64) if x.dtype.kind in "bu" else x  # so that negating cannot wrap around
    return np.argsort(-keys if descending else keys, axis=dim, kind="stable").astype(np.int64)


def logical_reduce(x: np.ndarray, find: str, dim: Dim, keepdim: bool) -> np.ndarray:
    """``np.all``/``np.any`` (``find``) over dims: a bool array."""
    return getattr(np, find)(x, axis=normalize_axes(dim, x.ndim), keepdims=keepdim)
