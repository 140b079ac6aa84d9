"""Creation functions, PyTorch's names and dtype inference: ``tensor``, ``zeros``, ``arange``, ``*_like``...

Python floats become the default float dtype, Python ints int64, bools bool; NumPy arrays keep
their dtype. Sizes are given as ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros([2, 3])``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from . import dtypes, random
from .device import check_device
from .tensor import Tensor, _shape_argument


def _inferred(value: Any) -> np.dtype:
    """PyTorch's dtype for data given without one: NumPy's own dtype kept, Python numbers mapped."""
    if isinstance(value, np.ndarray | np.generic | Tensor):
        return np.asarray(value).dtype
    kind = np.asarray(value).dtype.kind
    if kind not in "biuf":
        raise TypeError(f"tensor: cannot make a tensor from {type(value).__name__} data of NumPy kind {kind!r}")
    return {"b": np.dtype(np.bool_), "f": dtypes.default_float()}.get(kind, np.dtype(np.int64))


def _made(array: np.ndarray, requires_grad: bool, device: Any) -> Tensor:
    check_device(device)
    return Tensor._wrap(array).requires_grad_(requires_grad) if requires_grad else Tensor._wrap(array)


def _dtype_or(dtype: Any, default: np.dtype) -> np.dtype:
    return default if dtype is None else np.dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach()",
            UserWarning,
            stacklevel=2,
        )
        data = data.numpy()
    array = np.array(data, dtype=_dtype_or(dtype, _inferred(data)), copy=True)
    return _made(array, requires_grad, device)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory with a tensor or NumPy array that already has ``dtype``."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype == np.dtype(dtype) else data.to(dtype)
    if isinstance(data, np.ndarray):
        check_device(device)
        return Tensor._wrap(data if dtype is None else data.astype(dtype, copy=False))
    return tensor(data, dtype, device)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory: writes through either are seen by the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: a {ndarray.dtype} array cannot be a tensor; use bool, integer or float arrays")
    return Tensor._wrap(ndarray)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; its dtype follows the value (bool, int64, default float)."""
    array = np.full(_shape_argument((size,)), fill_value, dtype=_dtype_or(dtype, _inferred(fill_value)))
    return _made(array, requires_grad, device)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, default float dtype unless ``dtype``."""
    return full(
        _shape_argument(size),
        0,
        dtype=_dtype_or(dtype, dtypes.default_float()),
        device=device,
        requires_grad=requires_grad,
    )


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones, default float dtype unless ``dtype``."""
    return full(
        _shape_argument(size),
        1,
        dtype=_dtype_or(dtype, dtypes.default_float()),
        device=device,
        requires_grad=requires_grad,
    )


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor in PyTorch; zeros here, so runs stay reproducible."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros in ``input``'s shape and dtype (or ``dtype``)."""
    return zeros(input.shape, dtype=_dtype_or(dtype, input.numpy().dtype), device=device, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones in ``input``'s shape and dtype (or ``dtype``)."""
    return ones(input.shape, dtype=_dtype_or(dtype, input.numpy().dtype), device=device, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``empty`` in ``input``'s shape and dtype (or ``dtype``)."""
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(
    input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """``fill_value`` in ``input``'s shape and dtype (or ``dtype``)."""
    dtype = _dtype_or(dtype, input.numpy().dtype)
    return full(input.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``rand`` in ``input``'s shape and dtype (or ``dtype``), from the default generator."""
    dtype = _dtype_or(dtype, input.numpy().dtype)
    return random.rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``randn`` in ``input``'s shape and dtype (or ``dtype``), from the default generator."""
    dtype = _dtype_or(dtype, input.numpy().dtype)
    return random.randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(
    input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None, device: Any = None
) -> Tensor:
    """``randint`` in ``input``'s shape and dtype (or ``dtype``): ``randint_like(x, 10)`` or ``(x, 3, 10)``."""
    low, high = (0, low) if high is None else (low, high)
    return random.randint(low, high, input.shape, dtype=_dtype_or(dtype, input.numpy().dtype), device=device)


def arange(
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` up to ``end`` (excluded); int64 for int arguments, else the default float."""
    start, end = (0, start) if end is None else (start, end)
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign ({start}, {end}, {step})")
    whole = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (start, end, step))
    found = _dtype_or(dtype, np.dtype(np.int64) if whole else dtypes.default_float())
    count = (end - start + step - (1 if step > 0 else -1)) // step if whole else math.ceil((end - start) / step)
    values = np.arange(count, dtype=np.int64 if whole else np.float64) * step + start
    return _made(values.astype(found), requires_grad, device)


def linspace(
    start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included; the default float dtype."""
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    values = np.linspace(start, end, int(steps), dtype=np.float64)
    return _made(values.astype(_dtype_or(dtype, dtypes.default_float())), requires_grad, device)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    if steps < 0:
        raise ValueError(f"logspace: number of steps must be non-negative, got {steps}")
    values = np.float64(base) ** np.linspace(start, end, int(steps), dtype=np.float64)
    return _made(values.astype(_dtype_or(dtype, dtypes.default_float())), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` (default ``n`` x ``n``) identity matrix, default float dtype unless ``dtype``."""
    return _made(np.eye(n, m, dtype=_dtype_or(dtype, dtypes.default_float())), requires_grad, device)


CREATION_NAMES: tuple[str, ...] = (
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
    "full_like", "empty_like", "rand_like", "randn_like", "randint_like", "arange", "linspace", "logspace", "eye",
)  # fmt: skip
