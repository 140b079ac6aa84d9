"""Operations that move elements without changing them: reshape and transpose."""

from __future__ import annotations

import numpy as np

from .op import Op


class Reshape(Op):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {x.shape} ({x.size} elements) into {self.shape}") from None

    def backward(self, grad):
        return (grad.reshape(self.in_shape),)


class Transpose(Op):
    """Permute axes; with no axes given, reverse them (``.T``), which is its own inverse."""

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.axes = axes

    def forward(self, x):
        if self.axes is None:
            return x.transpose()
        if sorted(a % max(x.ndim, 1) for a in self.axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {self.axes} are not a permutation of the {x.ndim} axes of {x.shape}")
        return x.transpose(self.axes)

    def backward(self, grad):
        if self.axes is None:
            return (grad.transpose(),)
        return (grad.transpose(np.argsort([a % grad.ndim for a in self.axes])),)
