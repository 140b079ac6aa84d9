"""The op mapping table: each recorded op as ONNX operators (``EXPORTERS``), and back (``IMPORTERS``).

=============================  ==========================================  =================================
tinygrad_mnist op              ONNX operator(s) written                    read back by ``load`` as
=============================  ==========================================  =================================
Add, Sub, Mul, Div             Add, Sub, Mul, Div (a Cast where NumPy      ``a + b``, ``a - b``, ...
                               would promote a mixed dtype)
Neg, Exp, Log                  Neg, Exp, Log                               ``-x``, ``x.exp()``, ``x.log()``
ReLU, Sigmoid, Tanh            Relu, Sigmoid, Tanh                         ``x.relu()``, ...
Pow (a number exponent)        Pow with a constant exponent                ``x ** exponent``
MatMul                         MatMul; Gemm when an operand is transposed  ``a @ b``; ``ops.MatMul``
Linear (``nn.Linear``)         Gemm (transB=1)                             ``F.linear`` (or ``ops.MatMul``)
conv2d (``nn.Conv2d``)         Conv                                        ``conv2d``
MaxPool2d, AvgPool2d           MaxPool, AveragePool (count_include_pad=1)  ``max_pool2d``, ``avg_pool2d``
Reshape (``flatten``)          Reshape (the batch axis -1)                 ``reshape``; Flatten too
Transpose                      Transpose                                   ``transpose``
Sum, Max (``mean`` = Sum/n)    ReduceSum, ReduceMax                        ``sum``, ``max``; ReduceMean too
Expand                         Expand                                      ``expand``
Softmax, LogSoftmax            Softmax, LogSoftmax                         ``softmax``, ``log_softmax``
Cast, Clone                    Cast, Identity                              ``to``, the same tensor
=============================  ==========================================  =================================

No mapping: ``CrossEntropy`` (a loss: export the logits), the backward ops (``CrossEntropyBackward``,
``Col2Im``, ``ConvMatmulAdjoint``, ``MaxUnpool2d``, ``AvgUnpool2d``, ``GatherWinners``) and custom
``Function`` subclasses; exporting them is an ``UnsupportedOperatorError`` naming them. A new op joins
by adding its converter here: ``EXPORTERS[MyOp] = lambda builder, node: builder.add(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import ops
from ..autograd import Function
from ..ops.conv import AvgPool2d, ConvMatmul, Im2Col, MaxPool2d
from .errors import OnnxError

if TYPE_CHECKING:
    from .export import GraphBuilder

Exporter = Callable[["GraphBuilder", Any], str]


# ----- export: one converter per recorded op -------------------------------------------------


def _elementwise(op_type: str) -> Exporter:
    """An ONNX elementwise operator over all of the node's inputs, each in the node's output dtype."""

    def convert(builder: GraphBuilder, node: Function) -> str:
        return builder.add(op_type, [builder.cast(edge, node.out_dtype) for edge in node.parents])

    return convert


def _pow(builder: GraphBuilder, node: ops.Pow) -> str:
    exponent = builder.constant(np.asarray(node.exponent, dtype=node.out_dtype))
    return builder.add("Pow", [builder.value(node.parents[0]), exponent])


def _matmul(builder: GraphBuilder, node: ops.MatMul) -> str:
    """``a @ b``, or BLAS's transposed operands as Gemm's flags (the op's backward makes those)."""
    a, b = (builder.value(edge) for edge in node.parents[:2])
    transpose_a, transpose_b = node.transposed
    if not (transpose_a or transpose_b):
        return builder.add("MatMul", [a, b])
    return builder.add("Gemm", [a, b], transA=int(transpose_a), transB=int(transpose_b))


def _linear(builder: GraphBuilder, node: ops.Linear) -> str:
    """``x @ weight.T + bias``: Gemm with the weight in PyTorch's (out, in) layout, as torch.onnx writes it."""
    inputs = [builder.value(edge) for edge in node.parents if edge is not None]
    return builder.add("Gemm", inputs, transB=1)


def _reshape(builder: GraphBuilder, node: ops.Reshape) -> str:
    return builder.add("Reshape", [builder.value(node.parents[0]), builder.int64s(builder.target_shape(node))])


def _transpose(builder: GraphBuilder, node: ops.Transpose) -> str:
    ndim = len(node.out_shape)
    perm = list(range(ndim))[::-1] if node.inverse is None else np.argsort(node.inverse).tolist()
    return builder.add("Transpose", [builder.value(node.parents[0])], perm=perm)


def _cast(builder: GraphBuilder, node: ops.Cast) -> str:
    return builder.add("Cast", [builder.value(node.parents[0])], to=builder.tensor_type(node.out_dtype))


def _sum(builder: GraphBuilder, node: ops.Sum) -> str:
    x = node.parents[0]
    if not node.axes:  # the sum of a 0-d tensor is itself
        return builder.add("Identity", [builder.value(x)])
    keepdims = len(node.out_shape) == len(builder.shape(x))
    return builder.reduce("ReduceSum", builder.value(x), node.axes, keepdims)


def _max(builder: GraphBuilder, node: ops.Max) -> str:
    """ReduceMax. ``Max`` keeps no axes, only its output's shape with them kept; the axes are those that
    shrink to 1 in either trace (one of the two batches has two rows or more), plus, without keepdims,
    the size-1 axes that disappear from the output."""
    x = node.parents[0]
    reduced: set[int] = set()
    for traced in (node, builder.twin(node)):
        if traced is not None:
            in_shape = builder.shape(traced.parents[0])
            reduced |= {i for i, (n, k) in enumerate(zip(in_shape, traced.keep_shape, strict=True)) if n != k}
    in_shape, out_shape = builder.shape(x), tuple(node.out_shape)
    keepdims = len(out_shape) == len(in_shape)
    axes = sorted(reduced) if keepdims else _dropped_axes(in_shape, out_shape, reduced)
    if not axes:  # only size-1 axes, kept: the maximum is the input
        return builder.add("Identity", [builder.value(x)])
    return builder.reduce("ReduceMax", builder.value(x), axes, keepdims)


def _dropped_axes(in_shape: tuple[int, ...], out_shape: tuple[int, ...], reduced: set[int]) -> list[int]:
    """The axes of ``in_shape`` that are not in ``out_shape``: the ``reduced`` ones, and size-1 ones to match."""
    axes, j = [], 0
    for i, size in enumerate(in_shape):
        if i not in reduced and j < len(out_shape) and out_shape[j] == size:
            j += 1
        else:
            axes.append(i)
    return axes


def _expand(builder: GraphBuilder, node: ops.Expand) -> str:
    """Expand to the traced shape, with 1 (ONNX's broadcasting keeps the input's size) where the batch is."""
    x = node.parents[0]
    shape = list(node.out_shape)
    offset = len(shape) - len(builder.shape(x))
    for axis in builder.batch_dims(node):
        if axis - offset not in builder.batch_dims(x):
            raise OnnxError(
                f"export: expand to {tuple(shape)} makes axis {axis} follow the batch size from a tensor whose "
                "axis does not; export with dynamic_batch=False"
            )
        shape[axis] = 1
    return builder.add("Expand", [builder.value(x), builder.int64s(shape)])


def _softmax(op_type: str) -> Exporter:
    def convert(builder: GraphBuilder, node: Function) -> str:
        return builder.add(op_type, [builder.value(node.parents[0])], axis=int(node.axis))

    return convert


def _pool_attributes(windows: Any) -> dict[str, list[int]]:
    (ph, pw) = windows.padding
    return {"kernel_shape": list(windows.kernel), "strides": list(windows.stride), "pads": [ph, pw, ph, pw]}


def _max_pool(builder: GraphBuilder, node: MaxPool2d) -> str:
    return builder.add("MaxPool", [builder.value(node.parents[0])], **_pool_attributes(node.windows))


def _avg_pool(builder: GraphBuilder, node: AvgPool2d) -> str:
    attributes = _pool_attributes(node.windows)
    return builder.add("AveragePool", [builder.value(node.parents[0])], count_include_pad=1, **attributes)


#: Recorded op (a ``Function`` subclass) -> its converter.
EXPORTERS: dict[type[Function], Exporter] = {
    ops.Add: _elementwise("Add"),
    ops.Sub: _elementwise("Sub"),
    ops.Mul: _elementwise("Mul"),
    ops.Div: _elementwise("Div"),
    ops.Neg: _elementwise("Neg"),
    ops.Exp: _elementwise("Exp"),
    ops.Log: _elementwise("Log"),
    ops.ReLU: _elementwise("Relu"),
    ops.Sigmoid: _elementwise("Sigmoid"),
    ops.Tanh: _elementwise("Tanh"),
    ops.Clone: _elementwise("Identity"),
    ops.Pow: _pow,
    ops.MatMul: _matmul,
    ops.Linear: _linear,
    ops.Reshape: _reshape,
    ops.Transpose: _transpose,
    ops.Cast: _cast,
    ops.Sum: _sum,
    ops.Max: _max,
    ops.Expand: _expand,
    ops.Softmax: _softmax("Softmax"),
    ops.LogSoftmax: _softmax("LogSoftmax"),
    MaxPool2d: _max_pool,
    AvgPool2d: _avg_pool,
}


# ----- export: several recorded nodes as one ONNX operator -------------------------------------


@dataclass(frozen=True)
class Fusion:
    """Recorded nodes exported together as the last one: the edges they read, and how to write them."""

    sources: tuple[Any, ...]
    emit: Callable[[GraphBuilder], str]


def _conv2d(node: Function) -> Fusion | None:
    """``conv2d``'s three recorded steps (Im2Col, ConvMatmul, and the Reshape + Transpose to NCHW) as one Conv.

    Matched at the final Transpose; the weight is read from before conv2d's own transpose and reshape
    of it into the kernel, so the initializer is the parameter, in PyTorch's (out, in, kh, kw) layout.
    """
    if not isinstance(node, ops.Transpose) or node.inverse != (0, 2, 3, 1):
        return None
    rows = node.parents[0]
    matmul = rows.parents[0] if isinstance(rows, ops.Reshape) else None
    windows_node = matmul.parents[0] if isinstance(matmul, ConvMatmul) else None
    if not isinstance(windows_node, Im2Col):
        return None
    x, windows = windows_node.parents[0], windows_node.windows
    kernel, bias = matmul.parents[1], (matmul.parents[2] if len(matmul.parents) > 2 else None)
    weight = _unflattened(kernel)

    def emit(builder: GraphBuilder) -> str:
        if weight is not None:
            w = builder.value(weight)
        else:  # a kernel computed some other way: back to (out, in, kh, kw) in the graph
            out_channels, _, in_channels = builder.shape(kernel)
            shape = builder.int64s([out_channels, *windows.kernel, in_channels])
            w = builder.add("Transpose", [builder.add("Reshape", [builder.value(kernel), shape])], perm=[0, 3, 1, 2])
        inputs = [builder.value(x), w] + ([builder.value(bias)] if bias is not None else [])
        return builder.add("Conv", inputs, **_pool_attributes(windows))

    return Fusion((x, kernel if weight is None else weight, bias), emit)


def _unflattened(kernel: Any) -> Any:
    """The (out, in, kh, kw) weight conv2d flattened into ``kernel`` (Transpose (0, 2, 3, 1) then Reshape), or None."""
    if isinstance(kernel, ops.Reshape):
        moved = kernel.parents[0]
        if isinstance(moved, ops.Transpose) and moved.inverse == (0, 3, 1, 2):
            return moved.parents[0]
    return None


#: Matchers tried on every node before its own converter: the first that returns a Fusion wins.
FUSIONS: tuple[Callable[[Function], Fusion | None], ...] = (_conv2d,)
