"""Registry entries of indexing: ``x[key]``, ``x[key] = v``, gather/scatter, where, masks, nonzero, one_hot.

Index arrays live in the Sample kwargs (they are not differentiated); they repeat indices on
purpose, so the accumulation of the gradient (and of ``scatter_add``/``index_add``) is checked,
and they include negative indices, bool masks, 0-d and empty results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ... import nn, where
from ...ops.promotion import promote
from ..graphs import shapes
from ..registry import Sample, register_op
from .samples import grid_arrays

# ----- helpers -------------------------------------------------------------------------


def _torch_key(torch: Any, key: Any) -> Any:
    """A key with its arrays as torch tensors."""
    if isinstance(key, tuple):
        return tuple(_torch_key(torch, item) for item in key)
    return torch.from_numpy(key) if isinstance(key, np.ndarray) else key


def _np_index(x: np.ndarray, key: Any) -> np.ndarray:
    """``x[key]`` with PyTorch's placement: a leading int is applied before the advanced indices after it."""
    if type(key) is tuple and key and type(key[0]) is int and any(isinstance(k, np.ndarray) for k in key):
        return x[key[0]][key[1:]]
    return x[key]


def _indices(draw: st.DrawFn, n: int, size: st.SearchStrategy[int] | int, negative: bool = True) -> np.ndarray:
    """Indices into a dim of length ``n`` (negative ones too where the op takes them, repeats likely);
    empty when ``n`` is 0."""
    count = draw(size) if isinstance(size, st.SearchStrategy) else size
    if n == 0:
        return np.zeros(0, np.int64)
    values = st.lists(st.integers(-n if negative else 0, n - 1), min_size=count, max_size=count)
    return np.array(draw(values), np.int64).reshape(count)


