"""Comparisons and logic: elementwise functions with bool (or integer) results and no gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Elementwise comparisons and logic by PyTorch's names.
LOGIC: dict[str, Any] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor,
    "bitwise_not": np.invert,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
    "logical_not": np.logical_not,
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isfinite": np.isfinite,
    "isclose": np.isclose,
}


def logic(name: str, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
    """``LOGIC[name]`` on the arrays, with PyTorch's refusal of bitwise ops on floating dtypes."""
    if name.startswith("bitwise") and any(a.dtype.kind not in "biu" for a in arrays):
        dtypes = " and ".join(str(a.dtype) for a in arrays)
        raise TypeError(f"{name}: only bool and integer tensors have bits to combine, not {dtypes}; compare first")
    try:
        return np.asarray(LOGIC[name](*arrays, **kwargs))
    except ValueError:
        shapes = " and ".join(str(a.shape) for a in arrays)
        raise ValueError(f"{name}: shapes {shapes} cannot be broadcast together") from None


def all_close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> bool:
    """Whether every element of ``a`` is close to ``b``'s, as ``isclose`` says."""
    return bool(np.all(logic("isclose", a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def all_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and same values (PyTorch's ``equal``)."""
    return a.shape == b.shape and bool(np.array_equal(a, b))
