"""Registry entries of the shape ops: views (transpose, squeeze, narrow...), copies (flip, repeat), joins and pads.

Each sample is one array of a small shape (empty sides included where the op allows them)
with the dims or sizes the op takes, drawn so that every call is valid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ... import Tensor, cat, hstack, stack, vstack
from ...nn import functional
from ..graphs import shapes
from ..registry import Sample, register_op
from .samples import grid_arrays


@st.composite
def _with_dims(draw: st.DrawFn, count: int = 1, min_dims: int = 1, max_dims: int = 3, min_side: int = 0) -> Sample:
    """An array and ``count`` dims of it (negative ones included), as ``dim``, ``dim1``..."""
    x = draw(grid_arrays(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side)))
    dims = [draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1)) for _ in range(count)]
    return Sample((x,), {f"dim{i}" if count > 1 else "dim": d for i, d in enumerate(dims)})


@st.composite
def _pieces(draw: st.DrawFn) -> Sample:
    """An array, a dim and a piece size for split/chunk."""
    sample = draw(_with_dims(min_side=1))
    return Sample(sample.inputs, {**sample.kwargs, "size": draw(st.integers(1, 4))})


@st.composite
def _narrows(draw: st.DrawFn) -> Sample:
    sample = draw(_with_dims())
    n = sample.inputs[0].shape[sample.kwargs["dim"]]
    start = draw(st.integers(0, n))
    return Sample(sample.inputs, {**sample.kwargs, "start": start, "length": draw(st.integers(0, n - start))})


@st.composite
def _joins(draw: st.DrawFn) -> Sample:
    """Two or three arrays of one shape except along ``dim``."""
    sample = draw(_with_dims(min_side=1))
    x, dim = sample.inputs[0], sample.kwargs["dim"]
    others = []
    for _ in range(draw(st.integers(1, 2))):
        shape = list(x.shape)
        shape[dim] = draw(st.integers(0, 3))
        others.append(draw(grid_arrays(tuple(shape))))
    return Sample((x, *others), {"dim": dim})


@st.composite
def _same_shapes(draw: st.DrawFn, min_dims: int = 0) -> Sample:
    x = draw(grid_arrays(shapes(min_dims=min_dims)))
    count = draw(st.integers(1, 2))
    return Sample(
        (x, *(draw(grid_arrays(x.shape)) for _ in range(count))), {"dim": draw(st.integers(-x.ndim - 1, x.ndim))}
    )


@st.composite
def _pads(draw: st.DrawFn) -> Sample:
    x = draw(grid_arrays(shapes(min_dims=1, min_side=2)))
    pairs = draw(st.integers(1, x.ndim))
    pad = tuple(draw(st.integers(-1, 2)) for _ in range(2 * pairs))
    return Sample((x,), {"pad": pad, "value": draw(st.sampled_from([0.0, 1.5]))})


def _np_pad(x: np.ndarray, pad: tuple[int, ...], value: float) -> np.ndarray:
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    first = x.ndim - len(pairs)
    crop = (slice(None),) * first + tuple(
        slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(pairs, x.shape[first:], strict=False)
    )
    widths = [(0, 0)] * first + [(max(b, 0), max(a, 0)) for b, a in pairs]
    return np.pad(x[crop], widths, constant_values=value)


def _weighted(pieces: Any, join: Any, dim: int) -> Any:
    """The pieces scaled by 1, 2, 3... and joined back: tells pieces and their gradients apart."""
    return join([p * (i + 1) for i, p in enumerate(pieces)], dim)


def _np_split(x: np.ndarray, dim: int, size: int) -> list[np.ndarray]:
    return np.split(x, list(range(size, x.shape[dim], size)), axis=dim)


register_op(
    "transpose",
    lambda x, dim0, dim1: x.transpose(dim0, dim1) + x.swapaxes(dim1, dim0) + x.swapdims(dim0, dim1),
    _with_dims(count=2, min_dims=0),
    lambda x, dim0, dim1: 3 * np.swapaxes(x, dim0, dim1) if x.ndim else 3 * x,
    lambda t, x, dim0, dim1: x.transpose(dim0, dim1) * 3,
    covers=["Tensor.transpose", "Tensor.swapaxes", "Tensor.swapdims"],
)
register_op(
    "mT",
    lambda x: x.mT,
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_dims=2, min_side=0))),
    lambda x: np.swapaxes(x, -2, -1),
    lambda t, x: x.mT,
    covers=["Tensor.mT"],
)
register_op(
    "t",
    lambda x: x.t(),
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(max_dims=2, min_side=0))),
    np.transpose,
    lambda t, x: x.t(),
    covers=["Tensor.t"],
)
register_op(
    "flatten_dims",
    lambda x, dim: x.flatten(dim) + x.flatten(0, dim).reshape(x.flatten(dim).shape),
    _with_dims(min_dims=0),
    lambda x, dim: 2 * x.reshape((*x.shape[: dim % max(x.ndim, 1)], int(np.prod(x.shape[dim % max(x.ndim, 1) :])))),
    lambda t, x, dim: 2 * x.flatten(dim),
    covers=["Tensor.flatten"],
)
register_op(
    "unflatten",
    lambda x, dim: x.unflatten(dim, (1, x.shape[dim], 1)),
    _with_dims(),
    lambda x, dim: np.expand_dims(np.expand_dims(x, dim % x.ndim + 1), dim % x.ndim),
    lambda t, x, dim: x.unflatten(dim, (1, x.shape[dim], 1)),
    covers=["Tensor.unflatten"],
)
register_op(
    "squeeze",
    lambda x, dim: x.squeeze(dim) + x.squeeze().reshape(x.squeeze(dim).shape),
    _with_dims(min_dims=0, max_dims=4),
    lambda x, dim: 2 * (np.squeeze(x, dim) if x.ndim and x.shape[dim] == 1 else x),
    lambda t, x, dim: 2 * x.squeeze(dim),
    covers=["Tensor.squeeze"],
)
register_op(
    "unsqueeze",
    lambda x, dim: x.unsqueeze(dim),
    st.builds(lambda x, d: Sample((x,), {"dim": d}), grid_arrays(shapes(max_dims=3, min_side=0)), st.integers(-1, 0)),
    lambda x, dim: np.expand_dims(x, dim),
    lambda t, x, dim: x.unsqueeze(dim),
    covers=["Tensor.unsqueeze"],
)
register_op(
    "movedim",
    lambda x, dim0, dim1: x.movedim(dim0, dim1),
    _with_dims(count=2),
    lambda x, dim0, dim1: np.moveaxis(x, dim0, dim1),
    lambda t, x, dim0, dim1: x.movedim(dim0, dim1),
    covers=["Tensor.movedim"],
)
register_op(
    "narrow",
    lambda x, dim, start, length: x.narrow(dim, start, length),
    _narrows(),
    lambda x, dim, start, length: np.take(x, range(start, start + length), axis=dim),
    lambda t, x, dim, start, length: x.narrow(dim, start, length),
    covers=["Tensor.narrow"],
)
register_op(
    "split",
    lambda x, dim, size: _weighted(x.split(size, dim), cat, dim),
    _pieces(),
    lambda x, dim, size: _weighted(_np_split(x, dim, size), np.concatenate, dim),
    lambda t, x, dim, size: _weighted(x.split(size, dim), t.cat, dim),
    covers=["Tensor.split"],
)
register_op(
    "chunk",
    lambda x, dim, size: _weighted(x.chunk(size, dim), cat, dim),
    _pieces(),
    lambda x, dim, size: _weighted(_np_split(x, dim, -(-x.shape[dim] // size)), np.concatenate, dim),
    lambda t, x, dim, size: _weighted(x.chunk(size, dim), t.cat, dim),
    covers=["Tensor.chunk"],
)
register_op(
    "unbind",
    lambda x, dim: _weighted(x.unbind(dim), stack, dim),
    _with_dims(min_side=1),
    lambda x, dim: _weighted(list(np.moveaxis(x, dim, 0)), np.stack, dim),
    lambda t, x, dim: _weighted(x.unbind(dim), t.stack, dim),
    covers=["Tensor.unbind"],
)
register_op(
    "flip",
    lambda x, dim0, dim1: x.flip(dim0) + x.flip(list({dim0 % x.ndim, dim1 % x.ndim})),
    _with_dims(count=2),
    lambda x, dim0, dim1: np.flip(x, dim0) + np.flip(x, tuple({dim0 % x.ndim, dim1 % x.ndim})),
    lambda t, x, dim0, dim1: x.flip(dim0) + x.flip(list({dim0 % x.ndim, dim1 % x.ndim})),
    covers=["Tensor.flip"],
)
register_op(
    "roll",
    lambda x, dim0, dim1: x.roll(dim1, dim0) + x.roll(dim1),
    _with_dims(count=2),
    lambda x, dim0, dim1: np.roll(x, dim1, dim0) + np.roll(x, dim1),
    lambda t, x, dim0, dim1: x.roll(dim1, dim0) + x.roll(dim1),
    covers=["Tensor.roll"],
)
register_op(
    "repeat",
    lambda x: x.repeat(2, *[d % 3 + 1 for d in range(x.ndim)]),
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_side=0))),
    lambda x: np.tile(x, (2, *[d % 3 + 1 for d in range(x.ndim)])),
    lambda t, x: x.repeat(2, *[d % 3 + 1 for d in range(x.ndim)]),
    covers=["Tensor.repeat"],
)
register_op(
    "tile",
    lambda x: x.tile((3, 2)),
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_side=0))),
    lambda x: np.tile(x, (3, 2)),
    lambda t, x: x.tile((3, 2)),
    covers=["Tensor.tile"],
)
register_op(
    "tril",
    lambda x, dim: x.tril(dim) + x.triu(dim) * 3,
    _with_dims(min_dims=2),
    lambda x, dim: np.tril(x, dim) + np.triu(x, dim) * 3,
    lambda t, x, dim: x.tril(dim) + x.triu(dim) * 3,
    covers=["Tensor.tril", "Tensor.triu"],
)
register_op(
    "cat",
    lambda *xs, dim: _weighted(xs, cat, dim),
    _joins(),
    lambda *xs, dim: _weighted(xs, np.concatenate, dim),
    lambda t, *xs, dim: _weighted(xs, t.cat, dim),
    covers=["cat", "concat", "concatenate"],
)
register_op(
    "stack",
    lambda *xs, dim: _weighted(xs, stack, dim),
    _same_shapes(),
    lambda *xs, dim: _weighted(xs, np.stack, dim),
    lambda t, *xs, dim: _weighted(xs, t.stack, dim),
    covers=["stack"],
)
register_op(
    "hstack",
    lambda *xs, dim: hstack([x * (i + 1) for i, x in enumerate(xs)]) * 2 + vstack(xs).sum() * 0,
    _same_shapes(min_dims=1),
    lambda *xs, dim: np.hstack([x * (i + 1) for i, x in enumerate(xs)]) * 2,
    lambda t, *xs, dim: t.hstack([x * (i + 1) for i, x in enumerate(xs)]) * 2,
    covers=["hstack"],
)
register_op(
    "vstack",
    lambda *xs, dim: vstack([x * (i + 1) for i, x in enumerate(xs)]),
    _same_shapes(min_dims=1),
    lambda *xs, dim: np.vstack([x * (i + 1) for i, x in enumerate(xs)]),
    lambda t, *xs, dim: t.vstack([x * (i + 1) for i, x in enumerate(xs)]),
    covers=["vstack"],
)
register_op(
    "pad",
    lambda x, pad, value: functional.pad(x, pad, value=value),
    _pads(),
    _np_pad,
    lambda t, x, pad, value: t.nn.functional.pad(x, pad, value=value),
    covers=["nn.functional.pad"],
)
register_op(
    "view",
    lambda x: (
        x.view(1, *x.shape)
        + x.view_as(Tensor(np.zeros((1, *x.shape)))) * 2
        + x.reshape(-1).reshape_as(Tensor(np.zeros((1, *x.shape)))) * 4
    ),
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_side=0))),
    lambda x: 7 * x[None],
    lambda t, x: 7 * x.view(1, *x.shape),
    covers=["Tensor.view", "Tensor.view_as", "Tensor.reshape_as"],
)
register_op(
    "expand_as",
    lambda x: x.expand_as(Tensor(np.zeros((2, *x.shape)))),
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_side=0))),
    lambda x: np.broadcast_to(x, (2, *x.shape)),
    lambda t, x: x.expand_as(t.zeros((2, *x.shape))),
    covers=["Tensor.expand_as"],
)

#: Public Tensor names of this area that are not ops.
NOT_OPS = frozenset({"dim", "ndimension", "numel", "nelement", "tolist", "detach_", "contiguous", "is_contiguous"})