def _scatter_add_reference(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = x.copy()
    for position in np.ndindex(index.shape):
        target = list(position)
        target[dim] = index[position]
        out[tuple(target)] += src[position]
    return out


def _scatter_reference(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = x.copy()
    for position in np.ndindex(index.shape):
        target = list(position)
        target[dim] = index[position]
        out[tuple(target)] = src[position]
    return out


def _gather_reference(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    out = np.empty(index.shape, x.dtype)
    for position in np.ndindex(index.shape):
        source = list(position)
        source[dim] = index[position]
        out[position] = x[tuple(source)]
    return out


# ----- samples -------------------------------------------------------------------------


@st.composite
def basic_keys(draw: st.DrawFn) -> Sample:
    """An array and a key of ints, slices (steps > 0, ends out of range too), None and ``...``."""
    shape = draw(shapes(min_dims=1, min_side=0))
    items: list[Any] = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "all"] if n else ["slice", "all"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            ends = st.none() | st.integers(-n - 1, n + 1)
            items.append(slice(draw(ends), draw(ends), draw(st.none() | st.integers(1, 3))))
        else:
            items.append(slice(None))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):
        items = [Ellipsis, *items[draw(st.integers(0, len(items))) :]]
    key = items[0] if len(items) == 1 and draw(st.booleans()) else tuple(items)
    return Sample((draw(grid_arrays(shape)),), {"key": key})


@st.composite
def advanced_keys(draw: st.DrawFn) -> Sample:
    """An array and a key with int arrays (repeats, negatives), bool masks, and ints/slices mixed in."""
    shape = draw(shapes(min_dims=1, min_side=0))
    x = draw(grid_arrays(shape))
    ndim, size = len(shape), st.integers(0, 5)
    kind = draw(st.sampled_from(["array", "two_arrays", "mask", "mask_first", "int_then_array", "array_slice_array"]))
    if kind == "two_arrays" and ndim >= 2:
        count = draw(size) if shape[0] and shape[1] else 0
        key: Any = (_indices(draw, shape[0], count), _indices(draw, shape[1], count))
    elif kind == "mask":
        key = np.asarray(draw(grid_arrays(shape)) > 0)
    elif kind == "mask_first":
        key = (draw(grid_arrays(shape[:1])) > 0, Ellipsis)
    elif kind == "int_then_array" and ndim >= 2 and shape[0]:  # PyTorch applies the int first
        key = (draw(st.integers(-shape[0], shape[0] - 1)), slice(None), _indices(draw, shape[-1], size))[: ndim + 1]
        key = key if ndim >= 3 else (key[0], key[2])
    elif kind == "array_slice_array" and ndim >= 3:
        count = draw(size) if shape[0] and shape[2] else 0
        key = (_indices(draw, shape[0], count), slice(None), _indices(draw, shape[2], count))
    else:
        dim = draw(st.integers(0, ndim - 1))
        array = _indices(draw, shape[dim], size).reshape(draw(st.sampled_from([(-1,), (1, -1)])))
        key = (slice(None),) * dim + (array,)
    return Sample((x,), {"key": key})


@st.composite
def along_dim(draw: st.DrawFn, same_size: bool = False, src: bool = False, negative: bool = False) -> Sample:
    """An array, a dim and an index of the same rank (each size no larger, or equal with ``same_size``)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(
        draw(st.integers(0, 4)) if d == dim % len(shape) else (n if same_size else draw(st.integers(0, n)))
        for d, n in enumerate(shape)
    )
    count = int(np.prod(index_shape))
    values = st.lists(st.integers(-shape[dim] if negative else 0, shape[dim] - 1), min_size=count, max_size=count)
    index = np.array(draw(values), np.int64).reshape(index_shape)
    inputs = (draw(grid_arrays(shape)),)
    if src:
        inputs += (draw(grid_arrays(tuple(m + draw(st.integers(0, 1)) for m in index_shape))),)
    return Sample(inputs, {"dim": dim, "index": index})


@st.composite
def unique_along_dim(draw: st.DrawFn) -> Sample:
    """For ``scatter``: the index has no repeats along ``dim`` (PyTorch leaves the winner of a repeat undefined)."""
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(draw(st.integers(0, n)) for n in shape)
    columns = [draw(st.permutations(range(shape[dim])))[: index_shape[dim]] for _ in range(int(np.prod(index_shape)))]
    index = np.zeros(index_shape, np.int64)
    for column, position in zip(columns, np.ndindex(tuple(n for d, n in enumerate(index_shape) if d != dim)),
                                strict=False):  # fmt: skip
        target = list(position)
        target.insert(dim, slice(None))
        index[tuple(target)] = column
    return Sample((draw(grid_arrays(shape)), draw(grid_arrays(index_shape))), {"dim": dim, "index": index})


@st.composite
def slices_on_dim(draw: st.DrawFn, source: bool = False, unique: bool = False, negative: bool = False) -> Sample:
    """An array, a dim and a 1-D index along it (repeats unless ``unique``), with a ``source`` of matching slices."""
    shape = draw(shapes(min_dims=1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    if unique:
        index = np.array(draw(st.permutations(range(n)))[: draw(st.integers(0, n))], np.int64)
    else:
        index = _indices(draw, n, st.integers(0, 5), negative)
    inputs = (draw(grid_arrays(shape)),)
    if source:
        source_shape = list(shape)
        source_shape[dim] = index.size
        inputs += (draw(grid_arrays(tuple(source_shape))),)
    return Sample(inputs, {"dim": dim, "index": index})


@st.composite
def masks(draw: st.DrawFn, other: bool = False) -> Sample:
    """An array and a bool mask that broadcasts to it (and a second branch of the mask's shape with ``other``)."""
    shape = draw(shapes(min_side=0))
    mask_shape = tuple(draw(st.sampled_from([1, n])) for n in shape[draw(st.integers(0, len(shape))) :])
    mask = np.asarray(draw(grid_arrays(mask_shape)) > 0)
    inputs = (draw(grid_arrays(shape)),)
    if other:
        inputs += (draw(grid_arrays(mask_shape)),)
    return Sample(inputs, {"mask": mask})


@st.composite
def set_items(draw: st.DrawFn) -> Sample:
    """An array, a basic or advanced key without repeated positions, and a value broadcasting to the indexed part."""
    sample = draw(basic_keys() | advanced_keys().filter(_no_repeats))
    indexed = _np_index(sample.inputs[0], sample.kwargs["key"]).shape
    value_shape = indexed[draw(st.integers(0, len(indexed))) :]
    value_shape = tuple(draw(st.sampled_from([1, n])) for n in value_shape)
    return Sample((sample.inputs[0], draw(grid_arrays(value_shape))), sample.kwargs)


def _no_repeats(sample: Sample) -> bool:
    """Whether the key writes each position at most once (a repeat's winner is undefined in PyTorch)."""
    positions = np.arange(sample.inputs[0].size).reshape(sample.inputs[0].shape)[sample.kwargs["key"]]
    return np.unique(positions).size == positions.size


# ----- the entries ---------------------------------------------------------------------

register_op(
    "getitem_basic",
    lambda x, key: x[key],
    basic_keys(),
    lambda x, key: x[key],
    lambda t, x, key: x[key],
    covers=["Tensor.__getitem__"],
)
register_op(
    "getitem_advanced",
    lambda x, key: x[key],
    advanced_keys(),
    _np_index,
    lambda t, x, key: x[_torch_key(t, key)],
    examples=20,
)
register_op(
    "setitem",
    lambda x, v, key: _setitem(x, v, key),
    set_items(),
    lambda x, v, key: _np_setitem(x, v, key),
    lambda t, x, v, key: _setitem(x, v, _torch_key(t, key), t.result_type(x, v)),
    covers=["Tensor.__setitem__"],
)


def _setitem(x: Any, v: Any, key: Any, dtype: Any = None) -> Any:
    """``y[key] = v`` on a copy of ``x``; ``v`` is cast to y's dtype (as in PyTorch), so ``y`` takes the
    promoted dtype (``dtype``, for PyTorch's tensors) first, for the battery's mixed-dtype property."""
    y = x.to(promote(x, v) if dtype is None else dtype).clone()
    y[key] = v
    return y


def _np_setitem(x: np.ndarray, v: np.ndarray, key: Any) -> np.ndarray:
    y = x.copy()
    if type(key) is tuple and key and type(key[0]) is int and any(isinstance(k, np.ndarray) for k in key):
        y[key[0]][key[1:]] = v  # PyTorch's placement, as in _np_index
    else:
        y[key] = v
    return y


register_op(
    "index_select",
    lambda x, dim, index: x.index_select(dim, index),
    slices_on_dim(),
    lambda x, dim, index: np.take(x, index, axis=dim),
    lambda t, x, dim, index: x.index_select(dim, t.from_numpy(index)),
    covers=["Tensor.index_select"],
)
register_op(
    "gather",
    lambda x, dim, index: x.gather(dim, index),
    along_dim(),
    _gather_reference,
    lambda t, x, dim, index: x.gather(dim, t.from_numpy(index)),
    covers=["Tensor.gather"],
)
register_op(
    "take_along_dim",
    lambda x, dim, index: x.take_along_dim(index, dim),
    along_dim(same_size=True, negative=True),
    lambda x, dim, index: np.take_along_axis(x, index, axis=dim),
    lambda t, x, dim, index: x.take_along_dim(t.from_numpy(index), dim),
    covers=["Tensor.take_along_dim"],
)
register_op(
    "take_along_dim_flat",
    lambda x, dim, index: x.take_along_dim(index.reshape(-1)),
    along_dim(same_size=True),
    lambda x, dim, index: x.reshape(-1)[index.reshape(-1)],
    lambda t, x, dim, index: t.take_along_dim(x, t.from_numpy(index.reshape(-1))),
)
register_op(
    "scatter",
    lambda x, src, dim, index: x.scatter(dim, index, src),
    unique_along_dim(),
    lambda x, src, dim, index: _scatter_reference(x, dim, index, src),
    lambda t, x, src, dim, index: x.scatter(dim, t.from_numpy(index), src),
    mixes_dtypes=False,
    covers=["Tensor.scatter"],
)
register_op(
    "scatter_value_",
    lambda x, dim, index: x.clone().scatter_(dim, index, value=-2.5),
    along_dim(),
    lambda x, dim, index: _scatter_reference(x, dim, index, np.full(index.shape, -2.5)),
    lambda t, x, dim, index: x.clone().scatter_(dim, t.from_numpy(index), value=-2.5),
    covers=["Tensor.scatter_"],
)
register_op(
    "scatter_add",
    lambda x, src, dim, index: x.scatter_add(dim, index, src),
    along_dim(src=True),
    lambda x, src, dim, index: _scatter_add_reference(x, dim, index, src),
    lambda t, x, src, dim, index: x.scatter_add(dim, t.from_numpy(index), src),
    mixes_dtypes=False,
    covers=["Tensor.scatter_add"],
)
register_op(
    "scatter_add_",
    lambda x, src, dim, index: (x * 1).scatter_add_(dim, index, src),
    along_dim(src=True),
    lambda x, src, dim, index: _scatter_add_reference(x, dim, index, src),
    lambda t, x, src, dim, index: x.clone().scatter_add_(dim, t.from_numpy(index), src),
    mixes_dtypes=False,
    covers=["Tensor.scatter_add_"],
)
register_op(
    "index_add",
    lambda x, source, dim, index: x.index_add(dim, index, source, alpha=-1.5),
    slices_on_dim(source=True),
    lambda x, source, dim, index: _index_add_reference(x, dim, index, -1.5 * source),
    lambda t, x, source, dim, index: x.index_add(dim, t.from_numpy(index), source, alpha=-1.5),
    mixes_dtypes=False,
    covers=["Tensor.index_add"],
)
register_op(
    "index_add_",
    lambda x, source, dim, index: (x * 1).index_add_(dim, index, source),
    slices_on_dim(source=True),
    lambda x, source, dim, index: _index_add_reference(x, dim, index, source),
    lambda t, x, source, dim, index: x.clone().index_add_(dim, t.from_numpy(index), source),
    mixes_dtypes=False,
    covers=["Tensor.index_add_"],
)


def _index_add_reference(x: np.ndarray, dim: int, index: np.ndarray, source: np.ndarray) -> np.ndarray:
    out = np.moveaxis(x.copy(), dim, 0)
    np.add.at(out, index, np.moveaxis(source, dim, 0))
    return np.moveaxis(out, 0, dim)


def _index_copy_reference(x: np.ndarray, dim: int, index: np.ndarray, source: np.ndarray) -> np.ndarray:
    out = np.moveaxis(x.copy(), dim, 0)
    out[index] = np.moveaxis(source, dim, 0)
    return np.moveaxis(out, 0, dim)


register_op(
    "index_copy",
    lambda x, source, dim, index: x.index_copy(dim, index, source),
    slices_on_dim(source=True, unique=True),
    lambda x, source, dim, index: _index_copy_reference(x, dim, index, source),
    lambda t, x, source, dim, index: x.index_copy(dim, t.from_numpy(index), source),
    mixes_dtypes=False,
    covers=["Tensor.index_copy"],
)
register_op(
    "index_copy_",
    lambda x, source, dim, index: (x * 1).index_copy_(dim, index, source),
    slices_on_dim(source=True, unique=True),
    lambda x, source, dim, index: _index_copy_reference(x, dim, index, source),
    mixes_dtypes=False,
    covers=["Tensor.index_copy_"],
)
register_op(
    "index_fill",
    lambda x, dim, index: x.index_fill(dim, index, 0.75),
    slices_on_dim(negative=True),
    lambda x, dim, index: _index_copy_reference(x, dim, index, np.full(np.take(x, index, axis=dim).shape, 0.75)),
    lambda t, x, dim, index: x.index_fill(dim, t.from_numpy(index), 0.75),
    covers=["Tensor.index_fill"],
)
register_op(
    "index_fill_",
    lambda x, dim, index: (x * 1).index_fill_(dim, index, -1),
    slices_on_dim(),
    lambda x, dim, index: _index_copy_reference(x, dim, index, np.full(np.take(x, index, axis=dim).shape, -1.0)),
    covers=["Tensor.index_fill_"],
)
register_op(
    "masked_fill",
    lambda x, mask: x.masked_fill(mask, -1.25),
    masks().filter(lambda s: np.broadcast_shapes(s.inputs[0].shape, s.kwargs["mask"].shape) == s.inputs[0].shape),
    lambda x, mask: np.where(mask, -1.25, x),
    lambda t, x, mask: x.masked_fill(t.from_numpy(mask), -1.25),
    covers=["Tensor.masked_fill"],
)
register_op(
    "masked_fill_tensor_value_",
    lambda x, mask: (x * 1).masked_fill_(mask, x.sum()),
    masks().filter(lambda s: np.broadcast_shapes(s.inputs[0].shape, s.kwargs["mask"].shape) == s.inputs[0].shape),
    lambda x, mask: np.where(mask, x.sum(), x),
    lambda t, x, mask: x.clone().masked_fill_(t.from_numpy(mask), x.sum()),
    covers=["Tensor.masked_fill_"],
)
register_op(
    "masked_select",
    lambda x, mask: x.masked_select(mask),
    masks(),
    lambda x, mask: np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape))[
        np.broadcast_to(mask, np.broadcast_shapes(x.shape, mask.shape))
    ],
    lambda t, x, mask: x.masked_select(t.from_numpy(mask)),
    covers=["Tensor.masked_select"],
)
register_op(
    "where",
    lambda x, y, mask: where(mask, x, y),
    masks(other=True),
    lambda x, y, mask: np.where(mask, x, y),
    lambda t, x, y, mask: t.where(t.from_numpy(mask), x, y),
    covers=["where"],
)
register_op(
    "where_method_and_scalar",
    lambda x, mask: x.where(mask, 0.5) + where(mask, -2, x),
    masks(),
    lambda x, mask: np.where(mask, x, 0.5) + np.where(mask, -2, x),
    lambda t, x, mask: x.where(t.from_numpy(mask), 0.5) + t.where(t.from_numpy(mask), -2, x),
    covers=["Tensor.where"],
)
register_op(
    "nonzero",
    lambda x: x.nonzero(),
    st.builds(lambda s: Sample((np.where(s.inputs[0] > 1, 0.0, s.inputs[0]),)), basic_keys()),
    np.argwhere,
    lambda t, x: x.nonzero(),
    differentiable=False,
    covers=["Tensor.nonzero", "Tensor.argwhere"],
)
register_op(
    "one_hot",
    lambda x, num_classes: nn.functional.one_hot(x.to(np.int64), num_classes),
    st.builds(
        lambda s, n: Sample((np.floor(np.abs(s.inputs[0])),), {"num_classes": n}),
        basic_keys(),
        st.sampled_from([-1, 4]),
    ).filter(lambda s: s.inputs[0].size or s.kwargs["num_classes"] > 0),
    lambda x, num_classes: np.eye(int(x.max(initial=0)) + 1 if num_classes < 0 else num_classes, dtype=np.int64)[
        x.astype(np.int64)
    ],
    lambda t, x, num_classes: t.nn.functional.one_hot(x.long(), num_classes),
    differentiable=False,
    covers=["nn.functional.one_hot"],
)

#: Indexing has no public Tensor names that are not ops.
NOT_OPS: frozenset[str] = frozenset()
