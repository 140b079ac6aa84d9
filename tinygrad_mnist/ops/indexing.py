"""Indexing with gradients: ``x[key]``, ``x[key] = v``, gather/scatter, ``where``, ``nonzero``, PyTorch's semantics.

Four primitives carry every op here: ``Index`` (gather at a key), ``IndexAdd`` (values added at
a key into zeros: the gradient of ``Index``, accumulating repeated indices), ``SetIndex``
(a copy with values written at a key) and ``Where``. Their backwards are each other, so
second order works. A key is normalized once (``Key``) into a basic part, applied first (a
view), and an advanced part of integer arrays applied to that: PyTorch applies integer
indices before advanced ones (``x[0, :, [1, 2]]`` has shape (3, 2), NumPy's (2, 3)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tensor as tensor_module
from ..autograd.function import Function
from .promotion import promote

if TYPE_CHECKING:
    from ..tensor import Tensor


@dataclass(frozen=True)
class Key:
    """A normalized index: ``x[basic]`` (ints, slices, None: a view), then ``[advanced]`` (or nothing)."""

    basic: tuple[Any, ...]
    advanced: tuple[Any, ...] | None = None

    def view(self, array: np.ndarray) -> np.ndarray:
        """The basic part: a view, 0-d too (the trailing ``...`` keeps NumPy from returning a scalar copy)."""
        return array[(*self.basic, Ellipsis)]

    def apply(self, array: np.ndarray) -> np.ndarray:
        out = self.view(array)
        return out if self.advanced is None else out[self.advanced]

    def assign(self, array: np.ndarray, value: Any) -> None:
        """``array[key] = value`` in place (the basic part is a view, so the write lands in ``array``)."""
        if self.advanced is None:
            self.view(array)[...] = value
        else:
            self.view(array)[self.advanced] = value

    def add_at(self, array: np.ndarray, value: np.ndarray) -> None:
        """``array[key] += value``, with repeated indices accumulated."""
        if self.advanced is None:
            self.view(array)[...] += value
        else:
            np.add.at(self.view(array), self.advanced, value)


def _index_array(item: Any) -> np.ndarray:
    """An index tensor, array or list as an int or bool array (PyTorch's error for any other dtype)."""
    array = np.asarray(item._data if isinstance(item, tensor_module.Tensor) else item)
    if array.dtype.kind == "f" and array.size == 0 and not isinstance(item, np.ndarray | tensor_module.Tensor):
        array = array.astype(np.int64)  # x[[]]: an empty list is an empty int index
    if array.dtype.kind not in "iub":
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {array.dtype}")
    return array


def make_key(key: Any, shape: tuple[int, ...]) -> Key:
    """Normalize a user's index for a tensor of ``shape``: checks, Ellipsis expanded, bool masks as int arrays."""
    items = list(key) if type(key) is tuple else [key]
    for i, item in enumerate(items):
        if isinstance(item, tensor_module.Tensor | np.ndarray | list | range | bool | np.bool_):
            items[i] = _index_array(item)
        elif isinstance(item, np.integer):
            items[i] = int(item)
        elif isinstance(item, slice) and item.step is not None and item.step <= 0:
            raise ValueError("step must be greater than zero")
        elif not (isinstance(item, int | slice) or item is None or item is Ellipsis):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or bool tensors are valid indices, "
                f"got {type(item).__name__}"
            )
    used = sum(item.ndim if isinstance(item, np.ndarray) and item.dtype == bool else 1
               for item in items if item is not None and item is not Ellipsis)  # fmt: skip
    ellipses = [i for i, item in enumerate(items) if item is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    if ellipses:
        at = ellipses[0]
        items[at : at + 1] = [slice(None)] * (len(shape) - used)
    items = _masks_as_indices(items, shape)
    if not any(isinstance(item, np.ndarray) for item in items):
        return Key(tuple(items))
    if not any(type(item) is int for item in items):
        return Key((), tuple(items))
    basic = tuple(item if type(item) is int or item is None else slice(None) for item in items)
    return Key(basic, tuple(slice(None) if item is None else item for item in items if type(item) is not int))


def _masks_as_indices(items: list[Any], shape: tuple[int, ...]) -> list[Any]:
    """Each bool mask (of k dims) as its k int index arrays, after checking its shape against the dims it covers."""
    out, dim = [], 0
    for item in items:
        if isinstance(item, np.ndarray) and item.dtype == bool and item.ndim > 0:
            covered = shape[dim : dim + item.ndim]
            if item.shape != covered:
                raise IndexError(
                    f"The shape of the mask {list(item.shape)} at index {dim} does not match the shape of the "
                    f"indexed tensor {list(shape)} at index {dim}"
                )
            out.extend(np.nonzero(item))
            dim += item.ndim
        else:
            out.append(item)
            dim += item is not None
    return out


def _apply_key(key: Key, array: np.ndarray) -> np.ndarray:
    try:
        return key.apply(array)
    except IndexError as error:
        raise IndexError(str(error).replace("axis", "dimension")) from None


def _zero(like: Tensor) -> Tensor:
    return tensor_module.Tensor._wrap(np.zeros((), like.dtype))


class Index(Function):
    """``x[key]``; the gradient is added back at the key into zeros (``IndexAdd``)."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.key, ctx.in_shape = key, x.shape
        return _apply_key(key, x._data)

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, ctx.key, ctx.in_shape)


class IndexAdd(Function):
    """Zeros of ``shape`` with ``values`` added at ``key`` (repeats accumulate); the gradient is the gather again."""

    @staticmethod
    def forward(ctx, values, key, shape):
        ctx.key = key
        out = np.zeros(shape, values.dtype)
        key.add_at(out, values._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        return Index.apply(grad, ctx.key)


class SetIndex(Function):
    """A copy of ``x`` with ``value`` (broadcast, cast to x's dtype) written at ``key``: PyTorch's ``x[key] = value``.

    The gradient flows to the untouched part of ``x`` and, gathered at the key, to ``value``.
    """

    @staticmethod
    def forward(ctx, x, value, key):
        out = x._data.copy()
        try:
            key.assign(out, value._data)
        except ValueError:
            raise ValueError(
                f"setitem: a value of shape {value.shape} cannot be broadcast to the indexed shape "
                f"{key.apply(x._data).shape}"
            ) from None
        keep = np.ones(x.shape, bool)
        key.assign(keep, False)
        ctx.save_for_backward(keep)
        ctx.key, ctx.value_shape = key, value.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        grad_x = Where.apply(keep._data, grad, _zero(grad)) if ctx.needs_input_grad[0] else None
        if not ctx.needs_input_grad[1]:
            return grad_x, None
        grad_value = Index.apply(grad, ctx.key)
        extra = len(ctx.value_shape) - grad_value.ndim  # a value with more leading 1-dims than the indexed part
        return grad_x, grad_value.reshape((1,) * extra + grad_value.shape) if extra > 0 else grad_value


class Where(Function):
    """``condition ? a : b`` elementwise (a bool array, two tensors of one dtype); each branch gets its part."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        try:
            return np.where(condition, a._data, b._data)
        except ValueError:
            raise ValueError(
                f"where: the condition {condition.shape} and the branches {a.shape} and {b.shape} cannot be "
                "broadcast together"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        zero = _zero(grad)
        return (
            None,
            Where.apply(condition._data, grad, zero) if ctx.needs_input_grad[1] else None,
            Where.apply(condition._data, zero, grad) if ctx.needs_input_grad[2] else None,
        )


# ----- the ops, composed of the primitives ---------------------------------------------------------


def index(x: Tensor, key: Any) -> Tensor:
    """``x[key]`` with NumPy/PyTorch semantics (a view for basic keys)."""
    return Index.apply(x, make_key(key, x.shape))


def assign(x: Tensor, key: Any, value: Any) -> None:
    """``x._data[key] = value`` in place, outside any graph (the value broadcast and cast to x's dtype)."""
    parsed = make_key(key, x.shape)
    _apply_key(parsed, x._data)  # bounds checked with PyTorch's words before writing
    try:
        parsed.assign(x._data, value._data if isinstance(value, tensor_module.Tensor) else value)
    except ValueError:
        raise ValueError(
            f"setitem: a value of shape {np.shape(value)} cannot be broadcast to the indexed shape "
            f"{parsed.apply(x._data).shape}"
        ) from None


def set_index(x: Tensor, key: Any, value: Any) -> Tensor:
    """A new tensor: ``x`` with ``value`` written at ``key``, recorded for the gradient."""
    parsed = make_key(key, x.shape)
    _apply_key(parsed, x._data)
    return SetIndex.apply(x, x._lift(value), parsed)


def _dim(dim: int, ndim: int, name: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"{name}: dimension out of range (expected to be in range of [{-max(ndim, 1)}, {max(ndim, 1) - 1}], "
            f"but got {dim})"
        )
    return dim % max(ndim, 1)


def _integer_index(index: Any, name: str) -> np.ndarray:
    array = np.asarray(index._data if isinstance(index, tensor_module.Tensor) else index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: the index must be an integer (int64) tensor, got {array.dtype}")
    return array


def _along(dim: int, index: np.ndarray, sizes: tuple[int, ...]) -> Key:
    """The key picking ``index`` along ``dim`` and position ``i`` along every other dim ``d`` (``i < sizes[d]``)."""
    ranges = [np.arange(n).reshape([-1 if e == d else 1 for e in range(len(sizes))]) for d, n in enumerate(sizes)]
    return Key((), tuple(index if d == dim else r for d, r in enumerate(ranges)))


def _checked_along(name: str, x: Tensor, dim: int, index: np.ndarray) -> Key:
    """``_along`` for gather/scatter: PyTorch's rules on the index's rank, sizes and range."""
    if index.ndim != x.ndim:
        raise RuntimeError(f"{name}: the index ({index.ndim}-D) must have as many dimensions as the input ({x.ndim}-D)")
    for d, (m, n) in enumerate(zip(index.shape, x.shape, strict=True)):
        if d != dim and m > n:
            raise RuntimeError(
                f"{name}: size does not match at dimension {d}: expected index {list(index.shape)} to be no "
                f"larger than self {list(x.shape)} apart from dimension {dim}"
            )
    _check_range(index, x.shape[dim], dim, error=RuntimeError)
    return _along(dim, index, index.shape)


def _check_range(index: np.ndarray, size: int, dim: int, negative: bool = False, error: type = IndexError) -> None:
    """PyTorch's bounds: ``[0, size)``, or ``[-size, size)`` for the ops that take negative indices."""
    bad = index[(index < (-size if negative else 0)) | (index >= size)]
    if bad.size:
        raise error(f"index {bad.flat[0]} is out of bounds for dimension {dim} with size {size}")


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j] = x[index[i][j]][j]`` (for ``dim=0``): values picked along ``dim``, PyTorch's ``gather``."""
    index = _integer_index(index, "gather")
    if x.ndim == 0:
        return gather(x.reshape(1), _dim(dim, 0, "gather"), index.reshape(1)).reshape(index.shape)
    dim = _dim(dim, x.ndim, "gather")
    return Index.apply(x, _checked_along("gather", x, dim, index))


def take_along_dim(x: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim``, both broadcast in the other dims (flattened when ``dim`` is None)."""
    indices = _integer_index(indices, "take_along_dim")
    if dim is None:
        return take_along_dim(x.reshape(-1), indices.reshape(-1), 0)
    dim = _dim(dim, x.ndim, "take_along_dim")
    if indices.ndim != x.ndim:
        raise RuntimeError(f"take_along_dim: input ({x.ndim}-D) and indices ({indices.ndim}-D) need the same rank")
    _check_range(indices, x.shape[dim], dim, negative=True)
    try:
        np.broadcast_shapes(*(s[:dim] + s[dim + 1 :] for s in (x.shape, indices.shape)))
    except ValueError:
        raise RuntimeError(
            f"take_along_dim: input {list(x.shape)} and indices {list(indices.shape)} do not broadcast apart from "
            f"dimension {dim}"
        ) from None
    return Index.apply(x, _along(dim, indices, x.shape))


def index_select(x: Tensor, dim: int, index: Any) -> Tensor:
    """The slices ``index`` (0-d or 1-D) along ``dim``, in that order; the dim is kept."""
    index = _integer_index(index, "index_select")
    if index.ndim > 1:
        raise IndexError(f"index_select(): the index must be 0-d or 1-D, got shape {index.shape}")
    dim = _dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        return index_select(x.reshape(1), 0, index).reshape(())
    _check_range(index, x.shape[dim], dim)
    return Index.apply(x, _on_dim(dim, index.reshape(-1)))


def _on_dim(dim: int, index: np.ndarray) -> Key:
    return Key((), (slice(None),) * dim + (index,))


def _same_dtype(name: str, x: Tensor, src: Tensor) -> None:
    if x.dtype != src.dtype:
        raise TypeError(f"{name}(): self ({x.dtype}) and src ({src.dtype}) must have the same dtype; convert one")


def _scatter_source(name: str, x: Tensor, index: np.ndarray, src: Tensor) -> Tensor:
    """The part of ``src`` that ``index`` covers (PyTorch reads only that part)."""
    _same_dtype(name, x, src)
    if src.ndim != index.ndim or any(m > n for m, n in zip(index.shape, src.shape, strict=True)):
        raise RuntimeError(f"{name}: the index {list(index.shape)} must be no larger than src {list(src.shape)}")
    return src if src.shape == index.shape else src[tuple(slice(n) for n in index.shape)]


def scatter(x: Tensor, dim: int, index: Any, src: Any = None, value: Any = None) -> Tensor:
    """A copy of ``x`` with ``src[i][j]`` (or the number ``value``) written at ``[index[i][j]][j]`` (``dim=0``)."""
    index = _integer_index(index, "scatter")
    dim = _dim(dim, x.ndim, "scatter")
    if (src is None) == (value is None):
        raise TypeError("scatter(): give either src (a tensor) or value (a number)")
    key = _checked_along("scatter", x, dim, index)
    if value is not None or not isinstance(src, tensor_module.Tensor):
        return SetIndex.apply(x, x._lift(src if value is None else value), key)
    return SetIndex.apply(x, _scatter_source("scatter", x, index, src), key)


def scatter_add(x: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """``x`` plus ``src[i][j]`` added at ``[index[i][j]][j]`` (``dim=0``); repeated indices accumulate."""
    index = _integer_index(index, "scatter_add")
    dim = _dim(dim, x.ndim, "scatter_add")
    key = _checked_along("scatter_add", x, dim, index)
    return x + IndexAdd.apply(_scatter_source("scatter_add", x, index, src), key, x.shape)


def index_add(x: Tensor, dim: int, index: Any, source: Tensor, alpha: float = 1) -> Tensor:
    """``x`` plus ``alpha * source[i]`` added to the slice ``index[i]`` along ``dim``; repeats accumulate."""
    index = _integer_index(index, "index_add")
    dim = _dim(dim, x.ndim, "index_add")
    _same_dtype("index_add", x, source)
    if index.ndim > 1 or source.ndim != x.ndim or source.shape[dim] != index.size:
        raise RuntimeError(
            f"index_add(): source {list(source.shape)} must be the input {list(x.shape)} with dimension {dim} "
            f"of the length of the 1-D index ({index.size})"
        )
    _check_range(index, x.shape[dim], dim)
    return x + IndexAdd.apply(source if alpha == 1 else source * alpha, _on_dim(dim, index.reshape(-1)), x.shape)


def index_copy(x: Tensor, dim: int, index: Any, source: Tensor) -> Tensor:
    """A copy of ``x`` with the slices ``index`` along ``dim`` replaced by those of ``source``."""
    index = _integer_index(index, "index_copy")
    dim = _dim(dim, x.ndim, "index_copy")
    _same_dtype("index_copy", x, source)
    _check_range(index, x.shape[dim], dim)
    return SetIndex.apply(x, source, _on_dim(dim, index.reshape(-1)))


def index_fill(x: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """A copy of ``x`` with the slices ``index`` along ``dim`` set to the number (or 0-d tensor) ``value``."""
    index = _integer_index(index, "index_fill")
    dim = _dim(dim, x.ndim, "index_fill")
    _check_range(index, x.shape[dim], dim, negative=True)
    return SetIndex.apply(x, x._lift(value), _on_dim(dim, index.reshape(-1)))


def _mask(mask: Any, name: str) -> np.ndarray:
    array = np.asarray(mask._data if isinstance(mask, tensor_module.Tensor) else mask)
    if array.dtype != bool:
        raise TypeError(f"{name}: expected a bool mask (e.g. x > 0), got {array.dtype}")
    return array


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """``x`` with ``value`` (a number or 0-d tensor, cast to x's dtype) where the bool ``mask`` (broadcast) is True."""
    mask = _mask(mask, "masked_fill")
    if isinstance(value, tensor_module.Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, got shape {value.shape}")
    return Where.apply(mask, x._lift(value).to(x.dtype), x)


def masked_select(x: Tensor, mask: Any) -> Tensor:
    """The 1-D tensor of the values of ``x`` where ``mask`` is True (both broadcast together)."""
    mask = _mask(mask, "masked_select")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return index(x.expand(shape), np.broadcast_to(mask, shape))


def where(condition: Any, input: Any = None, other: Any = None) -> Tensor | tuple[Tensor, ...]:
    """``input`` where ``condition`` is True, else ``other`` (tensors or numbers, broadcast, promoted as PyTorch);
    the gradient goes to each branch where it was chosen. With the condition alone: ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(): give both input and other, or only the condition")
    condition = _mask(condition, "where")
    dtype = promote(input, other)
    a, b = (v.to(dtype) if isinstance(v, tensor_module.Tensor) else tensor_module.Tensor(v, dtype=dtype)
            for v in (input, other))  # fmt: skip
    return Where.apply(condition, a, b)


def nonzero(x: Any, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the nonzero elements: int64 of shape (n, ndim), or one 1-D tensor per dim with ``as_tuple``."""
    array = x._data if isinstance(x, tensor_module.Tensor) else np.asarray(x)
    if as_tuple:
        return tuple(tensor_module.Tensor(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(array)))
    return tensor_module.Tensor(np.argwhere(array).astype(np.int64))


def one_hot(x: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape (*x.shape, num_classes) with 1 at each class id of ``x`` (inferred as max + 1)."""
    if x._data.dtype.kind not in "iu":
        raise TypeError(f"one_hot is only applicable to index tensors (int64), got {x.dtype}")
    ids = x._data
    if num_classes == -1:
        if ids.size == 0:
            raise RuntimeError("one_hot: can not infer the total number of classes from an empty tensor")
        num_classes = int(ids.max()) + 1
    if ids.size and ids.min() < 0:
        raise RuntimeError("one_hot: class values must be non-negative")
    if ids.size and ids.max() >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes ({num_classes})")
    out = np.zeros((*ids.shape, num_classes), np.int64)
    np.put_along_axis(out, ids[..., None].astype(np.intp), 1, axis=-1)
    return tensor_module.Tensor(out)
