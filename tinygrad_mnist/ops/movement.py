"""Operations that move, copy or convert elements without combining them: reshape, permute, narrow, pad, cat, flip."""

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
            raise ValueError(f"reshape: cannot reshape {x.shape} ({x._data.size} elements) into {shape}") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Permute(Function):
    """Reorder the axes (a view); the gradient is permuted back by the inverse order."""

    @staticmethod
    def forward(ctx, x, dims):
        if len(dims) != x.ndim or sorted(normalize_dim(d, x.ndim, "permute") for d in dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} dims of shape {x.shape}")
        ctx.inverse = tuple(np.argsort([d % max(x.ndim, 1) for d in dims]).tolist())
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(ctx.inverse)


class Narrow(Function):
    """Elements ``start:start + length`` along ``dim`` (a view); the gradient is padded back with zeros."""

    @staticmethod
    def forward(ctx, x, dim, start, length):
        ctx.pad = (dim, start, x.shape[dim] - start - length)
        index = (slice(None),) * dim + (slice(start, start + length),)
        return x._data[index]

    @staticmethod
    def backward(ctx, grad):
        dim, before, after = ctx.pad
        return Pad.apply(grad, ((0, 0),) * dim + ((before, after),))


class Pad(Function):
    """Zeros (or ``value``) added before and after each dim, as NumPy's ``widths``; the gradient is cropped."""

    @staticmethod
    def forward(ctx, x, widths, value=0):
        ctx.widths = widths
        return np.pad(x._data, list(widths) + [(0, 0)] * (x.ndim - len(widths)), constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        for dim, (before, after) in enumerate(ctx.widths):
            if before or after:
                grad = Narrow.apply(grad, dim, before, grad.shape[dim] - before - after)
        return grad


class Concat(Function):
    """Tensors joined along ``dim``; each input's gradient is its slice of the output's."""

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim, ctx.sizes = dim, [t.shape[dim] for t in tensors]
        return np.concatenate([t._data for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        starts = np.cumsum([0, *ctx.sizes]).tolist()
        return (None, *(Narrow.apply(grad, ctx.dim, s, n) for s, n in zip(starts, ctx.sizes, strict=False)))


class Flip(Function):
    """Reverse the order of elements along ``dims`` (a copy, as PyTorch); the gradient is flipped back."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x._data, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims)


def normalize_dim(dim: int, ndim: int, name: str) -> int:
    """``dim`` in ``range(ndim)`` (negative counts from the end; a 0-d tensor takes -1 and 0), or PyTorch's error."""
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"{name}: dimension out of range (expected to be in range of [{-size}, {size - 1}], but got {dim})"
        )
    return dim % size


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
