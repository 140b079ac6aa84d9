"""Hypothesis strategies for registry samples: arrays of grid values and the arguments ops take.

Grid values keep finite differences meaningful: distinct values are 1/8 apart (1/32 where
all must differ), so no kink or tie sits between an input and its nudged copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..graphs import broadcastable_shapes, matmul_shapes, shapes
from ..registry import Sample

#: Element values: multiples of 1/8 in [-3, 3] without 0, so distinct values are 1/8 apart (no near-ties);
#: a finer grid where all values must differ (max, pooling), 1/32 apart.
_GRID = tuple(sign * k / 8 for k in range(1, 25) for sign in (1, -1))
_FINE_GRID = tuple(sign * k / 32 for k in range(1, 97) for sign in (1, -1))
Domain = Callable[[np.ndarray], np.ndarray]


def grid_arrays(shape: Any, domain: Domain | None = None, unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Float64 arrays of grid values (distinct ones with ``unique``), mapped into ``domain``."""
    drawn = hnp.arrays(np.float64, shape, elements=st.sampled_from(_FINE_GRID if unique else _GRID), unique=unique)
    return drawn if domain is None else drawn.map(domain)


def positive(x: np.ndarray) -> np.ndarray:
    return np.abs(x) + 0.25


@st.composite
def unary(draw: st.DrawFn, domain: Domain | None = None, empty: bool = True, **kwargs: Any) -> Sample:
    """One array of any small shape (0-d, (1,), empty where ``empty``), with fixed ``kwargs``."""
    shape = draw(shapes(min_side=0 if empty else 1))
    return Sample((draw(grid_arrays(shape, domain)),), kwargs)


@st.composite
def binary(draw: st.DrawFn, second: Domain | None = None) -> Sample:
    """Two arrays of shapes that broadcast together."""
    a, b = draw(broadcastable_shapes())
    return Sample((draw(grid_arrays(a)), draw(grid_arrays(b, second))))


@st.composite
def with_dim(
    draw: st.DrawFn,
    unique: bool = False,
    min_dims: int = 0,
    keepdim: bool = True,
    max_side: int = 4,
    tuples: bool = False,
    none: bool = True,
    min_side: int = 1,
) -> Sample:
    """An array and a dim of it (or None where ``none``, or a tuple of dims where ``tuples``), with ``keepdim``
    drawn too where the op takes it; empty arrays where ``min_side`` is 0."""
    shape = draw(shapes(min_dims=min_dims, max_side=max_side, min_side=min_side))
    x = draw(grid_arrays(shape, unique=unique))
    choices = st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.sampled_from([0, -1])
    if tuples and x.ndim:
        choices |= st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True).map(
            lambda dims: tuple(d - x.ndim if d % 2 else d for d in dims)
        )
    dim = draw(st.none() | choices if none else choices)
    if not keepdim:
        return Sample((x,), {"dim": dim})
    return Sample((x,), {"dim": dim, "keepdim": draw(st.booleans())})


@st.composite
def reshapes(draw: st.DrawFn) -> Sample:
    x = draw(grid_arrays(shapes()))
    sizes = [d for d in range(1, x.size + 1) if x.size % d == 0] or [1]
    first = draw(st.sampled_from(sizes))
    return Sample((x,), {"shape": (first, -1) if x.size else (0,)})


@st.composite
def permutations(draw: st.DrawFn) -> Sample:
    x = draw(grid_arrays(shapes(min_dims=1)))
    return Sample((x,), {"axes": tuple(draw(st.permutations(range(x.ndim))))})


@st.composite
def expands(draw: st.DrawFn) -> Sample:
    small, big = draw(broadcastable_shapes())
    target = np.broadcast_shapes(small, big)
    return Sample((draw(grid_arrays(small)),), {"shape": target})


@st.composite
def sum_to_sizes(draw: st.DrawFn) -> Sample:
    small, big = draw(broadcastable_shapes())
    return Sample((draw(grid_arrays(np.broadcast_shapes(small, big))),), {"shape": small})


@st.composite
def matmuls(draw: st.DrawFn) -> Sample:
    a, b = draw(matmul_shapes())
    return Sample((draw(grid_arrays(a)), draw(grid_arrays(b))))


@st.composite
def linears(draw: st.DrawFn, bias: bool = True) -> Sample:
    m, n, k = (draw(st.integers(1, 4)) for _ in range(3))
    inputs = [draw(grid_arrays((m, n))), draw(grid_arrays((k, n)))]
    return Sample((*inputs, draw(grid_arrays((k,)))) if bias else tuple(inputs))


@st.composite
def logits_and_classes(draw: st.DrawFn) -> Sample:
    m, classes = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    target = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=m, max_size=m)))
    return Sample((draw(grid_arrays((m, classes))),), {"target": target})


@st.composite
def images(draw: st.DrawFn, unique: bool = False) -> Sample:
    """(N, C, H, W) images with a window size, a stride and a padding that fit them."""
    n, c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(2, 5)), draw(st.integers(2, 5))
    kernel = draw(st.integers(1, min(h, w, 3)))
    params = {"kernel_size": kernel, "stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, kernel // 2))}
    return Sample((draw(grid_arrays((n, c, h, w), unique=unique)),), params)


@st.composite
def convolutions(draw: st.DrawFn) -> Sample:
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w, kh, kw = draw(st.integers(2, 5)), draw(st.integers(2, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = min(kh, h), min(kw, w)
    x, weight, bias = (
        draw(grid_arrays((n, c_in, h, w))),
        draw(grid_arrays((c_out, c_in, kh, kw))),
        draw(grid_arrays((c_out,))),
    )
    return Sample((x, weight, bias), {"stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, 1))})
