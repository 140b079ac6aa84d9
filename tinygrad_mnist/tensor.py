"""The Tensor: an ``np.ndarray`` that records the ops applied to it, PyTorch's way.

Every op applied to a tensor that requires a gradient records a node (an
``autograd.Function``) whose ``parents`` point at the nodes (or leaf tensors) it
consumed; ``backward()`` hands the graph to the autograd engine. The methods here are
one line each: the ops and their gradients live in ``ops/``, the graph walk in
``autograd/``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np

from . import ops
from .autograd import engine, grad_mode
from .autograd.function import Function
from .ops.reduce import normalize_axes

ArrayLike = Any


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Forget the gradients of ``params``: ``None``, or zeros with ``set_to_none=False``.

    What both ``Module.zero_grad`` and ``Optimizer.zero_grad`` do, over their own parameters.
    """
    for param in params:
        if set_to_none or param.grad is None:
            param.grad = None
        else:
            with grad_mode.no_grad():
                param.grad = param.grad.detach().zero_()  # in place, as PyTorch; cut from any graph


def _data_of(value: ArrayLike) -> Any:
    """A Tensor's array, or the value itself."""
    return value._data if isinstance(value, Tensor) else value


def _as_array(value: ArrayLike, dtype: Any = None) -> np.ndarray:
    """Convert user data: float arrays keep their dtype, Python numbers and lists become float32."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        return array if dtype is None else array.astype(dtype, copy=False)
    return np.asarray(value, dtype=np.float32 if dtype is None else dtype)


class Size(tuple):
    """A tensor's shape, PyTorch's ``torch.Size``: a tuple of ints that prints as one and counts its elements."""

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self) -> str:
        return f"tinygrad_mnist.Size([{', '.join(map(str, self))}])"

    __str__ = tuple.__repr__  # error messages name shapes as tuples: "(2, 3)"


#: In-place arithmetic: method name -> (the NumPy ufunc that writes in place, the op recorded in a graph).
_IN_PLACE: dict[str, tuple[np.ufunc, type[Function]]] = {
    "add_": (np.add, ops.Add),
    "sub_": (np.subtract, ops.Sub),
    "mul_": (np.multiply, ops.Mul),
    "div_": (np.true_divide, ops.Div),
}


class Tensor:
    """An n-dimensional array that records the ops applied to it for ``backward()``."""

    __array_priority__ = 1000  # make ``ndarray * Tensor`` call Tensor.__rmul__
    # Defaults for what ``_wrap`` leaves unset, so that making the engine's tensors costs less.
    grad: Tensor | None = None
    _op: Function | None = None
    requires_grad = False

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> None:
        self._data: np.ndarray = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._op: Function | None = None
        self._versions = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _wrap(data: np.ndarray | np.generic) -> Tensor:
        """A leaf tensor around an array the engine made: no conversion or checks, unlike ``__init__``."""
        out = Tensor.__new__(Tensor)
        out._data = data if type(data) is np.ndarray else np.asarray(data)
        out._versions = [0]
        return out

    def _lift(self, other: ArrayLike) -> Tensor:
        """Turn a Python number or array on the other side of an op into a constant tensor.

        Numbers take a float tensor's dtype, so ``x * np.float64(0.5)`` never upcasts float32.
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, int | float | np.number) and np.issubdtype(self._data.dtype, np.floating):
            return Tensor._wrap(np.asarray(other, dtype=self._data.dtype))
        return Tensor(other)

    # ----- autograd -----------------------------------------------------------------------

    def backward(
        self,
        gradient: ArrayLike | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Tensor | Iterable[Tensor] | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (or only into ``inputs``' ``.grad``).

        ``gradient`` is the upstream gradient; it may be left out only for a single-element
        tensor. The graph is freed afterwards unless ``retain_graph`` (which defaults to
        ``create_graph``). With ``create_graph=True`` the backward pass is recorded, so the
        ``.grad`` it leaves can be differentiated again.
        """
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def _accumulate(self, grad: Tensor, owned: bool, create_graph: bool) -> None:
        """Add ``grad`` to ``.grad`` (``None`` until the first backward, as in PyTorch).

        A first gradient is kept as it is when ``owned`` (the engine made it and no one else
        holds it); otherwise it is cloned (recorded under ``create_graph``), so no two ``.grad``
        share an array. Later gradients are added in place, or into a new sum, recorded under
        ``create_graph``, when either side carries a graph.
        """
        if self.grad is None:
            self.grad = grad if owned else grad.clone()
        elif create_graph or self.grad.requires_grad:  # a recorded sum, or no in-place change of a graph
            self.grad = self.grad + grad
        else:
            self.grad.add_(grad)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during the next backward."""
        if self._op is not None:
            self._op.retained = weakref.ref(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf tensor as wanting a gradient; returns self."""
        if self._op is not None and not requires_grad:
            raise RuntimeError("requires_grad_: a non-leaf tensor cannot stop requiring grad; use detach()")
        if requires_grad and not np.issubdtype(self._data.dtype, np.floating):
            raise TypeError(f"only floating-point tensors can require gradients, this one is {self._data.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and its version counter), cut off from the graph."""
        out = Tensor._wrap(self._data)
        out._versions = self._versions
        return out

    @property
    def data(self) -> Tensor:
        """The values as a new leaf sharing this tensor's memory, outside the graph (PyTorch's ``.data``).

        Changes through it are not seen by autograd: ``p.data -= lr * p.grad`` updates a
        parameter in place with no error and no version bump. Assigning replaces the values.
        """
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: ArrayLike) -> None:
        self._data = _as_array(value)

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def grad_fn(self) -> Function | None:
        """The node (an ``autograd.Function``) that produced this tensor, ``None`` for leaves."""
        return self._op

    # ----- in-place arithmetic (PyTorch's semantics) -------------------------------------

    @property
    def _version(self) -> int:
        """How many times this tensor's data was changed in place (PyTorch's ``_version``); views share it."""
        return self._versions[0]

    def add_(self, other: ArrayLike, alpha: float = 1) -> Tensor:
        """``self += alpha * other`` in this tensor's own array; returns self."""
        return self._update_in_place("add_", other if alpha == 1 else other * alpha)

    def sub_(self, other: ArrayLike, alpha: float = 1) -> Tensor:
        """``self -= alpha * other`` in this tensor's own array; returns self."""
        return self._update_in_place("sub_", other if alpha == 1 else other * alpha)

    def mul_(self, other: ArrayLike) -> Tensor:
        """``self *= other`` in this tensor's own array; returns self."""
        return self._update_in_place("mul_", other)

    def div_(self, other: ArrayLike) -> Tensor:
        """``self /= other`` in this tensor's own array; returns self."""
        return self._update_in_place("div_", other)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def fill_(self, value: float) -> Tensor:
        """Set every element to ``value`` (cast to this tensor's dtype); returns self."""
        return self._assign_in_place("fill_", value)

    def zero_(self) -> Tensor:
        """Set every element to 0; returns self."""
        return self._assign_in_place("zero_", 0)

    def copy_(self, src: ArrayLike) -> Tensor:
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor's array; returns self."""
        return self._assign_in_place("copy_", src)

    def _update_in_place(self, name: str, other: ArrayLike) -> Tensor:
        """Apply ``name``'s op with ``other`` and write the result into ``self._data``.

        Where a graph is recorded, the op is recorded on a snapshot of the old value and this
        tensor takes the op as its ``grad_fn``, as PyTorch rebases an in-place op's history;
        ops that saved the old array see the version change and refuse to backpropagate.
        Optimizers call this once per parameter per step, so the plain path is kept short.
        """
        ufunc, op = _IN_PLACE[name]
        recorded = grad_mode.enabled and self._records_with(name, other)
        if recorded:
            snapshot = Tensor._wrap(self._data.copy())
            snapshot._op, snapshot.requires_grad = self._op, self.requires_grad
            result = op.apply(snapshot, self._lift(other))
        try:
            if recorded:
                np.copyto(self._data, result._data, casting="same_kind")
                self._op, self.requires_grad = result._op, True
            else:
                ufunc(self._data, other._data if type(other) is Tensor else _data_of(other), out=self._data)
        except (TypeError, ValueError) as error:
            raise self._in_place_error(name, other, error) from None
        self._versions[0] += 1
        return self

    def _assign_in_place(self, name: str, value: ArrayLike) -> Tensor:
        """Overwrite ``self._data`` with ``value``, which a recorded graph cannot follow."""
        if self._records_with(name, value):
            raise RuntimeError(
                f"{name}: this tensor is part of a recorded graph, which an overwrite would cut; "
                f"call {name} under no_grad(), or make a new tensor instead"
            )
        try:
            np.copyto(self._data, _data_of(value), casting="unsafe")
        except (TypeError, ValueError) as error:
            raise self._in_place_error(name, value, error) from None
        self._versions[0] += 1
        return self

    def _records_with(self, name: str, other: ArrayLike) -> bool:
        """Whether an in-place op with ``other`` must be recorded; PyTorch's error for a leaf that requires grad."""
        if not (grad_mode.enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))):
            return False
        if self._op is None and self.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place operation. "
                "Update parameters under no_grad() (as optimizers do), or write x = x op y for a new tensor"
            )
        return True

    def _in_place_error(self, name: str, other: ArrayLike, error: Exception) -> Exception:
        """NumPy's refusal to write a result in place, said in this tensor's terms."""
        if not self._data.flags.writeable:
            return ValueError(f"{name}: this tensor's array is read-only; make a writable copy first")
        if isinstance(error, TypeError):  # NumPy's casting refusal, e.g. a float result into an integer tensor
            return TypeError(
                f"{name}: the result ({np.result_type(self._data, _data_of(other))}) cannot be written in place "
                f"into this {self.dtype} tensor; write x = x op y for a new tensor"
            )
        return ValueError(
            f"{name}: a result broadcast from shapes {self.shape} and {np.shape(_data_of(other))} does not fit "
            f"in place into this tensor of shape {self.shape}"
        )

    # ----- plain-array views ------------------------------------------------------

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def item(self) -> float | int:
        """The value of a single-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only a single-element tensor has one value, this one has shape {self.shape}")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """NumPy's view of this tensor: ``np.asarray(t)`` is ``t.numpy()``."""
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Indices of the maxima (no gradient): ``logits.argmax(1)`` gives class ids."""
        return Tensor(np.argmax(self._data, axis=axis))

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20, prefix="Tensor(")
        extra = f", dtype={self.dtype}"
        if self._op is not None:
            extra += f", grad_fn={self._op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ----- arithmetic -------------------------------------------------------------

    def __add__(self, other: ArrayLike) -> Tensor:
        return ops.Add.apply(self, self._lift(other))

    def __radd__(self, other: ArrayLike) -> Tensor:
        return ops.Add.apply(self._lift(other), self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return ops.Sub.apply(self, self._lift(other))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return ops.Sub.apply(self._lift(other), self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return ops.Mul.apply(self, self._lift(other))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return ops.Mul.apply(self._lift(other), self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return ops.Div.apply(self, self._lift(other))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return ops.Div.apply(self._lift(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: float) -> Tensor:
        if not isinstance(exponent, int | float):
            raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}")
        return ops.Pow.apply(self, exponent)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return ops.MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return ops.MatMul.apply(self._lift(other), self)

    def matmul(self, other: ArrayLike) -> Tensor:
        return self @ other

    # ----- elementwise functions --------------------------------------------------

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    # ----- reductions and broadcasting ----------------------------------------------

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        count = int(np.prod([self.shape[a] for a in normalize_axes(axis, self.ndim)]))
        return self.sum(axis, keepdims) / count

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.Max.apply(self, axis, keepdims)

    def expand(self, *shape: int | tuple[int, ...]) -> Tensor:
        """This tensor broadcast to ``shape`` (a view, no copy); its gradient is summed back."""
        return ops.Expand.apply(self, _shape_argument(shape))

    def sum_to_size(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Sum this tensor down to ``shape``, which it must broadcast from: what undoes broadcasting."""
        target = _shape_argument(shape)
        if self.shape == target:
            return self
        extra = self.ndim - len(target)
        if extra < 0 or any(n not in (1, m) for n, m in zip(target, self.shape[extra:], strict=True)):
            raise ValueError(f"sum_to_size: a tensor of shape {self.shape} cannot be summed to {target}")
        axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(target) if n == 1 != self.shape[extra + i])
        return self.sum(axes, keepdims=True).reshape(target) if axes else self.reshape(target)

    # ----- movement and dtype ---------------------------------------------------------

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        return self._view(ops.Reshape.apply(self, _shape_argument(shape)))

    def permute(self, *dims: int | tuple[int, ...]) -> Tensor:
        """The dims reordered (a view): ``x.permute(0, 2, 3, 1)`` turns NCHW into NHWC."""
        return self._view(ops.Permute.apply(self, _shape_argument(dims)))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Dims ``dim0`` and ``dim1`` swapped (a view), PyTorch's; ``permute`` reorders all of them."""
        dims = list(range(self.ndim))
        a, b = (ops.movement.normalize_dim(d, self.ndim, "transpose") for d in (dim0, dim1))
        if self.ndim:
            dims[a], dims[b] = dims[b], dims[a]
        return self.permute(dims)

    def _view(self, out: Tensor) -> Tensor:
        """``out``, sharing this tensor's version counter when its array is a view of this one's, as in PyTorch."""
        base = out._data.base
        if base is not None and (base is self._data or base is self._data.base):
            out._versions = self._versions
        return out

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """All dims reversed."""
        return self.permute(tuple(range(self.ndim))[::-1])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims ``start_dim..end_dim`` merged into one (PyTorch's default: all of them; a 0-d tensor gives (1,))."""
        start, end = (ops.movement.normalize_dim(d, self.ndim, "flatten") for d in (start_dim, end_dim))
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        return self.reshape(*self.shape[:start], int(np.prod(self.shape[start : end + 1])), *self.shape[end + 1 :])

    def clone(self) -> Tensor:
        """A copy with an array of its own; the gradient flows back to this tensor."""
        return ops.Clone.apply(self)

    def to(self, dtype: Any) -> Tensor:
        """This tensor in another dtype (itself if it already has it); the gradient flows back converted."""
        return self if self._data.dtype == np.dtype(dtype) else ops.Cast.apply(self, np.dtype(dtype))

    def float(self) -> Tensor:
        """``to(float32)``."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """``to(float64)``."""
        return self.to(np.float64)

    # ----- shapes ---------------------------------------------------------------------

    def size(self, dim: int | None = None) -> Size | int:
        """The shape (a ``Size``), or the length of dim ``dim`` (PyTorch's; ``numel()`` counts the elements)."""
        return self.shape if dim is None else self._data.shape[ops.movement.normalize_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    nelement = numel

    def tolist(self) -> Any:
        """The values as (nested lists of) Python numbers; a 0-d tensor gives a number."""
        return self._data.tolist()

    def detach_(self) -> Tensor:
        """Cut this tensor from its graph in place: it becomes a leaf that does not require grad."""
        self._op, self.requires_grad = None, False
        return self

    def contiguous(self) -> Tensor:
        """This tensor if its memory is in row-major order, else a row-major copy (recorded)."""
        return self if self.is_contiguous() else ops.Clone.apply(self)

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def _scalar(self, kind: type) -> Any:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return kind(self._data.reshape(-1)[0])

    def __float__(self) -> float:
        return self._scalar(float)

    def __int__(self) -> int:
        return self._scalar(int)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self._data.reshape(-1)[0])

    def __index__(self) -> int:
        if self._data.size != 1 or not np.issubdtype(self._data.dtype, np.integer):
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(-1)[0])

    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``); others as ``str``, PyTorch's."""
        return format(self.item(), format_spec) if self._data.ndim == 0 else object.__format__(self, format_spec)

    def __iter__(self) -> Any:
        """The slices along the first dim, each a tensor connected to the graph (``unbind(0)``)."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))


    def view(self, *shape: int | tuple[int, ...]) -> Tensor:
        """``reshape`` that must not copy: the result shares this tensor's memory (PyTorch's ``view``)."""
        out = self.reshape(*shape)
        if self._data.size and not np.shares_memory(out._data, self._data):
            raise RuntimeError(
                f"view: a tensor of shape {self.shape} with strides {self._data.strides} cannot be viewed as "
                f"{out.shape} without a copy; use .reshape(...) or .contiguous().view(...)"
            )
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def unflatten(self, dim: int, sizes: tuple[int, ...]) -> Tensor:
        """Dim ``dim`` split into ``sizes`` (one of them may be -1)."""
        d = ops.movement.normalize_dim(dim, self.ndim, "unflatten")
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1 :])

    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        """Dims of size 1 removed: all of them, or those of ``dim`` (others are left, as PyTorch)."""
        dims = range(self.ndim) if dim is None else _dims_argument(dim, self.ndim, "squeeze")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        """A dim of size 1 inserted at ``dim`` (in ``[-ndim - 1, ndim]``)."""
        d = ops.movement.normalize_dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(*self.shape[:d], 1, *self.shape[d:])

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def t(self) -> Tensor:
        """The transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.T

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped: a batch of transposed matrices."""
        if self.ndim < 2:
            raise RuntimeError(f"mT: tensor.mT is only supported on matrices or batches of matrices, got {self.ndim}-D")
        return self.transpose(-2, -1)

    def movedim(self, source: int, destination: int) -> Tensor:
        """Dim ``source`` moved to position ``destination``, the others keeping their order."""
        order = list(range(self.ndim))
        order.insert(ops.movement.normalize_dim(destination, self.ndim, "movedim"), order.pop(source))
        return self.permute(order)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """Elements ``start:start + length`` along ``dim`` (a view sharing memory)."""
        d = ops.movement.normalize_dim(dim, self.ndim, "narrow")
        start = start + self.shape[d] if start < 0 else start
        if not (start >= 0 and length >= 0 and start + length <= self.shape[d]):
            raise IndexError(f"narrow: start {start} + length {length} exceeds dim {dim} of size {self.shape[d]}")
        return self._view(ops.Narrow.apply(self, d, start, length))

    def split(self, split_size_or_sections: int | list[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the listed sizes."""
        d = ops.movement.normalize_dim(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            sizes = [min(step, n - s) for s in range(0, n, step)] if step > 0 else [n]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split: sizes {sizes} sum to {sum(sizes)}, not to dim {dim} of size {n}")
        starts = np.cumsum([0, *sizes]).tolist()
        return tuple(self.narrow(d, start, size) for start, size in zip(starts, sizes, strict=False))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` pieces along ``dim`` of ``ceil(size / chunks)`` each."""
        n = self.shape[ops.movement.normalize_dim(dim, self.ndim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, each without that dim."""
        return tuple(piece.squeeze(dim) for piece in self.split(1, dim)) if self._data.shape[dim] else ()

    def flip(self, *dims: int | tuple[int, ...]) -> Tensor:
        """Elements in reverse order along ``dims`` (a copy)."""
        return ops.Flip.apply(self, _dims_argument(_shape_argument(dims), self.ndim, "flip"))

    def roll(self, shifts: int | tuple[int, ...], dims: int | tuple[int, ...] | None = None) -> Tensor:
        """Elements shifted by ``shifts`` along ``dims``, wrapping around (over the flattened tensor without dims)."""
        if dims is None:
            return self.flatten().roll(shifts, 0).view(self.shape)
        out = self
        for shift, dim in zip(np.atleast_1d(shifts).tolist(), np.atleast_1d(dims).tolist(), strict=True):
            n = self.shape[ops.movement.normalize_dim(dim, self.ndim, "roll")]
            if n:
                out = cat(out.split([n - shift % n, shift % n], dim)[::-1], dim)
        return out

    def repeat(self, *sizes: int | tuple[int, ...]) -> Tensor:
        """This tensor tiled ``sizes[i]`` times along dim ``i`` (extra leading sizes add dims)."""
        sizes = _shape_argument(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: {len(sizes)} repeats given for a tensor of {self.ndim} dims {self.shape}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        pairs = tuple(x for n in shape for x in (1, n))
        tiled = self.reshape(pairs).expand(tuple(x for r, n in zip(sizes, shape, strict=True) for x in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape, strict=True)))

    def tile(self, *dims: int | tuple[int, ...]) -> Tensor:
        """``repeat`` with too few sizes padded with leading 1s."""
        dims = _shape_argument(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (elements above ``diagonal`` zeroed)."""
        return self * Tensor(np.tri(*self.shape[-2:], diagonal, dtype=bool))

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (elements below ``diagonal`` zeroed)."""
        return self * Tensor(~np.tri(*self.shape[-2:], diagonal - 1, dtype=bool))

    # ----- convolution and pooling (NCHW) ---------------------------------------------

    def conv2d(
        self,
        weight: Tensor,
        bias: Tensor | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
    ) -> Tensor:
        """2-D convolution of (N, C_in, H, W) images with a (C_out, C_in, kh, kw) weight."""
        return ops.conv2d(self, weight, bias, stride, padding)

    def max_pool2d(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> Tensor:
        return ops.max_pool2d(self, kernel_size, stride, padding)

    def avg_pool2d(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> Tensor:
        return ops.avg_pool2d(self, kernel_size, stride, padding)

    # ----- softmax and loss -------------------------------------------------------

    def softmax(self, axis: int = -1) -> Tensor:
        return ops.Softmax.apply(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return ops.LogSoftmax.apply(self, axis)

    def cross_entropy(self, target: ArrayLike) -> Tensor:
        """Mean softmax cross-entropy of these (batch, classes) logits; see ``cross_entropy``."""
        return cross_entropy(self, target)


def _shape_argument(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` alike: the shape as a tuple of ints."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else tuple(shape)


def _dims_argument(dims: int | tuple[int, ...], ndim: int, name: str) -> tuple[int, ...]:
    """One dim or several as a tuple of dims in ``range(ndim)``, or PyTorch's errors."""
    dims = tuple(ops.movement.normalize_dim(d, ndim, name) for d in np.atleast_1d(dims).tolist())
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{name}: dim {dims} appears multiple times in the list of dims")
    return dims


def cat(tensors: Iterable[Tensor], dim: int = 0) -> Tensor:
    """The tensors joined along ``dim``; all other dims must match. Empty 1-d tensors are skipped, as PyTorch."""
    given = list(tensors)
    tensors = [t for t in given if t.shape != (0,)] or given[:1]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    d = ops.movement.normalize_dim(dim, tensors[0].ndim, "cat")
    for i, t in enumerate(tensors):
        rest = tensors[0].shape[:d] + tensors[0].shape[d + 1 :]
        if t.ndim != tensors[0].ndim or t.shape[:d] + t.shape[d + 1 :] != rest:
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {dim}: tensor 0 has shape {tensors[0].shape}, "
                f"tensor {i} has {t.shape}"
            )
    floats = [t._data for t in given if np.issubdtype(t._data.dtype, np.floating)]
    dtype = np.result_type(*(floats or [t._data for t in given]))  # PyTorch's: an int joins a float as the float
    return ops.Concat.apply(d, *(t.to(dtype) for t in tensors))


