"""Hypothesis strategies and an assertion for property-testing gradients.

The project's own tests use exactly these, and so can yours::

    from hypothesis import given
    from tinygrad_mnist.testing import arrays, assert_gradients_match

    @given(arrays())
    def test_softplus(x):
        assert_gradients_match(lambda t: (t.exp() + 1).log(), x)

Needs the ``hypothesis`` package (in the ``dev`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import gradcheck
from .tensor import Tensor

Shape = tuple[int, ...]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[Shape]:
    """Small array shapes (0-d included by default)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    low: float = -3.0,
    high: float = 3.0,
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Finite float arrays with elements in [low, high], of a given or drawn shape."""
    return hnp.arrays(
        dtype,
        shapes() if shape is None else shape,
        elements=st.floats(low, high, allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8),
    )


@st.composite
def broadcastable_shapes(draw: st.DrawFn, max_dims: int = 3, max_side: int = 4) -> tuple[Shape, Shape]:
    """Two shapes NumPy broadcasts together: extra leading axes, size-1 axes, 0-d."""
    shape = draw(shapes(min_dims=0, max_dims=max_dims, max_side=max_side))
    pair = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, base_shape=shape, max_side=max_side))
    return pair.input_shapes


@st.composite
def matmul_shapes(draw: st.DrawFn, max_side: int = 5) -> tuple[Shape, Shape]:
    """Shapes (n, k) and (k, p) for a 2-D matrix product."""
    n, k, p = (draw(st.integers(1, max_side)) for _ in range(3))
    return (n, k), (k, p)


def assert_gradients_match(fn: Callable[..., Tensor], *inputs: Any, **tolerances: float) -> None:
    """Assert ``fn``'s backward agrees with finite differences for every input (see ``gradcheck``)."""
    gradcheck(fn, *inputs, **tolerances)
