"""The op registry's battery, run on every registered op, and the check that no public op is missing from it."""

import inspect
import shutil

import numpy as np
import pytest
from hypothesis import find

from tinygrad_mnist import GradcheckError, Tensor, nn, ops
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.testing import (
    GRAPH_OPS,
    PROPERTIES,
    REGISTRY,
    Graph,
    GraphNode,
    GraphOp,
    OpEntry,
    check_graph_gradients,
    check_op,
    failure,
    registered_ops,
)
from tinygrad_mnist.testing.entries import NOT_OPS
from tinygrad_mnist.testing.entries.samples import unary
from tinygrad_mnist.testing.graphs import graph_gaps
from tinygrad_mnist.testing.registry import recorded_functions

OP_DUNDERS = (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
    "__neg__", "__pow__", "__matmul__", "__rmatmul__",
    "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__rpow__", "__eq__", "__ne__", "__lt__", "__le__",
    "__gt__", "__ge__", "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__invert__",
    "__getitem__", "__setitem__",
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
    assert not missing, f"public ops with no registry entry: {missing}; add one in tinygrad_mnist/testing/entries/"


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


class WrongTanh(Function):
    """tanh with the derivative 1 - y instead of 1 - y**2."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x.numpy())
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out)


def test_a_failure_picture_points_at_the_op_with_the_wrong_backward(tmp_path, monkeypatch):
    monkeypatch.setattr(failure, "FAILURES", tmp_path)
    monkeypatch.setitem(GRAPH_OPS, "tanh", GraphOp("{0}.tanh()", WrongTanh.apply))
    graph = Graph(
        inputs=(np.array([0.5, -1.25]), np.array(0.75)),
        nodes=(
            GraphNode("mul", (0, 1), {}, (2,)),
            GraphNode("tanh", (2,), {}, (2,)),
            GraphNode("exp", (3,), {}, (2,)),
            GraphNode("sum", (4,), {"dim": None, "keepdim": False}, ()),
        ),
    )
    with pytest.raises(GradcheckError, match=r"picture of each value's gradient gap: .*graph"):
        check_graph_gradients(graph)
    svg = (tmp_path / "graph.svg").read_text() if shutil.which("dot") else (tmp_path / "graph.dot").read_text()
    assert "v3 = v2.tanh()" in svg
    gaps = dict(zip(("v0", "v1", "v2", "v3", "v4", "v5"), graph_gaps(graph), strict=True))
    assert gaps["v3"] < 1e-6 and gaps["v2"] > 1e-3  # tanh's result is right, its operand's gradient is not


def test_a_wrong_registered_op_is_named_with_its_inputs_and_picture(tmp_path, monkeypatch):
    monkeypatch.setattr(failure, "FAILURES", tmp_path)
    monkeypatch.setitem(REGISTRY, "wrong_tanh", OpEntry("wrong_tanh", WrongTanh.apply, unary(), np.tanh))
    with pytest.raises(AssertionError, match=r"op 'wrong_tanh', property 'gradient', inputs Sample\(") as caught:
        check_op("wrong_tanh", ["gradient"])
    assert "finite differences give" in str(caught.value) and "wrong_tanh." in str(caught.value)
    assert any(tmp_path.glob("wrong_tanh.*"))
    check_op("wrong_tanh", ["forward", "float32", "no_mutation"])  # its forward is right: only gradients fail
