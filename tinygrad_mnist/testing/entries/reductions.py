"""Registry entries of the reductions (``dim``/``keepdim``), softmax, sorting and the matmul family.

Samples where ties matter (max, min, sort, topk, amax) draw distinct values, so that each
chosen element is unique and finite differences do not cross a tie; dims are drawn from every
valid one, negative ones, tuples where the op takes them, and None.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ... import einsum, nn
from ..graphs import shapes
from ..registry import Sample, register_op
from .samples import grid_arrays, with_dim

F = nn.functional


def _dims(dim: Any, ndim: int) -> Any:
    """NumPy's ``axis`` for a PyTorch ``dim`` (a 0-d array has no axis 0)."""
    return None if ndim == 0 else dim


def _log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    shifted = x - x.max(axis=_dims(dim, x.ndim), keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=_dims(dim, x.ndim), keepdims=True))


def _count(x: np.ndarray, dim: Any) -> int:
    axes = range(x.ndim) if dim is None or x.ndim == 0 else np.atleast_1d(dim)
    return int(np.prod([x.shape[a] for a in axes]))


@st.composite
def _with_correction(draw: st.DrawFn) -> Sample:
    """A ``with_dim`` sample and a correction below the reduced count (so the divisor stays positive)."""
    sample = draw(with_dim(unique=True, tuples=True))
    count = _count(sample.inputs[0], sample.kwargs["dim"])
    return Sample(sample.inputs, {**sample.kwargs, "correction": draw(st.integers(0, min(count - 1, 2)))})


def _with_zeros(sample: Sample) -> Sample:
    """The same sample with about a third of its elements set to 0 (prod and cumprod must cope)."""
    x = sample.inputs[0]
    return Sample((np.where(np.arange(x.size).reshape(x.shape) % 3 == 1, 0.0, x),), sample.kwargs)


def _norm(x: np.ndarray, p: Any, dim: Any, keepdim: bool) -> np.ndarray:
    axis = None if dim is None or x.ndim == 0 else dim
    size = np.abs(x)
    if p in (2, "fro"):
        return np.sqrt((size**2).sum(axis=axis, keepdims=keepdim))
    if p == np.inf:
        return size.max(axis=axis, keepdims=keepdim)
    if p == -np.inf:
        return size.min(axis=axis, keepdims=keepdim)
    return ((size**p).sum(axis=axis, keepdims=keepdim)) ** (1 / p)


@st.composite
def _norms(draw: st.DrawFn) -> Sample:
    sample = draw(with_dim(unique=True, tuples=True))  # shifted so that no two elements share |x| (inf-norm ties)
    x = sample.inputs[0]
    p = draw(st.sampled_from([2, "fro", 1, 3, np.inf, -np.inf]))
    return Sample((x + 3.5 * (x > 0),), {**sample.kwargs, "p": p})


def _pick(x: np.ndarray, find: Any, dim: int, keepdim: bool) -> np.ndarray:
    """NumPy's values of max/min along ``dim`` (PyTorch's 0-d tensors have a dim 0)."""
    return find(x, axis=_dims(dim, x.ndim), keepdims=keepdim and x.ndim > 0)


