"""ONNX import: ``load(path)`` builds a module that runs an ONNX graph with this framework's ops.

Every ONNX node becomes the same computation in Tensor ops (``mapping.IMPORTERS``), so the
loaded model records a graph like any other: it can be drawn, fine-tuned (its floating-point
initializers are Parameters, under their ONNX names) and differentiated to any order. A model
this package exported comes back with the same parameter names and gives the same outputs,
bit for bit, since each ONNX operator maps back onto the op it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..autograd import no_grad
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from .errors import OnnxError, UnsupportedOperatorError, require
from .mapping import IMPORTERS

#: ONNX's names for its default operator set.
_DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class OnnxNode:
    """One ONNX node as an importer sees it: its type, name, value names, attributes (as Python values), opset."""

    op_type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]
    opset: int


@dataclass(frozen=True)
class ValueSpec:
    """A graph input's or output's name, dtype and shape (a symbolic axis, such as the batch, is None)."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...]

    def __str__(self) -> str:
        return f"{self.name} [{', '.join('batch' if n is None else str(n) for n in self.shape)}] {self.dtype}"


class OnnxModule(Module):
    """An ONNX graph run with tinygrad_mnist's ops; call it on one Tensor (or array) per graph input.

    Floating-point initializers are Parameters named as in the file (``0.weight``), so
    ``state_dict()`` matches the exported model's; other initializers are constants.
    Returns one Tensor, or a tuple when the graph has several outputs.
    """

    def __init__(
        self,
        nodes: list[OnnxNode],
        inputs: list[ValueSpec],
        outputs: list[ValueSpec],
        initializers: dict[str, np.ndarray],
        graph_name: str = "",
    ) -> None:
        super().__init__()
        self.nodes, self.inputs, self.outputs, self.graph_name = nodes, inputs, outputs, graph_name
        self.constants: dict[str, Tensor] = {}
        for name, array in initializers.items():
            if np.issubdtype(array.dtype, np.floating):
                if name in self.__dict__ or hasattr(type(self), name):
                    raise OnnxError(f"load: the initializer name {name!r} clashes with an attribute of OnnxModule")
                setattr(self, name, Parameter(array))
            else:
                self.constants[name] = Tensor(array)

    def forward(self, *inputs: Any) -> Tensor | tuple[Tensor, ...]:
        if len(inputs) != len(self.inputs):
            expected = ", ".join(str(spec) for spec in self.inputs)
            raise OnnxError(f"{self.label()}: takes {len(self.inputs)} input(s) ({expected}), got {len(inputs)}")
        values: dict[str, Tensor | None] = {"": None, **self.constants, **dict(self.named_parameters())}
        for spec, given in zip(self.inputs, inputs, strict=True):
            values[spec.name] = _checked_input(self.label(), spec, given)
        for node in self.nodes:
            values[node.outputs[0]] = IMPORTERS[node.op_type](node, [values[name] for name in node.inputs])
        results = tuple(values[spec.name] for spec in self.outputs)
        return results[0] if len(results) == 1 else results

    def label(self) -> str:
        return f"OnnxModule({self.graph_name or 'graph'})"

    def extra_repr(self) -> str:
        inputs = ", ".join(str(spec) for spec in self.inputs)
        outputs = ", ".join(str(spec) for spec in self.outputs)
        return f"{self.graph_name!r}: {len(self.nodes)} nodes, {inputs} -> {outputs}"


def _checked_input(label: str, spec: ValueSpec, given: Any) -> Tensor:
    """``given`` as a Tensor, refused with the expected shape and dtype when it does not fit ``spec``."""
    tensor = given if isinstance(given, Tensor) else Tensor(np.asarray(given))
    fits = tensor.ndim == len(spec.shape) and all(
        n is None or n == m for n, m in zip(spec.shape, tensor.shape, strict=True)
    )
    if not fits or tensor.dtype != spec.dtype:
        raise OnnxError(f"{label}: input {spec} does not fit a tensor of shape {tensor.shape} {tensor.numpy().dtype}")
    return tensor


def load(f: str | Path | IO[bytes] | Any) -> OnnxModule:
    """Read an ONNX model (a path, a binary file object or an ``onnx.ModelProto``) as an ``OnnxModule``.

    Checks the model with ``onnx.checker``, refuses operators with no mapping (naming all of them)
    and runs the graph once on zeros, so a model that loads also runs.
    """
    onnx = require("onnx")
    proto = _read(onnx, f)
    where = f"{f}" if isinstance(f, str | Path) else "the ONNX model"
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        raise OnnxError(f"load: {where} is not a valid ONNX model ({error})") from None
    opsets = {entry.domain: entry.version for entry in proto.opset_import}
    opset = next((opsets[d] for d in _DEFAULT_DOMAINS if d in opsets), 0)
    graph = proto.graph
    foreign = sorted({f"{n.domain}.{n.op_type}" for n in graph.node if n.domain not in _DEFAULT_DOMAINS})
    missing = sorted({n.op_type for n in graph.node if n.domain in _DEFAULT_DOMAINS and n.op_type not in IMPORTERS})
    if foreign or missing:
        raise UnsupportedOperatorError(
            f"load: {where} uses {', '.join(foreign + missing)}, which tinygrad_mnist cannot run "
            f"(ONNX operators it can: {', '.join(sorted(IMPORTERS))})"
        )
    several = next((n for n in graph.node if len([name for name in n.output if name]) > 1), None)
    if several is not None:
        raise UnsupportedOperatorError(
            f"load: {several.op_type} node {several.name!r} has {len(several.output)} outputs; only one is supported"
        )
    initializers = {t.name: onnx.numpy_helper.to_array(t).copy() for t in graph.initializer}
    nodes = [
        OnnxNode(
            n.op_type,
            n.name,
            tuple(n.input),
            tuple(n.output),
            {a.name: _attribute(onnx, a) for a in n.attribute},
            opset,
        )
        for n in graph.node
    ]
    inputs = [_spec(onnx, v) for v in graph.input if v.name not in initializers]
    module = OnnxModule(nodes, inputs, [_spec(onnx, v) for v in graph.output], initializers, graph.name)
    _try_once(module, where)
    return module


def _read(onnx: Any, f: Any) -> Any:
    if isinstance(f, onnx.ModelProto):
        return f
    if isinstance(f, str | Path) and not Path(f).is_file():
        raise FileNotFoundError(f"no ONNX model at {f}; write one with tinygrad_mnist.onnx.export(model, x, path)")
    try:
        return onnx.load_model(f)
    except Exception as error:  # protobuf's DecodeError and others: anything unreadable is one message
        raise OnnxError(f"load: {f} is not a readable ONNX model ({type(error).__name__}: {error})") from None


def _attribute(onnx: Any, attribute: Any) -> Any:
    """An attribute as a Python value: strings decoded, tensors as arrays, lists as lists."""
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return onnx.numpy_helper.to_array(value)
    return list(value) if isinstance(value, list | tuple) else value


def _spec(onnx: Any, value: Any) -> ValueSpec:
    tensor_type = value.type.tensor_type
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim)
    return ValueSpec(value.name, np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)), shape)


def _try_once(module: OnnxModule, where: str) -> None:
    """Run the graph on zeros (a batch of one), so what it cannot run is an error at load time, not later."""
    zeros = [np.zeros([1 if n is None else n for n in spec.shape], dtype=spec.dtype) for spec in module.inputs]
    try:
        with no_grad(), np.errstate(all="ignore"):
            module(*zeros)
    except UnsupportedOperatorError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise OnnxError(f"load: {where} does not run with tinygrad_mnist's ops: {error}") from None
