"""Registry entries of the casts that carry a gradient: ``type``, ``type_as`` and ``to`` with a device.

The creation and random functions take no tensor inputs (tests/test_creation.py checks them);
casts to integers or bools and to float16 have no gradient finite differences can check.
"""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ..registry import register_op
from .samples import unary

_FLOAT64 = Tensor(np.zeros(1, dtype=np.float64))

register_op(
    "type_as",
    lambda x: x.type(np.float64) * x.type_as(_FLOAT64) + x.to("cpu", np.float64),
    unary(),
    lambda x: x * x + x,
    keeps_float32=False,
    covers=["Tensor.type", "Tensor.type_as"],
)

#: Conversions with no gradient to check (integer, bool and float16 casts), devices, dtype queries, random fills.
NOT_OPS = frozenset(
    {
        "half", "long", "int", "short", "byte", "bool", "cpu", "cuda", "device",
        "is_floating_point", "element_size", "uniform_", "normal_", "bernoulli_",
    }
)  # fmt: skip