def _sort(x: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    if x.ndim == 0:
        return x
    ordered = np.sort(x, axis=dim)
    return np.flip(ordered, dim) if descending else ordered


@st.composite
def _topks(draw: st.DrawFn) -> Sample:
    sample = draw(with_dim(unique=True, keepdim=False, none=False))
    x, dim = sample.inputs[0], sample.kwargs["dim"]
    size = x.shape[dim] if x.ndim else 1
    return Sample((x,), {"k": draw(st.integers(0 if x.ndim else 1, size)), "dim": dim, "largest": draw(st.booleans())})


def _topk(x: np.ndarray, k: int, dim: int, largest: bool) -> np.ndarray:
    if x.ndim == 0:
        return x
    ordered = np.sort(x, axis=dim)
    return np.take(np.flip(ordered, dim) if largest else ordered, np.arange(k), axis=dim)


@st.composite
def _matmuls(draw: st.DrawFn) -> Sample:
    """Operands of ``@``: 1-D, 2-D and N-D, with batch dims that broadcast (one side may have fewer)."""
    n, k, p = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(shapes(max_dims=2, max_side=3))
    a_batch = tuple(draw(st.sampled_from([1, b])) for b in batch)
    b_batch = batch[draw(st.integers(0, len(batch))) :]
    a = (k,) if draw(st.booleans()) else (*a_batch, n, k)
    b = (k,) if draw(st.booleans()) else (*b_batch, k, p)
    return Sample((draw(grid_arrays(a)), draw(grid_arrays(b))))


def _pair(a_shape: Any, b_shape: Any) -> st.SearchStrategy[Sample]:
    """Two arrays of shapes drawn by ``a_shape``/``b_shape`` from shared sizes (n, k, p, batch)."""
    sizes = st.tuples(*(st.integers(1, 4) for _ in range(4)))
    return sizes.flatmap(
        lambda s: st.tuples(grid_arrays(a_shape(*s)), grid_arrays(b_shape(*s))).map(lambda ab: Sample(ab))
    )


#: Einsum equations and the operand shapes for sizes (i, j, k, b).
_EINSUMS = {
    "ij,jk->ik": lambda i, j, k, b: [(i, j), (j, k)],
    "bij,bjk->bik": lambda i, j, k, b: [(b, i, j), (b, j, k)],
    "i,i->": lambda i, j, k, b: [(i,), (i,)],
    "i,j->ij": lambda i, j, k, b: [(i,), (j,)],
    "ij->ji": lambda i, j, k, b: [(i, j)],
    "ij->": lambda i, j, k, b: [(i, j)],
    "bi,bi->b": lambda i, j, k, b: [(b, i), (b, i)],
    "ij,j->i": lambda i, j, k, b: [(i, j), (j,)],
    "bij->bj": lambda i, j, k, b: [(b, i, j)],
}


@st.composite
def _einsums(draw: st.DrawFn) -> Sample:
    equation = draw(st.sampled_from(sorted(_EINSUMS)))
    sizes = [draw(st.integers(1, 4)) for _ in range(4)]
    return Sample(tuple(draw(grid_arrays(s)) for s in _EINSUMS[equation](*sizes)), {"equation": equation})


# ----- reductions ----------------------------------------------------------------------

register_op(
    "sum",
    lambda x, dim, keepdim: x.sum(dim, keepdim),
    with_dim(tuples=True, min_side=0),
    lambda x, dim, keepdim: np.sum(x, axis=_dims(dim, x.ndim), keepdims=keepdim),
    lambda t, x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim),
    covers=["Tensor.sum"],
)
register_op(
    "mean",
    lambda x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
    with_dim(tuples=True),
    lambda x, dim, keepdim: np.mean(x, axis=_dims(dim, x.ndim), keepdims=keepdim),
    lambda t, x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
    covers=["Tensor.mean"],
)
register_op(
    "prod",
    lambda x, dim, keepdim: x.prod(dim, keepdim),
    with_dim(max_side=3, min_side=0),
    lambda x, dim, keepdim: np.prod(x, axis=_dims(dim, x.ndim), keepdims=keepdim and dim is not None),
    lambda t, x, dim, keepdim: x.prod() if dim is None else x.prod(dim, keepdim),
    covers=["Tensor.prod"],
)
register_op(
    "prod_with_zeros",
    lambda x, dim, keepdim: x.prod(dim, keepdim),
    with_dim(max_side=3).map(_with_zeros),
    lambda x, dim, keepdim: np.prod(x, axis=_dims(dim, x.ndim), keepdims=keepdim and dim is not None),
    lambda t, x, dim, keepdim: x.prod() if dim is None else x.prod(dim, keepdim),
)
register_op(
    "var",
    lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
    _with_correction(),
    lambda x, dim, keepdim, correction: np.var(x, axis=_dims(dim, x.ndim), keepdims=keepdim, ddof=correction),
    lambda t, x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
    covers=["Tensor.var"],
)
register_op(
    "std",
    lambda x, dim, keepdim, correction: x.std(dim, keepdim=keepdim, correction=correction),
    _with_correction(),
    lambda x, dim, keepdim, correction: np.std(x, axis=_dims(dim, x.ndim), keepdims=keepdim, ddof=correction),
    lambda t, x, dim, keepdim, correction: x.std(dim, keepdim=keepdim, correction=correction),
    covers=["Tensor.std"],
)
register_op(
    "norm",
    lambda x, p, dim, keepdim: x.norm(p, dim, keepdim),
    _norms(),
    _norm,
    lambda t, x, p, dim, keepdim: x.norm(p, dim, keepdim),
    covers=["Tensor.norm"],
)
register_op(
    "amax",
    lambda x, dim, keepdim: x.amax(() if dim is None else dim, keepdim),
    with_dim(unique=True, tuples=True, max_side=3),
    lambda x, dim, keepdim: np.max(x, axis=_dims(dim, x.ndim), keepdims=keepdim),
    lambda t, x, dim, keepdim: x.amax(() if dim is None else dim, keepdim),
    covers=["Tensor.amax"],
)
register_op(
    "amin",
    lambda x, dim, keepdim: x.amin(() if dim is None else dim, keepdim),
    with_dim(unique=True, tuples=True, max_side=3),
    lambda x, dim, keepdim: np.min(x, axis=_dims(dim, x.ndim), keepdims=keepdim),
    lambda t, x, dim, keepdim: x.amin(() if dim is None else dim, keepdim),
    covers=["Tensor.amin"],
)
register_op(
    "max",
    lambda x, dim, keepdim: x.max() if dim is None else x.max(dim, keepdim).values,
    with_dim(unique=True, max_side=3),
    lambda x, dim, keepdim: np.max(x) if dim is None else _pick(x, np.max, dim, keepdim),
    lambda t, x, dim, keepdim: x.max() if dim is None else x.max(dim, keepdim).values,
    covers=["Tensor.max"],
)
register_op(
    "min",
    lambda x, dim, keepdim: x.min() if dim is None else x.min(dim=dim, keepdim=keepdim).values,
    with_dim(unique=True, max_side=3),
    lambda x, dim, keepdim: np.min(x) if dim is None else _pick(x, np.min, dim, keepdim),
    lambda t, x, dim, keepdim: x.min() if dim is None else x.min(dim=dim, keepdim=keepdim).values,
    covers=["Tensor.min"],
)
register_op(
    "argmax",
    lambda x, dim, keepdim: x.argmax(dim, keepdim),
    with_dim(unique=True),
    lambda x, dim, keepdim: np.argmax(x, axis=_dims(dim, x.ndim), keepdims=keepdim and x.ndim > 0),
    lambda t, x, dim, keepdim: x.argmax(dim, keepdim),
    differentiable=False,
    covers=["Tensor.argmax"],
)
register_op(
    "argmin",
    lambda x, dim, keepdim: x.argmin(dim=dim, keepdim=keepdim),
    with_dim(unique=True),
    lambda x, dim, keepdim: np.argmin(x, axis=_dims(dim, x.ndim), keepdims=keepdim and x.ndim > 0),
    lambda t, x, dim, keepdim: x.argmin(dim=dim, keepdim=keepdim),
    differentiable=False,
    covers=["Tensor.argmin"],
)
register_op(
    "logsumexp",
    lambda x, dim, keepdim: x.logsumexp(dim, keepdim),
    with_dim(tuples=True, none=False),
    lambda x, dim, keepdim: np.log(np.exp(x).sum(axis=_dims(dim, x.ndim), keepdims=keepdim)),
    lambda t, x, dim, keepdim: x.logsumexp(dim, keepdim),
    covers=["Tensor.logsumexp"],
)
register_op(
    "cumsum",
    lambda x, dim: x.cumsum(dim),
    with_dim(keepdim=False, none=False, min_side=0),
    lambda x, dim: np.cumsum(x, axis=dim) if x.ndim else x,
    lambda t, x, dim: x.cumsum(dim),
    covers=["Tensor.cumsum"],
)
register_op(
    "cumprod",
    lambda x, dim: x.cumprod(dim),
    with_dim(keepdim=False, none=False, max_side=3),
    lambda x, dim: np.cumprod(x, axis=dim) if x.ndim else x,
    lambda t, x, dim: x.cumprod(dim),
    covers=["Tensor.cumprod"],
)
register_op(
    "cumprod_with_zeros",
    lambda x, dim: x.cumprod(dim),
    with_dim(keepdim=False, none=False, max_side=3).map(_with_zeros),
    lambda x, dim: np.cumprod(x, axis=dim) if x.ndim else x,
    lambda t, x, dim: x.cumprod(dim),
)
register_op(
    "all_any",
    lambda x, dim, keepdim: (x.relu().all(dim, keepdim), x.relu().any(dim=dim, keepdim=keepdim))[dim is None],
    with_dim(tuples=True, min_side=0),
    lambda x, dim, keepdim: (np.all if dim is not None else np.any)(
        np.maximum(x, 0), axis=_dims(dim, x.ndim), keepdims=keepdim
    ),
    differentiable=False,
    covers=["Tensor.all", "Tensor.any"],
)
register_op(
    "sort",
    lambda x, dim, descending: x.sort(dim, descending).values,
    with_dim(unique=True, keepdim=False, none=False).map(
        lambda s: Sample(s.inputs, {**s.kwargs, "descending": s.inputs[0].size % 2 == 0})
    ),
    _sort,
    lambda t, x, dim, descending: x.sort(dim=dim, descending=descending).values,
    covers=["Tensor.sort"],
)
register_op(
    "argsort",
    lambda x, dim, descending: x.argsort(dim, descending),
    with_dim(unique=True, keepdim=False, none=False).map(
        lambda s: Sample(s.inputs, {**s.kwargs, "descending": s.inputs[0].size % 2 == 0})
    ),
    lambda x, dim, descending: x.astype(np.int64) * 0 if x.ndim == 0 else np.argsort(-x if descending else x, axis=dim),
    lambda t, x, dim, descending: x.argsort(dim=dim, descending=descending),
    differentiable=False,
    covers=["Tensor.argsort"],
)
register_op(
    "topk",
    lambda x, k, dim, largest: x.topk(k, dim, largest).values,
    _topks(),
    _topk,
    lambda t, x, k, dim, largest: x.topk(k, dim, largest).values,
    covers=["Tensor.topk"],
)
register_op(
    "softmax",
    lambda x, dim: F.softmax(x, dim),
    with_dim(min_dims=1, keepdim=False, none=False),
    lambda x, dim: np.exp(_log_softmax(x, dim)),
    lambda t, x, dim: x.softmax(dim),
    covers=["Tensor.softmax", "nn.functional.softmax"],
)
register_op(
    "log_softmax",
    lambda x, dim: F.log_softmax(x, dim=dim),
    with_dim(min_dims=1, keepdim=False, none=False),
    _log_softmax,
    lambda t, x, dim: x.log_softmax(dim),
    covers=["Tensor.log_softmax", "nn.functional.log_softmax"],
)

