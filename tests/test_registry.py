"""The op registry's battery, run on every registered op, and the check that no public op is missing from it."""

import inspect

import numpy as np
import pytest
from hypothesis import find

from tinygrad_mnist import Tensor, nn, ops
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.testing import PROPERTIES, REGISTRY, check_op, registered_ops
from tinygrad_mnist.testing.entries import NOT_OPS
from tinygrad_mnist.testing.registry import recorded_functions

OP_DUNDERS = (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
    "__neg__", "__pow__", "__matmul__", "__rmatmul__",
)  # fmt: skip


@pytest.mark.parametrize("prop", sorted(PROPERTIES))
@pytest.mark.parametrize("name", registered_ops())
def test_every_registered_op_passes_the_battery(name, prop):
    check_op(name, [prop])


def covered() -> set[str]:
    return {name for entry in REGISTRY.values() for name in entry.covers}


def test_every_public_tensor_method_and_function_has_an_entry():
    methods = [n for n, _ in inspect.getmembers(Tensor) if (not n.startswith("_") or n in OP_DUNDERS)]
    public = [f"Tensor.{n}" for n in methods if n not in NOT_OPS]
    public += [f"nn.functional.{n}" for n, f in inspect.getmembers(nn.functional, inspect.isfunction)
               if f.__module__ == nn.functional.__name__]  # fmt: skip
    public += [f"ops.{n}" for n in ops.__all__ if n[0].islower()]
    missing = sorted(set(public) - covered())
    assert not missing, f"public ops with no registry entry: {missing}; add one in tinygrad_mnist/testing/entries.py"


def test_every_function_of_the_package_is_recorded_by_some_entry():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = {cls for cls in subclasses(Function) if cls.__module__.startswith("tinygrad_mnist.ops")}
    seen = set()
    for entry in REGISTRY.values():
        seen |= recorded_functions(entry, find(entry.samples, lambda s: np.size(s.inputs[0]) > 1))
    missing = sorted(cls.__name__ for cls in ours - seen)
    assert not missing, f"ops no registry entry records, forward or in its backward: {missing}"
