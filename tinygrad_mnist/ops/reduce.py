"""Reductions over axes: sum, mean and max."""

from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .op import Op

Axis = int | tuple[int, ...] | None


def _normalize_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """Axes as sorted non-negative ints; a clear error for one out of range."""
    if axis is None:
        return tuple(range(ndim))
    try:
        return tuple(sorted(normalize_axis_tuple(axis, ndim)))
    except (ValueError, IndexError):
        raise ValueError(f"axis {axis} is out of range for a tensor with {ndim} dimensions") from None


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Op):
    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, x.ndim)
        self.in_shape = x.shape
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        grad = grad.reshape(_keepdims_shape(self.in_shape, self.axes))
        return (np.broadcast_to(grad, self.in_shape),)


class Mean(Op):
    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axes(self.axis, x.ndim)
        self.in_shape = x.shape
        self.count = int(np.prod([x.shape[a] for a in self.axes]))
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, grad):
        grad = grad.reshape(_keepdims_shape(self.in_shape, self.axes)) / self.count
        return (np.broadcast_to(grad, self.in_shape),)


class Max(Op):
    """Maximum over axes; tied maxima share the gradient equally."""

    returns_new_arrays = True

    def __init__(self, axis: Axis = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"max: cannot reduce an empty tensor of shape {x.shape}")
        self.axes = _normalize_axes(self.axis, x.ndim)
        out = np.max(x, axis=self.axes, keepdims=True)
        if any(self.needs_input_grad):
            is_max = x == out
            self.save(is_max, is_max.sum(axis=self.axes, keepdims=True))
        return out if self.keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, grad):
        is_max, count = self.saved
        grad = grad.reshape(count.shape)
        return (is_max * (grad / count),)