def stack(tensors: Iterable[Tensor], dim: int = 0) -> Tensor:
    """The tensors, all of one shape, joined along a new dim ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of Tensors")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise RuntimeError(f"stack: expects each tensor to be equal size, got {[t.shape for t in tensors]}")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


concat = concatenate = cat


def hstack(tensors: Iterable[Tensor]) -> Tensor:
    """``cat`` along dim 1, or along dim 0 for 1-d tensors."""
    tensors = list(tensors)
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors: Iterable[Tensor]) -> Tensor:
    """``cat`` along dim 0 of the tensors made at least 2-d."""
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one op: input (m, in), weight (out, in), bias (out,) or None.

    Same values and gradients as the three-op expression, with one output-sized
    array instead of two and a third of the bookkeeping.
    """
    return ops.Linear.apply(input, weight) if bias is None else ops.Linear.apply(input, weight, bias)


def cross_entropy(logits: Tensor, target: ArrayLike) -> Tensor:
    """Mean over the batch of the softmax cross-entropy, fused for stability and speed.

    ``target`` holds class ids, shape (m,), or one-hot rows, shape (m, C). The
    gradient with respect to the logits is ``(softmax(logits) - onehot) / m``.
    """
    return ops.CrossEntropy.apply(logits, np.asarray(_data_of(target)))
