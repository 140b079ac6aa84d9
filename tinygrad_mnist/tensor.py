"""The Tensor and the reverse-mode autodiff engine.

A Tensor wraps an ``np.ndarray``. Every op applied to a tensor that requires a
gradient records an ``Op`` node whose ``parents`` point at the nodes (or leaf
tensors) it consumed. The graph holds only leaves and what ops saved, never the
intermediate tensors themselves, so memory falls as soon as user code drops them.
``backward()`` walks the nodes in reverse topological order, sums each gradient
back to its input's shape, and accumulates into the leaves' ``.grad``.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from . import ops
from .ops import Op

ArrayLike = Any
F = TypeVar("F", bound=Callable[..., Any])

_grad_enabled = True


class no_grad:  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside record no graph (evaluation, updates)."""

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def is_grad_enabled() -> bool:
    """Whether ops are being recorded right now (False inside ``no_grad``)."""
    return _grad_enabled


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient back to ``shape``: over extra leading axes and over axes that were 1.

    This is the one place broadcasting is undone; the engine applies it to every edge.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _fit(grad: np.ndarray | np.generic, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``grad`` as an ``np.ndarray``, summed back to ``shape`` and cast to ``dtype``; itself when it already fits.

    NumPy arithmetic on 0-d arrays returns NumPy scalars, on which ``+=`` rebinds a name
    instead of writing an array: every gradient the engine holds is made an array here.
    """
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != shape:
        grad = unbroadcast(grad, shape)
    return grad if grad.dtype == dtype else grad.astype(dtype)


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Forget the gradients of ``params``: ``None``, or zeros with ``set_to_none=False``.

    What both ``Module.zero_grad`` and ``Optimizer.zero_grad`` do, over their own parameters.
    """
    for param in params:
        if set_to_none or param.grad is None:
            param.grad = None
        else:
            param.grad.data = np.zeros_like(param.grad.data)


def topological_order(root: Op) -> list[Op]:
    """Every op reachable from ``root``, each after all ops that consume its output.

    Iterative (no recursion limit): the root comes first, leaves' consumers last.
    Both ``backward()`` and the graph pictures walk this order.
    """
    order: list[Op] = []
    visited = {id(root)}
    stack: list[tuple[Op, Iterator[Any]]] = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if isinstance(parent, Op) and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def _saved_versions(saved: tuple[Any, ...], tensors: tuple[Tensor, ...]) -> tuple[tuple[int, list[int], int], ...]:
    """For each of an op's inputs (and, last, its output) whose array it saved: (position, counter, version now).

    ``backward`` compares each counter with the version remembered here, so a saved tensor
    changed in place afterwards is an error instead of a wrong gradient.
    """
    found = []
    for position, t in enumerate(tensors):
        data = t.data
        for array in saved:
            if array is data:
                found.append((position, t._versions, t._versions[0]))
                break
    return tuple(found)


def _check_saved_versions(op: Op) -> None:
    """Raise PyTorch's error when a tensor ``op`` saved for backward was modified in place since."""
    for position, counter, version in op.saved_versions:
        if counter[0] != version:
            which = "its output" if position == len(op.parents) else f"its input {position}"
            raise RuntimeError(
                "backward: one of the variables needed for gradient computation has been modified by an "
                f"in-place operation: {op.name} saved {which} at version {version}, and it is now at version "
                f"{counter[0]}. Write x = x + y instead of x += y where an op still needs x"
            )


#: In-place arithmetic: method name -> (the NumPy ufunc that writes in place, the op recorded in a graph).
_IN_PLACE: dict[str, tuple[np.ufunc, type[Op]]] = {
    "add_": (np.add, ops.Add),
    "sub_": (np.subtract, ops.Sub),
    "mul_": (np.multiply, ops.Mul),
    "div_": (np.true_divide, ops.Div),
}


def _data_of(value: ArrayLike) -> Any:
    """A Tensor's array, or the value itself."""
    return value.data if isinstance(value, Tensor) else value


def _as_array(value: ArrayLike, dtype: Any = None) -> np.ndarray:
    """Convert user data: float arrays keep their dtype, Python numbers and lists become float32."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        return array if dtype is None else array.astype(dtype, copy=False)
    return np.asarray(value, dtype=np.float32 if dtype is None else dtype)


class Tensor:
    """An n-dimensional array that records the ops applied to it for ``backward()``."""

    __array_priority__ = 1000  # make ``ndarray * Tensor`` call Tensor.__rmul__

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data: np.ndarray = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self._op: Op | None = None
        self._versions = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_()

    # ----- recording --------------------------------------------------------------

    @staticmethod
    def _apply(op: Op, *inputs: Tensor) -> Tensor:
        """Run ``op`` forward on the inputs' arrays and record it if a gradient is needed.

        This runs once per op, so it is kept to a few attribute reads and writes.
        """
        needs = tuple([t.requires_grad for t in inputs])
        record = _grad_enabled and True in needs
        op.needs_input_grad = needs if record else (False,) * len(needs)
        out = Tensor._wrap(op.forward(*[t.data for t in inputs]))
        if record:
            op.parents = tuple([t if t._op is None else t._op for t in inputs])
            op.out_shape, op.out_dtype = out.data.shape, out.data.dtype
            out._op, out.requires_grad = op, True
            if op.saved:
                op.saved_versions = _saved_versions(op.saved, (*inputs, out))
        return out

    @staticmethod
    def _wrap(data: np.ndarray | np.generic) -> Tensor:
        """A leaf tensor around an array the engine made: no conversion or checks, unlike ``__init__``."""
        out = Tensor.__new__(Tensor)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad, out._op, out._versions, out.requires_grad = None, None, [0], False
        return out

    def _lift(self, other: ArrayLike) -> Tensor:
        """Turn a Python number or array on the other side of an op into a constant tensor.

        Numbers take a float tensor's dtype, so ``x * np.float64(0.5)`` never upcasts float32.
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, int | float | np.number) and np.issubdtype(self.data.dtype, np.floating):
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    # ----- backward ---------------------------------------------------------------

    def backward(self, gradient: ArrayLike | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` that requires it.

        ``gradient`` is the upstream gradient; it may be left out only for a
        single-element tensor. The saved arrays are freed afterwards unless
        ``retain_graph=True``. A gradient array that no one else holds (not the caller's
        ``gradient``, not handed to two inputs) is summed into and overwritten in place
        instead of copied; a ``.grad`` takes such an array as it is and copies any other,
        so, as in PyTorch, no two ``.grad`` share an array, nor a ``.grad`` and ``gradient``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; "
                "create its inputs with requires_grad=True (and not inside no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be created implicitly only for a single-element "
                    f"tensor, this one has shape {self.shape}; pass gradient= of that shape"
                )
            seed = np.ones_like(self.data)
        else:
            seed = _as_array(gradient, self.data.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: gradient has shape {seed.shape}, expected {self.shape}")
        if self._op is None:
            self._accumulate(seed, owned=gradient is None)
            return
        grads: dict[int, np.ndarray] = {id(self._op): seed}
        # The ops whose pending gradient no one else holds: their backward may overwrite it.
        owned: set[int] = {id(self._op)} if gradient is None else set()
        for op in topological_order(self._op):
            grad = grads.pop(id(op), None)
            if op.released:
                raise RuntimeError(
                    f"backward: the graph through {op.name} was already freed by an earlier "
                    "backward(); pass retain_graph=True to the first call to go through it twice"
                )
            if grad is None:  # every consumer of this op's output returned None for it
                continue
            if op.saved_versions:
                _check_saved_versions(op)
            if op.retained is not None and (kept := op.retained()) is not None:
                kept._accumulate(grad)  # a copy: the op below may still overwrite grad
            op.may_overwrite_grad = grad_is_ours = id(op) in owned
            parent_grads = op.backward(grad)
            for parent, needs, parent_grad in zip(op.parents, op.needs_input_grad, parent_grads, strict=True):
                if not needs or parent_grad is None:
                    continue
                is_leaf = isinstance(parent, Tensor)
                target = (parent.data.shape, parent.data.dtype) if is_leaf else (parent.out_shape, parent.out_dtype)
                fitted = _fit(parent_grad, *target)
                exclusive = fitted is not parent_grad or (
                    (grad_is_ours if parent_grad is grad else op.returns_new_arrays)
                    and sum(g is parent_grad for g in parent_grads) == 1
                )
                if is_leaf:
                    parent._accumulate(fitted, owned=exclusive)
                    continue
                key = id(parent)
                previous = grads.get(key)
                if previous is None:
                    grads[key] = fitted
                    if exclusive:
                        owned.add(key)
                elif key in owned:
                    previous += fitted  # the array is ours alone: accumulate in place
                else:
                    grads[key] = np.asarray(previous + fitted)  # an array even when 0-d: += above writes it
                    owned.add(key)
            if not retain_graph:
                op.release()

    def _accumulate(self, grad: np.ndarray, owned: bool = False) -> None:
        """Add to ``.grad`` (PyTorch semantics: ``None`` until the first backward).

        A first gradient is kept as it is only when ``owned`` (no one else holds the
        array); otherwise it is copied, so no two ``.grad`` ever share an array.
        """
        if self.grad is None:
            self.grad = Tensor._wrap(grad if owned else grad.copy())
        else:
            self.grad.data = np.asarray(self.grad.data + grad)  # 0-d sums come back as NumPy scalars

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during the next backward."""
        if self._op is not None:
            self._op.retained = weakref.ref(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf tensor as wanting a gradient; returns self."""
        if self._op is not None and not requires_grad:
            raise RuntimeError("requires_grad_: a non-leaf tensor cannot stop requiring grad; use detach()")
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(f"only floating-point tensors can require gradients, this one is {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data (and its version counter), cut off from the graph."""
        out = Tensor(self.data)
        out._versions = self._versions
        return out

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
        """Apply ``name``'s op with ``other`` and write the result into ``self.data``.

        Where a graph is recorded, the op is recorded on a snapshot of the old value and this
        tensor takes the op as its ``grad_fn``, as PyTorch rebases an in-place op's history;
        ops that saved the old array see the version change and refuse to backpropagate.
        Optimizers call this once per parameter per step, so the plain path is kept short.
        """
        ufunc, op = _IN_PLACE[name]
        recorded = self._records_with(name, other)
        if recorded:
            snapshot = Tensor._wrap(self.data.copy())
            snapshot._op, snapshot.requires_grad = self._op, self.requires_grad
            result = Tensor._apply(op(), snapshot, self._lift(other))
        try:
            if recorded:
                np.copyto(self.data, result.data, casting="same_kind")
                self._op, self.requires_grad = result._op, True
            else:
                ufunc(self.data, other.data if isinstance(other, Tensor) else other, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as error:
            raise self._in_place_error(name, other, error) from None
        self._versions[0] += 1
        return self

    def _assign_in_place(self, name: str, value: ArrayLike) -> Tensor:
        """Overwrite ``self.data`` with ``value``, which a recorded graph cannot follow."""
        if self._records_with(name, value):
            raise RuntimeError(
                f"{name}: this tensor is part of a recorded graph, which an overwrite would cut; "
                f"call {name} under no_grad(), or make a new tensor instead"
            )
        try:
            np.copyto(self.data, value.data if isinstance(value, Tensor) else value, casting="unsafe")
        except (TypeError, ValueError) as error:
            raise self._in_place_error(name, value, error) from None
        self._versions[0] += 1
        return self

    def _records_with(self, name: str, other: ArrayLike) -> bool:
        """Whether an in-place op with ``other`` must be recorded; PyTorch's error for a leaf that requires grad."""
        if not (_grad_enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))):
            return False
        if self._op is None and self.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place operation. "
                "Update parameters under no_grad() (as optimizers do), or write x = x op y for a new tensor"
            )
        return True

    def _in_place_error(self, name: str, other: ArrayLike, error: Exception) -> Exception:
        """NumPy's refusal to write a result in place, said in this tensor's terms."""
        if not self.data.flags.writeable:
            return ValueError(f"{name}: this tensor's array is read-only; make a writable copy first")
        if isinstance(error, TypeError):  # NumPy's casting refusal, e.g. a float result into an integer tensor
            return TypeError(
                f"{name}: the result ({np.result_type(self.data, _data_of(other))}) cannot be written in place "
                f"into this {self.dtype} tensor; write x = x op y for a new tensor"
            )
        return ValueError(
            f"{name}: a result broadcast from shapes {self.shape} and {np.shape(_data_of(other))} does not fit "
            f"in place into this tensor of shape {self.shape}"
        )

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def grad_fn(self) -> Op | None:
        """The op that produced this tensor, ``None`` for leaves."""
        return self._op

    # ----- plain-array views ------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def item(self) -> float | int:
        """The value of a single-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a single-element tensor has one value, this one has shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def argmax(self, axis: int | None = None) -> Tensor:
        """Indices of the maxima (no gradient): ``logits.argmax(1)`` gives class ids."""
        return Tensor(np.argmax(self.data, axis=axis))

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, threshold=20, prefix="Tensor(")
        extra = f", dtype={self.dtype}"
        if self._op is not None:
            extra += f", grad_fn={self._op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ----- arithmetic -------------------------------------------------------------

    def __add__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Add(), self, self._lift(other))

    def __radd__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Add(), self._lift(other), self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Sub(), self, self._lift(other))

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Sub(), self._lift(other), self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Mul(), self, self._lift(other))

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Mul(), self._lift(other), self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Div(), self, self._lift(other))

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.Div(), self._lift(other), self)

    def __neg__(self) -> Tensor:
        return Tensor._apply(ops.Neg(), self)

    def __pow__(self, exponent: float) -> Tensor:
        if not isinstance(exponent, int | float):
            raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}")
        return Tensor._apply(ops.Pow(exponent), self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.MatMul(), self, self._lift(other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return Tensor._apply(ops.MatMul(), self._lift(other), self)

    def matmul(self, other: ArrayLike) -> Tensor:
        return self @ other

    # ----- elementwise functions --------------------------------------------------

    def relu(self) -> Tensor:
        return Tensor._apply(ops.ReLU(), self)

    def sigmoid(self) -> Tensor:
        return Tensor._apply(ops.Sigmoid(), self)

    def tanh(self) -> Tensor:
        return Tensor._apply(ops.Tanh(), self)

    def exp(self) -> Tensor:
        return Tensor._apply(ops.Exp(), self)

    def log(self) -> Tensor:
        return Tensor._apply(ops.Log(), self)

    # ----- reductions -------------------------------------------------------------

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._apply(ops.Sum(axis, keepdims), self)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._apply(ops.Mean(axis, keepdims), self)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._apply(ops.Max(axis, keepdims), self)

    # ----- movement ---------------------------------------------------------------

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        target = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return self._view(Tensor._apply(ops.Reshape(target), self))

    def transpose(self, *axes: int) -> Tensor:
        """Permute axes (all reversed when none are given, like ``.T``)."""
        return self._view(Tensor._apply(ops.Transpose(axes or None), self))

    def _view(self, out: Tensor) -> Tensor:
        """``out``, sharing this tensor's version counter when its array is a view of this one's, as in PyTorch."""
        if out.data.base is not None and np.may_share_memory(out.data, self.data):
            out._versions = self._versions
        return out

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        return self.transpose()

    def flatten(self, start_dim: int = 1) -> Tensor:
        """Merge all axes from ``start_dim`` on into one: (m, 1, 28, 28) -> (m, 784)."""
        return self.reshape(*self.shape[:start_dim], -1)

    # ----- convolution and pooling (NCHW) ---------------------------------------------

    def conv2d(
        self,
        weight: Tensor,
        bias: Tensor | None = None,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
    ) -> Tensor:
        """2-D convolution of (N, C_in, H, W) images with a (C_out, C_in, kh, kw) weight."""
        inputs = (self, weight) if bias is None else (self, weight, bias)
        return Tensor._apply(ops.Conv2d(stride, padding), *inputs)

    def max_pool2d(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> Tensor:
        return Tensor._apply(ops.MaxPool2d(kernel_size, stride, padding), self)

    def avg_pool2d(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> Tensor:
        return Tensor._apply(ops.AvgPool2d(kernel_size, stride, padding), self)

    # ----- softmax and loss -------------------------------------------------------

    def softmax(self, axis: int = -1) -> Tensor:
        return Tensor._apply(ops.Softmax(axis), self)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return Tensor._apply(ops.LogSoftmax(axis), self)

    def cross_entropy(self, target: ArrayLike) -> Tensor:
        """Mean softmax cross-entropy of these (batch, classes) logits; see ``cross_entropy``."""
        return cross_entropy(self, target)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one op: input (m, in), weight (out, in), bias (out,) or None.

    Same values and gradients as the three-op expression, with one output-sized
    array instead of two and a third of the bookkeeping.
    """
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return Tensor._apply(ops.Linear(), *inputs)


def cross_entropy(logits: Tensor, target: ArrayLike) -> Tensor:
    """Mean over the batch of the softmax cross-entropy, fused for stability and speed.

    ``target`` holds class ids, shape (m,), or one-hot rows, shape (m, C). The
    gradient with respect to the logits is ``(softmax(logits) - onehot) / m``.
    """
    target_array = target.data if isinstance(target, Tensor) else np.asarray(target)
    return Tensor._apply(ops.CrossEntropy(target_array), logits)
