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

``load`` also reads what other exporters write: Flatten, ReduceMean, GlobalAveragePool, Constant,
Identity, and Gemm with alpha, beta and transposes.

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
from ..ops.conv import AvgPool2d, ConvMatmul, Im2Col, MaxPool2d, avg_pool2d, conv2d, max_pool2d
from ..tensor import Tensor, linear
from .errors import OnnxError, UnsupportedOperatorError

if TYPE_CHECKING:
    from .export import GraphBuilder
    from .load import OnnxNode

Exporter = Callable[["GraphBuilder", Any], str]
Importer = Callable[["OnnxNode", list[Any]], Tensor]


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


def _transpose(builder: GraphBuilder, node: ops.Permute) -> str:
    perm = np.argsort(node.inverse).tolist()
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
    ops.Permute: _transpose,
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
    if not isinstance(node, ops.Permute) or node.inverse != (0, 2, 3, 1):
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
        if isinstance(moved, ops.Permute) and moved.inverse == (0, 3, 1, 2):
            return moved.parents[0]
    return None


#: Matchers tried on every node before its own converter: the first that returns a Fusion wins.
FUSIONS: tuple[Callable[[Function], Fusion | None], ...] = (_conv2d,)


# ----- import: one builder per ONNX operator ----------------------------------------------------


def _unsupported(node: OnnxNode, why: str) -> UnsupportedOperatorError:
    return UnsupportedOperatorError(f"load: {node.op_type} node {node.name!r}: {why}")


def _axes(node: OnnxNode, inputs: list[Any]) -> tuple[int, ...] | None:
    """A Reduce* node's axes: the attribute (older opsets) or the second input; None for all axes."""
    if "axes" in node.attributes:
        return tuple(node.attributes["axes"])
    if len(inputs) > 1 and inputs[1] is not None and inputs[1].numel():
        return tuple(int(a) for a in inputs[1].numpy().reshape(-1))
    return None


def _reduce(method: str) -> Importer:
    def build(node: OnnxNode, inputs: list[Any]) -> Tensor:
        x, axes = inputs[0], _axes(node, inputs)
        if axes is None and node.attributes.get("noop_with_empty_axes", 0):
            return x
        return getattr(x, method)(axes, bool(node.attributes.get("keepdims", 1)))

    return build


def _gemm(node: OnnxNode, inputs: list[Any]) -> Tensor:
    """Gemm: ``F.linear`` when it is a fully connected layer (what export writes), else matmul, scale and add."""
    a, b, c = [*inputs, None][:3]
    get = node.attributes.get
    alpha, beta, transpose_a, transpose_b = get("alpha", 1.0), get("beta", 1.0), get("transA", 0), get("transB", 0)
    if alpha == beta == 1.0 and not transpose_a and transpose_b and (c is None or c.shape == (b.shape[0],)):
        return linear(a, b, c)
    out = ops.MatMul.apply(a, b, bool(transpose_a), bool(transpose_b))
    if alpha != 1.0:
        out = out * alpha
    return out if c is None else out + (c if beta == 1.0 else c * beta)


def _matmul_import(node: OnnxNode, inputs: list[Any]) -> Tensor:
    a, b = inputs
    if a.ndim != 2 or b.ndim != 2:
        raise _unsupported(node, f"operands of shapes {a.shape} and {b.shape}; only 2-D matrix products are supported")
    return a @ b