# ----- matrix products -----------------------------------------------------------------

register_op(
    "matmul",
    lambda a, b: a @ b,
    _matmuls(),
    np.matmul,
    lambda t, a, b: a @ b,
    mixes_dtypes=False,
    covers=["Tensor.__matmul__"],
)
register_op(
    "matmul_method_and_array_on_the_left",
    lambda a, b: a.matmul(b) + np.ones((1, a.shape[0]), a.dtype) @ (a @ b),
    _pair(lambda n, k, p, b: (n, k), lambda n, k, p, b: (k, p)),
    lambda a, b: a @ b + np.ones((1, a.shape[0])) @ (a @ b),
    mixes_dtypes=False,
    covers=["Tensor.matmul", "Tensor.__rmatmul__"],
)
register_op(
    "mm",
    lambda a, b: a.mm(b),
    _pair(lambda n, k, p, b: (n, k), lambda n, k, p, b: (k, p)),
    np.matmul,
    lambda t, a, b: a.mm(b),
    mixes_dtypes=False,
    covers=["Tensor.mm"],
)
register_op(
    "bmm",
    lambda a, b: a.bmm(b),
    _pair(lambda n, k, p, b: (b, n, k), lambda n, k, p, b: (b, k, p)),
    np.matmul,
    lambda t, a, b: a.bmm(b),
    mixes_dtypes=False,
    covers=["Tensor.bmm"],
)
register_op(
    "dot",
    lambda a, b: a.dot(b),
    _pair(lambda n, k, p, b: (k,), lambda n, k, p, b: (k,)),
    np.dot,
    lambda t, a, b: a.dot(b),
    mixes_dtypes=False,
    covers=["Tensor.dot"],
)
register_op(
    "mv",
    lambda a, b: a.mv(b),
    _pair(lambda n, k, p, b: (n, k), lambda n, k, p, b: (k,)),
    np.matmul,
    lambda t, a, b: a.mv(b),
    mixes_dtypes=False,
    covers=["Tensor.mv"],
)
register_op(
    "outer",
    lambda a, b: a.outer(b),
    _pair(lambda n, k, p, b: (n,), lambda n, k, p, b: (p,)),
    np.outer,
    lambda t, a, b: a.outer(b),
    covers=["Tensor.outer"],
)
register_op(
    "einsum",
    lambda *operands, equation: einsum(equation, *operands),
    _einsums(),
    lambda *operands, equation: np.einsum(equation, *operands),
    lambda t, *operands, equation: t.einsum(equation, *operands),
    mixes_dtypes=False,
    covers=["einsum"],
)

#: Public Tensor names of this area that are not ops.
NOT_OPS: frozenset[str] = frozenset()
