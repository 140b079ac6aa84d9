"""The Tensor: an ``np.ndarray`` that records the ops applied to it, PyTorch's way.

Every op applied to a tensor that requires a gradient records a node (an
``autograd.Function``) whose ``parents`` point at the nodes (or leaf tensors) it
consumed; ``backward()`` hands the graph to the autograd engine. The methods here are
one line each: the ops and their gradients live in ``ops/``, the graph walk in
``autograd/``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import device as device_module
from . import dtypes, ops, printing
from .autograd import engine, grad_mode
from .autograd.function import Function
from .dtypes import default_float
from .ops import indexing
from .ops.logic import all_close, all_equal, logic
from .ops.matmul import matmul
from .ops.promotion import SCALAR, result_type, scalar_dtype, standing
from .ops.reduce import (
    Dim,
    arg_reduce,
    keepdims_shape,
    logical_reduce,
    normalize_axes,
    normalize_dim,
    return_types,
    sort_indices,
)

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

        Numbers take the dtype PyTorch's promotion gives them beside this tensor: its own dtype
        within its category (so ``x * np.float64(0.5)`` never upcasts float32, and ``uint8 + 1`` stays
        uint8), else their category's default (int64, or the default float for an integer tensor).
        """
        if isinstance(other, Tensor):
            return other
        if isinstance(other, int | float | np.number):
            dtype = self._data.dtype
            if dtype.kind == "f":
                return Tensor._wrap(np.asarray(other, dtype=dtype))
            dtype = result_type((dtype, standing(self._data)), (scalar_dtype(other), SCALAR))
            return Tensor._wrap(np.asarray(other).astype(dtype))  # integers wrap around, as in PyTorch
        return Tensor(other)

    def _binary(self, fn: Callable[[Tensor, Tensor], Tensor], other: ArrayLike, reflected: bool = False) -> Tensor:
        """``fn(self, other)`` (``fn(other, self)`` when ``reflected``) on operands promoted to one dtype."""
        other = self._lift(other)
        a, b = (other, self) if reflected else (self, other)
        if a._data.dtype != b._data.dtype:
            a, b = _promoted(a, b)
        return fn(a, b)

    def _floating(self) -> Tensor:
        """This tensor, or for a bool or integer one, its cast to the default float (what ``sqrt(int)`` computes in)."""
        return self if self._data.dtype.kind in "fc" else self.to(default_float())

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
            result = op.apply(self._snapshot(), self._lift(other))
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

    def _snapshot(self) -> Tensor:
        """A copy of the current value that carries this tensor's history: what a recorded in-place op consumes."""
        snapshot = Tensor._wrap(self._data.copy())
        snapshot._op, snapshot.requires_grad = self._op, self.requires_grad
        return snapshot

    def _rewrite(self, name: str, fn: Callable[[Tensor], Tensor], *others: ArrayLike) -> Tensor:
        """Write ``fn(self)`` into ``self._data``: the in-place form of any op, recorded as ``_update_in_place``'s."""
        recorded = grad_mode.enabled and any([self._records_with(name, other) for other in others or (None,)])
        result = fn(self._snapshot() if recorded else self)
        try:
            np.copyto(self._data, result._data, casting="same_kind")
        except (TypeError, ValueError) as error:
            raise self._in_place_error(name, others[0] if others else result, error) from None
        if recorded:
            self._op, self.requires_grad = result._op, True
        self._versions[0] += 1
        return self

    def pow_(self, exponent: ArrayLike) -> Tensor:
        """``self **= exponent`` in this tensor's own array; returns self."""
        return self._rewrite("pow_", lambda t: t**exponent, exponent)

    def clamp_(self, min: ArrayLike | None = None, max: ArrayLike | None = None) -> Tensor:
        """``clamp`` in this tensor's own array; returns self."""
        return self._rewrite("clamp_", lambda t: t.clamp(min, max), min, max)

    def abs_(self) -> Tensor:
        return self._rewrite("abs_", Tensor.abs)

    def neg_(self) -> Tensor:
        return self._rewrite("neg_", Tensor.__neg__)

    def sqrt_(self) -> Tensor:
        return self._rewrite("sqrt_", Tensor.sqrt)

    def exp_(self) -> Tensor:
        return self._rewrite("exp_", Tensor.exp)

    def __ifloordiv__(self, other: ArrayLike) -> Tensor:
        return self._rewrite("floor_divide_", lambda t: t // other, other)

    def __imod__(self, other: ArrayLike) -> Tensor:
        return self._rewrite("remainder_", lambda t: t % other, other)

    __ipow__ = pow_

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
                f"into this {self._data.dtype} tensor; write x = x op y for a new tensor"
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
    def dtype(self) -> dtypes.dtype:
        """PyTorch's dtype object, e.g. ``tinygrad_mnist.float32`` (equal to ``np.float32``)."""
        return dtypes.as_dtype(self._data.dtype)

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

    def __repr__(self) -> str:
        """PyTorch's print form: ``tensor([1.5000, 2.0000], grad_fn=<MulBackward0>)``, with the dtype
        only where it is not the default float, int64 or bool, and the size of an empty tensor."""
        extras = [f"size={tuple(self.shape)}"] if self._data.size == 0 and self._data.shape != (0,) else []
        if self._data.dtype not in (default_float(), np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self._op is not None:
            extras.append(f"grad_fn=<{self._op.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([printing.format_array(self._data, "tensor("), *extras]) + ")"

    # ----- arithmetic -------------------------------------------------------------

    def __add__(self, other: ArrayLike) -> Tensor:
        return self._binary(ops.Add.apply, other)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return self._binary(ops.Add.apply, other, reflected=True)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return self._binary(ops.Sub.apply, other)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return self._binary(ops.Sub.apply, other, reflected=True)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return self._binary(ops.Mul.apply, other)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return self._binary(ops.Mul.apply, other, reflected=True)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return self._binary(_true_divide, other)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return self._binary(_true_divide, other, reflected=True)

    def __floordiv__(self, other: ArrayLike) -> Tensor:
        """Division rounded down (PyTorch's ``//``); integers stay integers; no gradient flows (zeros)."""
        return self._binary(_floor_divide, other)

    def __rfloordiv__(self, other: ArrayLike) -> Tensor:
        return self._binary(_floor_divide, other, reflected=True)

    def __mod__(self, other: ArrayLike) -> Tensor:
        """Python's remainder: the sign of the divisor (PyTorch's ``%`` and ``remainder``)."""
        return self._binary(_remainder, other)

    def __rmod__(self, other: ArrayLike) -> Tensor:
        return self._binary(_remainder, other, reflected=True)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: ArrayLike) -> Tensor:
        """``self ** exponent`` for a number or a tensor (both get gradients); a negative base to a fraction is nan."""
        if isinstance(exponent, int | float | np.number) and not isinstance(exponent, bool | np.bool_):
            exponent = exponent.item() if isinstance(exponent, np.generic) else exponent
            base = self._floating() if isinstance(exponent, float) else self
            return ops.Pow.apply(base, exponent)
        return self._binary(ops.Pow.apply, exponent)

    def __rpow__(self, base: ArrayLike) -> Tensor:
        return self._binary(ops.Pow.apply, base, reflected=True)

    def add(self, other: ArrayLike, alpha: float = 1) -> Tensor:
        """``self + alpha * other``."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: ArrayLike, alpha: float = 1) -> Tensor:
        """``self - alpha * other``."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: ArrayLike) -> Tensor:
        return self * other

    def div(self, other: ArrayLike, rounding_mode: str | None = None) -> Tensor:
        """``self / other``; with ``rounding_mode`` 'trunc' or 'floor', rounded that way (integers stay integers)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', not {rounding_mode!r}")
        return self._binary(_floor_divide if rounding_mode == "floor" else _trunc_divide, other)

    def true_divide(self, other: ArrayLike) -> Tensor:
        return self / other

    def floor_divide(self, other: ArrayLike) -> Tensor:
        return self // other

    def remainder(self, other: ArrayLike) -> Tensor:
        return self % other

    def fmod(self, other: ArrayLike) -> Tensor:
        """C's remainder: the sign of the dividend, ``self - trunc(self / other) * other``."""
        return self._binary(_fmod, other)

    def pow(self, exponent: ArrayLike) -> Tensor:
        return self**exponent

    def reciprocal(self) -> Tensor:
        """``1 / self`` (the default float for an integer tensor)."""
        return 1 / self._floating()

    def neg(self) -> Tensor:
        return -self

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return matmul(self, self._lift(other))

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return matmul(self._lift(other), self)

    def matmul(self, other: ArrayLike) -> Tensor:
        """PyTorch's ``@``: 1-D operands are promoted (and the added dim dropped), N-D batch dims broadcast."""
        return self @ other

    def mm(self, mat2: Tensor) -> Tensor:
        """The product of two 2-D matrices."""
        return self._product("mm", mat2, (2, 2), "two 2-D matrices")

    def bmm(self, mat2: Tensor) -> Tensor:
        """The products of two same-sized batches of matrices, (b, n, k) @ (b, k, p)."""
        if self.ndim == mat2.ndim == 3 and self.shape[0] != mat2.shape[0]:
            raise ValueError(f"bmm: batch sizes differ: {self.shape} and {mat2.shape}")
        return self._product("bmm", mat2, (3, 3), "two 3-D batches of matrices")

    def dot(self, other: Tensor) -> Tensor:
        """The inner product of two 1-D tensors of the same length: a 0-d tensor."""
        return self._product("dot", other, (1, 1), "two 1-D tensors")

    def mv(self, vec: Tensor) -> Tensor:
        """A 2-D matrix times a 1-D vector."""
        return self._product("mv", vec, (2, 1), "a 2-D matrix and a 1-D vector")

    def outer(self, vec2: Tensor) -> Tensor:
        """The outer product of two 1-D tensors: (n,) and (p,) give (n, p)."""
        if self.ndim != 1 or vec2.ndim != 1:
            raise ValueError(f"outer: expected two 1-D tensors, got shapes {self.shape} and {vec2.shape}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    def _product(self, name: str, other: Tensor, ndims: tuple[int, int], expected: str) -> Tensor:
        """``self @ other`` after checking that the operands have the ``ndims`` that ``name`` takes."""
        if (self.ndim, other.ndim) != ndims:
            raise ValueError(f"{name}: expected {expected}, got shapes {self.shape} and {other.shape}")
        return self @ other

    # ----- elementwise functions --------------------------------------------------

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self._floating())

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self._floating())

    def exp(self) -> Tensor:
        return ops.Exp.apply(self._floating())

    def log(self) -> Tensor:
        return ops.Log.apply(self._floating())

    def abs(self) -> Tensor:
        """``|self|``; the gradient at 0 is 0."""
        return ops.Abs.apply(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 (0 for nan); zero gradient."""
        return ops.Stepwise.apply("sign", self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self._floating())

    def rsqrt(self) -> Tensor:
        return self.sqrt() ** -1

    def square(self) -> Tensor:
        return self * self

    def expm1(self) -> Tensor:
        return ops.Expm1.apply(self._floating())

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self._floating())

    def log2(self) -> Tensor:
        return self.log() / math.log(2)

    def log10(self) -> Tensor:
        return self.log() / math.log(10)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self._floating())

    def cos(self) -> Tensor:
        return ops.Cos.apply(self._floating())

    def tan(self) -> Tensor:
        return ops.Tan.apply(self._floating())

    def clamp(self, min: ArrayLike | None = None, max: ArrayLike | None = None) -> Tensor:
        """Values limited to ``[min, max]`` (numbers or tensors; either may be None); the gradient goes
        to ``self`` where it lies within the limits, boundaries included, else to the limit it crossed."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of 'min' and 'max' must be given")
        bounds = [None if bound is None else self._lift(bound) for bound in (min, max)]
        x, low, high = _promoted(self, *bounds)
        return ops.Clamp.apply(x, low, high)

    clip = clamp

    def clamp_min(self, min: ArrayLike) -> Tensor:
        return self.clamp(min=min)

    def clamp_max(self, max: ArrayLike) -> Tensor:
        return self.clamp(max=max)

    def maximum(self, other: ArrayLike) -> Tensor:
        """The larger of ``self`` and ``other`` elementwise; equal values share the gradient half and half."""
        return self._binary(_maximum, other)

    def minimum(self, other: ArrayLike) -> Tensor:
        """The smaller of ``self`` and ``other`` elementwise; equal values share the gradient half and half."""
        return self._binary(_minimum, other)

    def lerp(self, end: ArrayLike, weight: ArrayLike) -> Tensor:
        """``self + weight * (end - self)``: linear interpolation, ``weight`` a number or a tensor."""
        return self + weight * (end - self)

    def floor(self) -> Tensor:
        return ops.Stepwise.apply("floor", self)

    def ceil(self) -> Tensor:
        return ops.Stepwise.apply("ceil", self)

    def round(self, decimals: int = 0) -> Tensor:
        """Rounded to ``decimals`` places, halves to even (as PyTorch); zero gradient."""
        return ops.Stepwise.apply("round", self, decimals)

    def trunc(self) -> Tensor:
        return ops.Stepwise.apply("trunc", self)

    def frac(self) -> Tensor:
        """``self - trunc(self)``, the sign of ``self``; the gradient is 1, as PyTorch's."""
        return self - self.trunc()

    def isnan(self) -> Tensor:
        return Tensor._wrap(logic("isnan", self._data))

    def isinf(self) -> Tensor:
        return Tensor._wrap(logic("isinf", self._data))

    def isfinite(self) -> Tensor:
        return Tensor._wrap(logic("isfinite", self._data))

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """nan, +inf and -inf replaced by ``nan``, ``posinf``, ``neginf`` (by default 0 and the dtype's extremes)."""
        return ops.NanToNum.apply(self, nan, posinf, neginf)

    # ----- comparisons and logic -------------------------------------------------

    __hash__ = object.__hash__  # tensors are dict keys and set members by identity, though == compares elements

    def _logic(self, name: str, other: ArrayLike, **kwargs: Any) -> Tensor:
        """``logic(name)`` of this tensor and ``other`` (a Tensor, number or array): a tensor with no gradient."""
        return Tensor._wrap(logic(name, self._data, self._lift(other)._data, **kwargs))

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        return self._logic("eq", other) if _comparable(other) else NotImplemented

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        return self._logic("ne", other) if _comparable(other) else NotImplemented

    def __lt__(self, other: ArrayLike) -> Tensor:
        return self._logic("lt", other)

    def __le__(self, other: ArrayLike) -> Tensor:
        return self._logic("le", other)

    def __gt__(self, other: ArrayLike) -> Tensor:
        return self._logic("gt", other)

    def __ge__(self, other: ArrayLike) -> Tensor:
        return self._logic("ge", other)

    def __bool__(self) -> bool:
        """The truth of a single-element tensor (``if (x > 0).all()``); ambiguous for more elements, as in PyTorch."""
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: a tensor of shape {self.shape} has {self._data.size} values, so its truth is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def __and__(self, other: ArrayLike) -> Tensor:
        return self._logic("bitwise_and", other)

    def __or__(self, other: ArrayLike) -> Tensor:
        return self._logic("bitwise_or", other)

    def __xor__(self, other: ArrayLike) -> Tensor:
        return self._logic("bitwise_xor", other)

    def __invert__(self) -> Tensor:
        """Logical not of a bool tensor, bitwise not of an integer one."""
        return Tensor._wrap(logic("bitwise_not", self._data))

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__
    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__

    def logical_and(self, other: ArrayLike) -> Tensor:
        return self._logic("logical_and", other)

    def logical_or(self, other: ArrayLike) -> Tensor:
        return self._logic("logical_or", other)

    def logical_xor(self, other: ArrayLike) -> Tensor:
        return self._logic("logical_xor", other)

    def logical_not(self) -> Tensor:
        return Tensor._wrap(logic("logical_not", self._data))

    def isclose(self, other: ArrayLike, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """``|self - other| <= atol + rtol * |other|`` elementwise."""
        return self._logic("isclose", other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def allclose(self, other: ArrayLike, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether ``isclose`` holds everywhere."""
        return all_close(self._data, self._lift(other)._data, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> bool:
        """Whether ``other`` has this shape and these values."""
        return all_equal(self._data, _data_of(other))

    # ----- reductions and broadcasting ----------------------------------------------

    def sum(self, dim: Dim = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Sum over ``dim`` (an int, a tuple, or None for all); ints and bools sum as int64, as PyTorch."""
        if dtype is None and self._data.dtype.kind in "biu":
            dtype = np.int64
        return ops.Sum.apply(self, dim, keepdim, None if dtype is None else np.dtype(dtype))

    def mean(self, dim: Dim = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"mean: a floating-point tensor is needed, got {x.dtype}; pass dtype= or call .float()")
        count = int(np.prod([x.shape[a] for a in normalize_axes(dim, x.ndim)]))
        return x.sum(dim, keepdim) / count

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Product over one ``dim`` (or all); its gradient is exact where elements are 0."""
        x = self if dtype is None else self.to(dtype)
        if dim is None or x.ndim == 0:
            return ops.Prod.apply(x.reshape(-1), 0).reshape(() if dim is None or not keepdim else x.shape)
        d = normalize_dim(dim, x.ndim)
        out = ops.Prod.apply(x, d)
        return out if keepdim else out.reshape(*x.shape[:d], *x.shape[d + 1 :])

    def var(
        self, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: float | None = None
    ) -> Tensor:
        """Variance over ``dim``, divided by ``n - correction`` (1 by default; ``unbiased=False`` means 0)."""
        if isinstance(dim, bool):  # PyTorch's var(unbiased) overload
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        count = int(np.prod([self.shape[a] for a in normalize_axes(dim, self.ndim)]))
        deviation = self - self.mean(dim, keepdim=True)
        return (deviation * deviation).sum(dim, keepdim) / max(count - correction, 0)

    def std(
        self, dim: Dim = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: float | None = None
    ) -> Tensor:
        """``var(...) ** 0.5``, the same arguments."""
        return self.var(dim, unbiased, keepdim, correction=correction) ** 0.5

    def norm(self, p: float | str = "fro", dim: Dim = None, keepdim: bool = False) -> Tensor:
        """The vector p-norm over ``dim`` (all elements by default): p = 2 or 'fro', 1, inf, -inf, or any other."""
        if p in (2, "fro"):
            return (self * self).sum(dim, keepdim) ** 0.5
        if isinstance(p, str) or p == 0:
            raise ValueError(f"norm: p={p!r} is not supported; use 1, 2, 'fro', inf, -inf or another nonzero number")
        size = self.relu() + (-self).relu()  # |x|, with PyTorch's zero gradient at 0
        if p == float("inf"):
            return size.amax(dim, keepdim)
        if p == -float("inf"):
            return size.amin(dim, keepdim)
        return (size**p).sum(dim, keepdim) ** (1 / p)

    def amax(self, dim: Dim = (), keepdim: bool = False) -> Tensor:
        """Maximum over ``dim`` (all dims for ``()``, PyTorch's default); tied maxima share the gradient."""
        return ops.Max.apply(self, None if dim == () else dim, keepdim)

    def amin(self, dim: Dim = (), keepdim: bool = False) -> Tensor:
        return -(-self).amax(dim, keepdim)

    def max(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | Any:
        """The maximum (0-d, ties share the gradient); with ``dim``, ``(values, indices)`` along it, the gradient
        going to each index; with a Tensor, ``maximum``."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self.amax() if dim is None else self._pick("max", self.argmax(dim, keepdim=True), dim, keepdim)

    def min(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | Any:
        """As ``max``, for the minimum (``minimum`` with a Tensor)."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self.amin() if dim is None else self._pick("min", self.argmin(dim, keepdim=True), dim, keepdim)

    def _pick(self, name: str, indices: Tensor, dim: int, keepdim: bool) -> Any:
        """``(values, indices)`` of ``name`` from kept ``indices`` along ``dim``, without it unless ``keepdim``."""
        x = self.reshape(1) if self.ndim == 0 else self
        d = normalize_dim(dim, self.ndim)
        values = ops.TakeAlong.apply(x, indices._data.reshape(keepdims_shape(x.shape, (d,))), d)
        if not keepdim or self.ndim == 0:
            shape = tuple(n for i, n in enumerate(x.shape) if i != d) if self.ndim else ()
            values, indices = values.reshape(shape), indices.reshape(shape)
        return return_types[name](values, indices)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Indices (int64, no gradient) of the maxima along ``dim``, of the flattened tensor for None."""
        return Tensor._wrap(arg_reduce(self._data, "argmax", dim, keepdim))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor._wrap(arg_reduce(self._data, "argmin", dim, keepdim))

    def logsumexp(self, dim: Dim, keepdim: bool = False) -> Tensor:
        """``log(exp(self).sum(dim))``, shifted by the maximum so that it stays finite."""
        top = self.detach().amax(dim, keepdim=True)._data
        shift = Tensor._wrap(np.where(np.isfinite(top), top, 0))  # no inf - inf where all are -inf
        out = (self - shift).exp().sum(dim, keepdim).log()
        return out + (shift if keepdim else shift.reshape(out.shape))

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return ops.CumSum.apply(x.reshape(1) if x.ndim == 0 else x, normalize_dim(dim, x.ndim)).reshape(x.shape)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Cumulative product along ``dim``, as products of growing prefixes (exact gradients with zeros)."""
        x = self if dtype is None else self.to(dtype)
        if x.ndim == 0:
            return x.clone()
        d, n = normalize_dim(dim, x.ndim), x.shape[normalize_dim(dim, x.ndim)]
        lower = np.tril(np.ones((n, n), dtype=x.dtype)).reshape(n, n, *(1,) * (x.ndim - d - 1))  # [i, j]: j <= i
        prefixes = x.reshape(*x.shape[:d], 1, *x.shape[d:]) * lower + (1 - lower)
        return ops.Prod.apply(prefixes, d + 1).reshape(x.shape)

    def all(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        """Whether every element along ``dim`` is nonzero: a bool tensor, no gradient."""
        return Tensor._wrap(logical_reduce(self._data, "all", dim, keepdim))

    def any(self, dim: Dim = None, keepdim: bool = False) -> Tensor:
        return Tensor._wrap(logical_reduce(self._data, "any", dim, keepdim))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """``(values, indices)`` sorted along ``dim`` (always stably); the gradient goes back to each place."""
        x = self.reshape(1) if self.ndim == 0 else self
        indices = sort_indices(x._data, normalize_dim(dim, self.ndim), descending)
        values = ops.TakeAlong.apply(x, indices, normalize_dim(dim, self.ndim)).reshape(self.shape)
        return return_types["sort"](values, Tensor._wrap(indices.reshape(self.shape)))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return self.sort(dim, descending, stable).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The ``k`` largest (smallest unless ``largest``) elements along ``dim`` as ``(values, indices)``."""
        x = self.reshape(1) if self.ndim == 0 else self
        d = normalize_dim(dim, self.ndim)
        if not 0 <= k <= x.shape[d]:
            raise IndexError(f"topk: k={k} is out of range for dim {dim} of size {x.shape[d]}")
        indices = np.take(sort_indices(x._data, d, largest), np.arange(k), axis=d)
        values = ops.TakeAlong.apply(x, indices, d)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        return return_types["topk"](values, Tensor._wrap(indices))

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
        return self.sum(axes, keepdim=True).reshape(target) if axes else self.reshape(target)

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

    # ----- dtypes, devices and random fills ---------------------------------------------

    @property
    def device(self) -> device_module.device:
        """Where this tensor lives: always ``device("cpu")``."""
        return device_module.CPU

    def to(self, *args: Any, copy: bool = False, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its dtype): self if nothing
        changes (unless ``copy``); a floating result passes the gradient back converted, others record none."""
        target = to_arguments(*args, **kwargs)
        out = self if target is None else self._cast(target)
        return out.clone() if copy and out is self else out

    def _cast(self, target: np.dtype) -> Tensor:
        if self._data.dtype == target:
            return self
        if target.kind == "f":
            return ops.Cast.apply(self, target)
        return Tensor._wrap(self._data.astype(target))  # no gradient through a cast to ints or bools, as PyTorch

    def cpu(self) -> Tensor:
        """This tensor (it is on the CPU already)."""
        return self

    def cuda(self, device: Any = None) -> Tensor:
        """Raises: there is no CUDA here (see ``device``)."""
        raise device_module.unavailable("cuda")

    def float(self) -> Tensor:
        return self._cast(np.dtype(np.float32))

    def double(self) -> Tensor:
        return self._cast(np.dtype(np.float64))

    def half(self) -> Tensor:
        return self._cast(np.dtype(np.float16))

    def long(self) -> Tensor:
        return self._cast(np.dtype(np.int64))

    def int(self) -> Tensor:
        return self._cast(np.dtype(np.int32))

    def short(self) -> Tensor:
        return self._cast(np.dtype(np.int16))

    def byte(self) -> Tensor:
        return self._cast(np.dtype(np.uint8))

    def bool(self) -> Tensor:
        return self._cast(np.dtype(np.bool_))

    def type(self, dtype: Any = None) -> Tensor | str:
        """With ``dtype``, ``to(dtype)``; without, PyTorch's type name, e.g. ``'tinygrad_mnist.FloatTensor'``."""
        return dtypes.tensor_type_name(self._data.dtype) if dtype is None else self._cast(np.dtype(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype."""
        return self._cast(other._data.dtype)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with uniform values in [from_, to) from ``generator`` (default: the default generator); returns self."""
        return self._assign_in_place("uniform_", _random().uniform(self.shape, from_, to, self._data.dtype, generator))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with normal values of ``mean`` and ``std``; returns self."""
        values = _random().normal(mean, std, self.shape, generator=generator, dtype=self._data.dtype)
        return self._assign_in_place("normal_", values)

    def bernoulli_(self, p: float = 0.5, *, generator: Any = None) -> Tensor:
        """Fill with 1 with probability ``p``, else 0; returns self."""
        return self._assign_in_place("bernoulli_", _random().bernoulli(self, p, generator=generator))

    # ----- indexing (PyTorch's semantics; the ops are in ops/indexing.py) ---------------

    def __getitem__(self, key: Any) -> Tensor:
        """``x[key]``: ints, slices, None, ``...``, int/bool tensors and tuples of them; basic keys give a view."""
        return self._view(indexing.index(self, key))

    def __setitem__(self, key: Any, value: ArrayLike) -> None:
        """``x[key] = value`` in place; recorded (gradient to the untouched part and to the value) in a graph."""
        self._in_place("__setitem__", value, lambda x: indexing.set_index(x, key, value),
                       lambda: indexing.assign(self, key, value))  # fmt: skip

    def index_select(self, dim: int, index: ArrayLike) -> Tensor:
        return indexing.index_select(self, dim, index)

    def gather(self, dim: int, index: ArrayLike) -> Tensor:
        return indexing.gather(self, dim, index)

    def take_along_dim(self, indices: ArrayLike, dim: int | None = None) -> Tensor:
        return indexing.take_along_dim(self, indices, dim)

    def scatter(self, dim: int, index: ArrayLike, src: ArrayLike = None, value: float | None = None) -> Tensor:
        return indexing.scatter(self, dim, index, src, value)

    def scatter_(self, dim: int, index: ArrayLike, src: ArrayLike = None, value: float | None = None) -> Tensor:
        return self._in_place("scatter_", src, lambda x: indexing.scatter(x, dim, index, src, value))

    def scatter_add(self, dim: int, index: ArrayLike, src: Tensor) -> Tensor:
        return indexing.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: ArrayLike, src: Tensor) -> Tensor:
        return self._in_place("scatter_add_", src, lambda x: indexing.scatter_add(x, dim, index, src))

    def index_add(self, dim: int, index: ArrayLike, source: Tensor, alpha: float = 1) -> Tensor:
        return indexing.index_add(self, dim, index, source, alpha)

    def index_add_(self, dim: int, index: ArrayLike, source: Tensor, alpha: float = 1) -> Tensor:
        return self._in_place("index_add_", source, lambda x: indexing.index_add(x, dim, index, source, alpha))

    def index_copy(self, dim: int, index: ArrayLike, source: Tensor) -> Tensor:
        return indexing.index_copy(self, dim, index, source)

    def index_copy_(self, dim: int, index: ArrayLike, source: Tensor) -> Tensor:
        return self._in_place("index_copy_", source, lambda x: indexing.index_copy(x, dim, index, source))

    def index_fill(self, dim: int, index: ArrayLike, value: float) -> Tensor:
        return indexing.index_fill(self, dim, index, value)

    def index_fill_(self, dim: int, index: ArrayLike, value: float) -> Tensor:
        return self._in_place("index_fill_", value, lambda x: indexing.index_fill(x, dim, index, value))

    def masked_fill(self, mask: ArrayLike, value: ArrayLike) -> Tensor:
        return indexing.masked_fill(self, mask, value)

    def masked_fill_(self, mask: ArrayLike, value: ArrayLike) -> Tensor:
        return self._in_place("masked_fill_", value, lambda x: indexing.masked_fill(x, mask, value))

    def masked_select(self, mask: ArrayLike) -> Tensor:
        return indexing.masked_select(self, mask)

    def where(self, condition: ArrayLike, other: ArrayLike) -> Tensor:
        """``self`` where ``condition`` is True, else ``other``: ``torch.where(condition, self, other)``."""
        return indexing.where(condition, self, other)

    def nonzero(self, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        return indexing.nonzero(self, as_tuple)

    def argwhere(self) -> Tensor:
        return indexing.nonzero(self)

    def _in_place(
        self, name: str, other: ArrayLike, result: Callable[[Tensor], Tensor], write: Callable[[], None] | None = None
    ) -> Tensor:
        """Replace this tensor's values by ``result(self)``: recorded on a snapshot of the old value where a graph
        is (as ``_update_in_place``), else computed outside any graph (or done by ``write``, in place); returns self."""
        if self._records_with(name, other):
            snapshot = Tensor._wrap(self._data.copy())
            snapshot._op, snapshot.requires_grad = self._op, self.requires_grad
            out = result(snapshot)
            np.copyto(self._data, out._data, casting="same_kind")
            self._op, self.requires_grad = out._op, True
        elif write is not None:
            write()
        else:
            with grad_mode.no_grad():
                np.copyto(self._data, result(self)._data, casting="same_kind")
        self._versions[0] += 1
        return self

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

    def softmax(self, dim: int) -> Tensor:
        return ops.Softmax.apply(self, normalize_dim(dim, self.ndim) if self.ndim else dim)

    def log_softmax(self, dim: int) -> Tensor:
        return ops.LogSoftmax.apply(self, normalize_dim(dim, self.ndim) if self.ndim else dim)

    def cross_entropy(self, target: ArrayLike) -> Tensor:
        """Mean softmax cross-entropy of these (batch, classes) logits; see ``cross_entropy``."""
        return cross_entropy(self, target)


def to_arguments(*args: Any, **kwargs: Any) -> np.dtype | None:
    """The dtype that ``to(...)``'s arguments ask for (None for none), checking any device given."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "memory_format"}
    if unknown:
        raise TypeError(f"to: unexpected keyword arguments {sorted(unknown)}")
    target = None
    for arg in (*args, kwargs.get("device"), kwargs.get("dtype")):
        if isinstance(arg, Tensor):
            target = arg._data.dtype
        elif isinstance(arg, str | device_module.device):
            device_module.check_device(arg)
        elif arg is not None:
            target = np.dtype(arg)
    return target


def _random() -> Any:
    """The ``random`` module, imported late: it builds on this one."""
    from . import random

    return random


def _shape_argument(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``reshape(2, 3)`` and ``reshape((2, 3))`` alike: the shape as a tuple of ints."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple | list) else tuple(shape)


def _promoted(*tensors: Tensor | None) -> list[Tensor | None]:
    """The tensors (None for an absent operand) in the dtype PyTorch's promotion gives them together.

    A tensor that does not require grad is left as it is where NumPy computes in that dtype anyway
    (a bool mask times float32 gives float32); one that requires grad is cast with a recorded
    ``Cast``, so its gradient comes back in its own dtype.
    """
    present = [t._data for t in tensors if t is not None]
    dtype = result_type(*[(array.dtype, standing(array)) for array in present])
    numpy_agrees = np.result_type(*present) == dtype
    return [t if t is None or (numpy_agrees and not t.requires_grad) else t.to(dtype) for t in tensors]


def _comparable(other: object) -> bool:
    """Whether ``==`` compares elements with ``other`` (else Python's identity comparison answers)."""
    return isinstance(other, Tensor | int | float | np.number | np.ndarray | list | tuple)


def _true_divide(a: Tensor, b: Tensor) -> Tensor:
    """``a / b``, in the default float for integer operands."""
    return ops.Div.apply(a, b) if a._data.dtype.kind in "fc" else ops.Div.apply(a._floating(), b._floating())


def _floor_divide(a: Tensor, b: Tensor) -> Tensor:
    return ops.Stepwise.apply("floor_divide", a, b)


def _trunc_divide(a: Tensor, b: Tensor) -> Tensor:
    return ops.Stepwise.apply("trunc_divide", a, b)


def _remainder(a: Tensor, b: Tensor) -> Tensor:
    return ops.Remainder.apply(a, b, True)


def _fmod(a: Tensor, b: Tensor) -> Tensor:
    return ops.Remainder.apply(a, b, False)


def _maximum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Extremum.apply(a, b, True)


def _minimum(a: Tensor, b: Tensor) -> Tensor:
    return ops.Extremum.apply(a, b, False)


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