def _window_arguments(node: OnnxNode, spatial: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(stride, padding) pairs of a Conv or pooling node, refusing what conv2d and pooling cannot do."""
    get = node.attributes.get
    if spatial != 2:
        raise _unsupported(node, f"{spatial}-D windows; only 2-D (N, C, H, W) images are supported")
    if get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise _unsupported(node, f"auto_pad={get('auto_pad')}; give explicit pads")
    if any(d != 1 for d in get("dilations", [1, 1])) or get("group", 1) != 1 or get("ceil_mode", 0):
        raise _unsupported(node, "dilations, groups and ceil_mode other than the defaults are not supported")
    pads = [0, 0, 0, 0] if get("auto_pad") == "VALID" else list(get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise _unsupported(node, f"pads {pads} differ at the two ends of an axis; only symmetric padding is supported")
    stride = list(get("strides", [1, 1]))
    return (stride[0], stride[1]), (pads[0], pads[1])


def _conv(node: OnnxNode, inputs: list[Any]) -> Tensor:
    x, weight, bias = [*inputs, None][:3]
    stride, padding = _window_arguments(node, weight.ndim - 2)
    return conv2d(x, weight, bias, stride, padding)


def _pool(function: Callable[..., Tensor]) -> Importer:
    def build(node: OnnxNode, inputs: list[Any]) -> Tensor:
        kernel = list(node.attributes["kernel_shape"])
        stride, padding = _window_arguments(node, len(kernel))
        if node.attributes.get("storage_order", 0):
            raise _unsupported(node, "storage_order=1 is not supported")
        if node.op_type == "AveragePool" and any(padding) and not node.attributes.get("count_include_pad", 0):
            raise _unsupported(node, "count_include_pad=0 with padding; avg_pool2d counts the zero padding")
        return function(inputs[0], (kernel[0], kernel[1]), stride, padding)

    return build


def _reshape_import(node: OnnxNode, inputs: list[Any]) -> Tensor:
    x, shape = inputs[0], [int(n) for n in inputs[1].numpy().reshape(-1)]
    if not node.attributes.get("allowzero", 0):  # 0 copies the input's size on that axis
        shape = [x.shape[i] if n == 0 else n for i, n in enumerate(shape)]
    return x.reshape(*shape)


def _flatten(node: OnnxNode, inputs: list[Any]) -> Tensor:
    x = inputs[0]
    axis = node.attributes.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    return x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))


def _transpose_import(node: OnnxNode, inputs: list[Any]) -> Tensor:
    x = inputs[0]
    return x.permute(*node.attributes.get("perm", range(x.ndim)[::-1]))


def _softmax_import(method: str) -> Importer:
    """Softmax/LogSoftmax along ``axis``; before opset 13, over everything from ``axis`` on (a 2-D view)."""

    def build(node: OnnxNode, inputs: list[Any]) -> Tensor:
        x = inputs[0]
        if node.opset >= 13:
            return getattr(x, method)(node.attributes.get("axis", -1))
        axis = node.attributes.get("axis", 1) % max(x.ndim, 1)
        rows = x.reshape(int(np.prod(x.shape[:axis])), -1)
        return getattr(rows, method)(1).reshape(*x.shape)

    return build


def _expand_import(node: OnnxNode, inputs: list[Any]) -> Tensor:
    x = inputs[0]
    shape = np.broadcast_shapes(x.shape, tuple(int(n) for n in inputs[1].numpy().reshape(-1)))
    return x if shape == x.shape else x.expand(shape)


def _pow_import(node: OnnxNode, inputs: list[Any]) -> Tensor:
    x, exponent = inputs
    if exponent.requires_grad or exponent.numel() != 1:
        raise _unsupported(node, "only a constant number as the exponent is supported")
    value = exponent.item()
    return x ** (int(value) if float(value).is_integer() else float(value))


def _cast_import(node: OnnxNode, inputs: list[Any]) -> Tensor:
    from onnx.helper import tensor_dtype_to_np_dtype

    return inputs[0].to(tensor_dtype_to_np_dtype(node.attributes["to"]))


def _constant(node: OnnxNode, inputs: list[Any]) -> Tensor:
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in node.attributes:
            value = node.attributes[key]
            dtype = np.float32 if key.startswith("value_float") else np.int64 if key.startswith("value_int") else None
            return Tensor(np.asarray(value, dtype=dtype))
    raise _unsupported(node, f"attributes {sorted(node.attributes)}; only a value is supported")


def _method(name: str, arity: int = 1) -> Importer:
    """An importer calling the Tensor method ``name`` (or, for two operands, the operator method)."""

    def build(node: OnnxNode, inputs: list[Any]) -> Tensor:
        return getattr(inputs[0], name)(*inputs[1:arity])

    return build


#: ONNX operator type -> the builder that runs it with our ops (so the result is differentiable).
IMPORTERS: dict[str, Importer] = {
    "Add": _method("__add__", 2),
    "Sub": _method("__sub__", 2),
    "Mul": _method("__mul__", 2),
    "Div": _method("__truediv__", 2),
    "Neg": _method("__neg__"),
    "Exp": _method("exp"),
    "Log": _method("log"),
    "Relu": _method("relu"),
    "Sigmoid": _method("sigmoid"),
    "Tanh": _method("tanh"),
    "Identity": lambda node, inputs: inputs[0],
    "Pow": _pow_import,
    "MatMul": _matmul_import,
    "Gemm": _gemm,
    "Conv": _conv,
    "MaxPool": _pool(max_pool2d),
    "AveragePool": _pool(avg_pool2d),
    "GlobalAveragePool": lambda node, inputs: inputs[0].mean((2, 3), keepdim=True),
    "Reshape": _reshape_import,
    "Flatten": _flatten,
    "Transpose": _transpose_import,
    "ReduceSum": _reduce("sum"),
    "ReduceMean": _reduce("mean"),
    "ReduceMax": _reduce("amax"),
    "Expand": _expand_import,
    "Softmax": _softmax_import("softmax"),
    "LogSoftmax": _softmax_import("log_softmax"),
    "Cast": _cast_import,
    "Constant": _constant,
}
