"""PyTorch's type promotion for binary ops, on NumPy dtypes.

Categories rank bool < integer < floating. The result takes the highest category among the
operands; within it, a tensor with dimensions beats a 0-d tensor, which beats a Python
scalar, and operands of the same standing combine as NumPy combines dtypes. So a float64
0-d tensor never widens a float32 tensor, while an integer tensor and a Python float give
the default float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import default_float

#: The standing of an operand: a Python scalar, a 0-d tensor, a tensor with dimensions.
SCALAR, ZERO_DIM, DIMENSIONED = 0, 1, 2


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating (and complex) dtypes."""
    return 0 if dtype.kind == "b" else 1 if dtype.kind in "iu" else 2


def scalar_dtype(value: bool | int | float) -> np.dtype:
    """The dtype PyTorch gives a Python scalar standing alone: bool, int64, or the default float."""
    if isinstance(value, bool | np.bool_):
        return np.dtype(np.bool_)
    return np.dtype(np.int64) if isinstance(value, int | np.integer) else default_float()


def result_type(*operands: tuple[np.dtype, int]) -> np.dtype:
    """The dtype of a binary op's result, from each operand's ``(dtype, standing)``."""
    top = max(category(dtype) for dtype, _ in operands)
    contenders = [(dtype, standing) for dtype, standing in operands if category(dtype) == top]
    best = max(standing for _, standing in contenders)
    return np.result_type(*[dtype for dtype, standing in contenders if standing == best])


def standing(array: np.ndarray) -> int:
    """A tensor's standing: 0-d or with dimensions."""
    return DIMENSIONED if array.ndim else ZERO_DIM


def promote(*values: Any) -> np.dtype:
    """The dtype PyTorch's promotion gives tensors, arrays and Python numbers together (as ``where``'s branches)."""
    operands = []
    for value in values:
        if isinstance(value, bool | int | float):
            operands.append((scalar_dtype(value), SCALAR))
        else:
            array = np.asarray(getattr(value, "_data", value))
            operands.append((array.dtype, standing(array)))
    return result_type(*operands)
