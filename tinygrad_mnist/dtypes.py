"""Dtypes, PyTorch's way: ``tinygrad_mnist.float32`` and friends, the default float dtype, ``finfo``/``iinfo``.

A ``dtype`` wraps a NumPy dtype and compares equal to it (``t.dtype == np.float32`` holds), and
NumPy accepts it wherever it takes a dtype (``arr.astype(tinygrad_mnist.float32)``), through its
``.dtype`` attribute. The default float dtype is what Python floats and integer division become.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type: ``tinygrad_mnist.float32``, ``tinygrad_mnist.int64``, ..."""

    __slots__ = ("_name", "dtype")

    def __init__(self, numpy_dtype: Any, name: str) -> None:
        self.dtype: np.dtype = np.dtype(numpy_dtype)  # NumPy reads this attribute: np.dtype(tinygrad_mnist.int64)
        self._name = name

    @property
    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind in "fic"

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dtype):
            return self.dtype == other.dtype
        try:
            return self.dtype == np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return f"tinygrad_mnist.{self._name}"

    def __reduce__(self) -> tuple[Any, tuple[np.dtype]]:
        return as_dtype, (self.dtype,)  # unpickling gives the same object


float32 = float = dtype(np.float32, "float32")
float64 = double = dtype(np.float64, "float64")
float16 = half = dtype(np.float16, "float16")
int64 = long = dtype(np.int64, "int64")
int32 = int = dtype(np.int32, "int32")
int16 = short = dtype(np.int16, "int16")
int8 = dtype(np.int8, "int8")
uint8 = dtype(np.uint8, "uint8")
bool = dtype(np.bool_, "bool")

#: NumPy dtype -> the dtype object, for the dtypes a tensor can hold.
_BY_NUMPY: dict[np.dtype, dtype] = {
    d.dtype: d for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool)
}

#: The names exported at the package's top level.
DTYPE_NAMES: tuple[str, ...] = (
    "dtype", "float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32", "int",
    "int16", "short", "int8", "uint8", "bool",
)  # fmt: skip

_default_float = np.dtype(np.float32)


def default_float() -> np.dtype:
    """The NumPy dtype of the default floating type (float32 unless ``set_default_dtype`` changed it)."""
    return _default_float


def as_dtype(numpy_dtype: Any) -> dtype:
    """The dtype object of a NumPy dtype (or of anything ``np.dtype`` accepts); one made on first use
    for a NumPy dtype PyTorch has no name for (``longdouble``), so no array's dtype is refused."""
    known = _BY_NUMPY.get(numpy_dtype)  # a tensor's own dtype, on every ``t.dtype``: one lookup
    if known is not None:
        return known
    found = np.dtype(numpy_dtype)
    if found not in _BY_NUMPY:
        _BY_NUMPY[found] = dtype(found, found.name)
    return _BY_NUMPY[found]


_TENSOR_TYPES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
    "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
}  # fmt: skip


def tensor_type_name(numpy_dtype: Any) -> str:
    """PyTorch's ``Tensor.type()`` name for a dtype: ``'tinygrad_mnist.FloatTensor'``."""
    return f"tinygrad_mnist.{_TENSOR_TYPES[as_dtype(numpy_dtype)._name]}Tensor"


def get_default_dtype() -> dtype:
    """The dtype Python floats become in ``tensor([1.5])``, ``zeros(3)``, ``rand(2)`` (float32 at start)."""
    return _BY_NUMPY[_default_float]


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32 or float64, as PyTorch allows) the default floating dtype."""
    global _default_float
    found = np.dtype(d)
    if found not in (np.float32, np.float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported as the default, got {found}")
    _default_float = found


class finfo:  # noqa: N801 - PyTorch's name
    """Limits of a floating dtype (the default one when none is given): ``eps``, ``max``, ``min``, ``tiny``."""

    def __init__(self, type: Any = None) -> None:
        found = np.dtype(_default_float if type is None else type)
        if found.kind != "f":
            raise TypeError(f"finfo: {found} is not a floating dtype; use iinfo for integers")
        info = np.finfo(found)
        self.dtype, self.bits = as_dtype(found), info.bits
        self.eps, self.max, self.min = builtins.float(info.eps), builtins.float(info.max), builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.tiny)
        self.resolution = builtins.float(info.resolution)


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype: ``max``, ``min``, ``bits``."""

    def __init__(self, type: Any) -> None:
        found = np.dtype(type)
        if found.kind not in "iu":
            raise TypeError(f"iinfo: {found} is not an integer dtype; use finfo for floats")
        info = np.iinfo(found)
        self.dtype, self.bits = as_dtype(found), info.bits
        self.max, self.min = builtins.int(info.max), builtins.int(info.min)
