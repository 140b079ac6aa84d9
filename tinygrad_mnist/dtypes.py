"""Dtypes: the default floating dtype that Python floats and integer division become (PyTorch's rule)."""

from __future__ import annotations

import numpy as np

_default_float = np.dtype(np.float32)


def default_float() -> np.dtype:
    """The NumPy dtype of the default floating type (float32 unless ``set_default_dtype`` changed it)."""
    return _default_float
