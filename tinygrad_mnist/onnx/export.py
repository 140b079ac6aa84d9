"""ONNX export: trace one forward pass, map each recorded op to standard ONNX operators, write the model.

The graph ``backward()`` walks is already the model's program, so exporting is reading it:

1. **Trace.** The model runs once on the example input, which is made to require a gradient
   (and so are the parameters, for the duration), so that every op on the way records a node.
   The model is in ``eval()`` mode meanwhile, as ``torch.onnx.export`` puts it: Dropout records
   nothing. Forward hooks note which module produced which node, for the ONNX node names.
2. **Batch axes.** With ``dynamic_batch=True`` (the default) the model runs a second time on a
   batch one row longer. The two graphs must be the same program; the axes whose sizes differ
   between them are the batch axes, which become ``-1`` in reshape targets and ``batch`` in the
   model's input and output shapes. A constant that differs between the two (the count of a
   mean over the batch axis, say) cannot follow the batch, so it is an error.
3. **Map.** Nodes are visited in forward order, each handed to its converter in
   ``mapping.EXPORTERS`` (or to a fusion such as conv2d's three steps -> one ``Conv``), which
   adds ONNX nodes. Parameters become initializers under their ``named_parameters()`` names;
   other constants become ``Constant`` nodes. An op with no mapping is an error naming it.
4. **Write.** The model passes ``onnx.checker.check_model`` before it is written, atomically.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..autograd import Function, enable_grad, topological_order
from ..files import atomic_write
from ..nn.module import Module
from ..tensor import Tensor
from .errors import OnnxError, UnsupportedOperatorError, require

#: The opset written unless ``opset_version`` says otherwise (ONNX Runtime 1.16 and newer run it).
DEFAULT_OPSET = 18
#: The oldest opset written: 13 is where Softmax became per-axis and ReduceSum took its axes as an input.
MIN_OPSET = 13
#: The symbolic name of the batch axis in the model's input and output shapes.
BATCH = "batch"

#: What a node's ``parents`` hold: the node that made an input, a leaf Tensor, or None for a non-tensor.
Edge = Any


@dataclass
class _Trace:
    """One recorded forward pass: its inputs and outputs, its nodes in forward order, who made which node."""

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    nodes: list[Function]
    module_of: dict[int, str]


def export(
    model: Module | Callable[..., Any],
    args: Any,
    f: str | Path | IO[bytes],
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
    opset_version: int | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Any:
    """Trace ``model(*args)`` once and write it to ``f`` as an ONNX model; returns the ``onnx.ModelProto``.

    ``model`` is an ``nn.Module`` or any function of Tensors; ``args`` is its example input, a
    Tensor or array, or a tuple of them (as in ``torch.onnx.export``), each floating-point with
    the batch on axis 0. ``f`` is a path (written atomically) or a binary file object.
    ``input_names``/``output_names`` name the graph's inputs and outputs (default ``input``,
    ``output``, numbered when there are several). ``dynamic_batch`` makes axis 0 of every input,
    and the axes that follow it, the symbolic ``batch``; ``False`` fixes every size as traced.
    ``metadata`` is written as the model's ``metadata_props`` (string keys and values).

    Raises ``UnsupportedOperatorError`` naming every op with no ONNX mapping, and ``OnnxError``
    for inputs, names or an opset that cannot be exported; nothing is written then.
    """
    onnx = require("onnx")
    opset = _check_opset(onnx, opset_version)
    arrays = _example_arrays(args, dynamic_batch)
    inputs = _names(input_names, len(arrays), "input")
    with _export_mode(model):
        trace = _trace(model, arrays)
        twin = _trace(model, tuple(np.concatenate([a, a[:1]]) for a in arrays)) if dynamic_batch else None
    batch_dims, twins = _batch_dims(trace, twin) if twin is not None else ({}, {})
    outputs = _names(output_names, len(trace.outputs), "output")
    parameters = dict(model.named_parameters()) if isinstance(model, Module) else {}
    builder = GraphBuilder(onnx, opset, trace, inputs, parameters, batch_dims, twins, dynamic_batch)
    graph_name = type(model).__name__ if isinstance(model, Module) else getattr(model, "__name__", "model")
    proto = builder.build(outputs, graph_name)
    if metadata:
        onnx.helper.set_model_props(proto, {str(key): str(value) for key, value in metadata.items()})
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        raise OnnxError(f"export: the ONNX graph made for {graph_name} does not pass onnx.checker ({error})") from None
    _write(proto.SerializeToString(), f)
    return proto


# ----- tracing ---------------------------------------------------------------------------


def _check_opset(onnx: Any, opset_version: int | None) -> int:
    newest = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset_version is None else opset_version
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise OnnxError(
            f"export: opset_version must be an int from {MIN_OPSET} to {newest} (this onnx package's newest), "
            f"got {opset_version!r}"
        )
    return opset


def _example_arrays(args: Any, dynamic_batch: bool) -> tuple[np.ndarray, ...]:
    """The example input as arrays (one Tensor or array, or a tuple or list of them), each with rows to
    trace a batch axis on when ``dynamic_batch``."""
    items = tuple(args) if isinstance(args, tuple | list) else (args,)
    if not items:
        raise OnnxError("export: give an example input (a Tensor, an array, or a tuple of them)")
    arrays = []
    for i, item in enumerate(items):
        if not isinstance(item, Tensor | np.ndarray | np.generic):
            raise OnnxError(f"export: input {i} is a {type(item).__name__}; give a Tensor or an array per input")
        array = np.asarray(item.numpy() if isinstance(item, Tensor) else item)
        if not np.issubdtype(array.dtype, np.floating):
            raise OnnxError(f"export: input {i} is {array.dtype}; example inputs must be floating-point arrays")
        if dynamic_batch and (array.ndim == 0 or len(array) == 0):
            raise OnnxError(
                f"export: input {i} has shape {array.shape}, so no batch axis to trace: give it at least one row, "
                "or pass dynamic_batch=False to fix every size"
            )
        arrays.append(array)
    return tuple(arrays)


@contextlib.contextmanager
def _export_mode(model: Any) -> Iterator[None]:
    """``model`` in eval mode with every parameter requiring grad (so every op records), restored afterwards."""
    if not isinstance(model, Module):
        yield
        return
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    model.eval()
    for param, _ in flags:
        param.requires_grad = True
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training
        for param, requires_grad in flags:
            param.requires_grad = requires_grad


def _trace(model: Any, arrays: tuple[np.ndarray, ...]) -> _Trace:
    """Run ``model`` once on leaves that require grad, so that every op on the way records a node."""
    inputs = tuple(Tensor(array).requires_grad_() for array in arrays)
    module_of: dict[int, str] = {}
    handles = []
    if isinstance(model, Module):
        for name, module in model.named_modules():
            handles.append(module.register_forward_hook(_note_module(name, module_of)))
    try:
        with enable_grad():
            result = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    outputs = tuple(result) if isinstance(result, tuple | list) else (result,)
    for i, output in enumerate(outputs):
        if not isinstance(output, Tensor):
            raise OnnxError(f"export: the model's output {i} is a {type(output).__name__}; it must return Tensors")
    roots = [output.grad_fn for output in outputs if output.grad_fn is not None]
    return _Trace(inputs, outputs, list(reversed(topological_order(*roots))), module_of)


def _note_module(name: str, module_of: dict[int, str]) -> Callable[..., None]:
    """A forward hook noting that the module called ``name`` made its output's node (the innermost module wins)."""

    def hook(module: Module, args: tuple[Any, ...], output: Any) -> None:
        if isinstance(output, Tensor) and output.grad_fn is not None:
            module_of.setdefault(id(output.grad_fn), name)

    return hook


def _batch_dims(first: _Trace, second: _Trace) -> tuple[dict[int, frozenset[int]], dict[int, Function]]:
    """Per node of ``first``: the output axes whose size changed in ``second`` (traced one row longer), and
    the matching node of ``second``. Refuses two traces that are not the same program."""
    changed = "the recorded graph changes with the batch size ({}); export with dynamic_batch=False"
    if len(first.nodes) != len(second.nodes) or len(first.outputs) != len(second.outputs):
        raise OnnxError(
            "export: " + changed.format(f"{len(first.nodes)} ops at one size, {len(second.nodes)} at another")
        )
    position = {id(node): i for i, node in enumerate(first.nodes)}
    position.update({id(node): i for i, node in enumerate(second.nodes)})
    position.update({id(t): -1 - i for trace in (first, second) for i, t in enumerate(trace.inputs)})
    dims: dict[int, frozenset[int]] = {}
    twins: dict[int, Function] = {}
    for a, b in zip(first.nodes, second.nodes, strict=True):
        if type(a) is not type(b) or len(a.parents) != len(b.parents) or len(a.out_shape) != len(b.out_shape):
            raise OnnxError("export: " + changed.format(f"{a.op_name} at one size, {b.op_name} at another"))
        for k, (pa, pb) in enumerate(zip(a.parents, b.parents, strict=True)):
            if position.get(id(pa)) != position.get(id(pb)):
                raise OnnxError("export: " + changed.format(f"the inputs of {a.op_name} differ"))
            if isinstance(pa, Tensor) and id(pa) not in position and pa is not pb and not _same_array(pa, pb):
                raise OnnxError(
                    f"export: input {k} of {a.op_name} is a constant of shape {pa.shape} that changes with the batch "
                    "size (the count of a mean over the batch axis, or an array made from the input's shape?); "
                    "it cannot follow a symbolic batch: export with dynamic_batch=False"
                )
        dims[id(a)] = frozenset(i for i, (m, n) in enumerate(zip(a.out_shape, b.out_shape, strict=True)) if m != n)
        twins[id(a)] = b
    return dims, twins


def _same_array(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a.numpy(), b.numpy(), equal_nan=True))


def _names(given: Sequence[str] | None, count: int, kind: str) -> list[str]:
    if given is None:
        return [kind] if count == 1 else [f"{kind}_{i}" for i in range(count)]
    names = list(given)
    if len(names) != count or len(set(names)) != count or not all(isinstance(n, str) and n for n in names):
        raise OnnxError(
            f"export: {kind}_names must be {count} distinct non-empty strings, one per {kind}; got {given!r}"
        )
    return names


def _write(data: bytes, f: str | Path | IO[bytes]) -> None:
    """``data`` into a binary file object, or into the file at a path, atomically."""
    if hasattr(f, "write"):
        f.write(data)
        return
    with atomic_write(Path(f)) as temporary:
        temporary.write_bytes(data)


# ----- building the ONNX graph -------------------------------------------------------------


class GraphBuilder:
    """What a converter sees: the ONNX names, shapes, dtypes and batch axes of a node's inputs, and
    ``add`` to append ONNX nodes. A converter is ``convert(builder, node) -> name of the node's value``."""

    def __init__(
        self,
        onnx: Any,
        opset: int,
        trace: _Trace,
        input_names: list[str],
        parameters: dict[str, Tensor],
        batch_dims: dict[int, frozenset[int]],
        twins: dict[int, Function],
        dynamic_batch: bool,
    ) -> None:
        self.onnx, self.opset, self.trace, self.dynamic_batch = onnx, opset, trace, dynamic_batch
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._batch_dims, self._twins = batch_dims, twins
        self._parameter_names = {id(param): name for name, param in parameters.items()}
        self._values: dict[int, str] = {id(t): name for t, name in zip(trace.inputs, input_names, strict=True)}
        self._taken: set[str] = {*input_names, *parameters}
        self._counter = itertools.count()
        self._outputs_named: set[str] = set()
        self.prefix = ""

    # ----- what converters read -----

    def value(self, edge: Edge) -> str:
        """The ONNX name of an input edge's value; a leaf becomes an initializer or a Constant on first use."""
        if edge is None:
            raise OnnxError("export: an op input that is not a tensor cannot be exported")
        name = self._values.get(id(edge))
        if name is None:
            name = self._values[id(edge)] = self._leaf(edge)
        return name

    def shape(self, edge: Edge) -> tuple[int, ...]:
        """The traced shape of an edge's value."""
        return tuple(edge.out_shape) if isinstance(edge, Function) else tuple(edge.shape)

    def dtype(self, edge: Edge) -> np.dtype:
        return edge.out_dtype if isinstance(edge, Function) else edge.dtype

    def batch_dims(self, edge: Edge) -> frozenset[int]:
        """The axes of an edge's value whose size follows the batch: {0} for an input, none for a parameter."""
        if not self.dynamic_batch:
            return frozenset()
        if any(edge is t for t in self.trace.inputs):
            return frozenset({0})
        return self._batch_dims.get(id(edge), frozenset())

    def twin(self, node: Function) -> Function | None:
        """The same node in the trace one row longer (None with ``dynamic_batch=False``)."""
        return self._twins.get(id(node))

    def target_shape(self, node: Function) -> list[int]:
        """The node's output shape as a Reshape target: the axis that follows the batch is -1."""
        shape = list(node.out_shape)
        dims = self.batch_dims(node)
        if len(dims) > 1:
            raise OnnxError(
                f"export: {node.op_name} to shape {tuple(shape)} has {len(dims)} axes that follow the batch size "
                "(ONNX's Reshape can infer only one); export with dynamic_batch=False"
            )
        for axis in dims:
            shape[axis] = -1
        return shape

    # ----- what converters write -----

    def add(self, op_type: str, inputs: Sequence[str], **attributes: Any) -> str:
        """Append one ONNX node of ``op_type`` reading ``inputs``; returns the name of its output."""
        name = self._unique(f"{self.prefix}/{op_type}")
        output = f"{name}_output_0"
        self._taken.add(output)
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], name=name, **attributes))
        return output

    def constant(self, array: Any) -> str:
        """A ``Constant`` node holding ``array`` (shapes, axes, scalars); returns its output's name."""
        return self.add("Constant", [], value=self.onnx.numpy_helper.from_array(np.asarray(array)))

    def int64s(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant: a shape or a list of axes, as ONNX takes them."""
        return self.constant(np.asarray(list(values), dtype=np.int64))

    def cast(self, edge: Edge, dtype: np.dtype) -> str:
        """The edge's value in ``dtype``: itself, or a ``Cast`` (NumPy promotes mixed dtypes; ONNX does not)."""
        if self.dtype(edge) == dtype:
            return self.value(edge)
        return self.add("Cast", [self.value(edge)], to=self.tensor_type(dtype))

    def reduce(self, op_type: str, x: str, axes: Sequence[int], keepdims: bool) -> str:
        """A Reduce* node: axes as an input from opset 13 for ReduceSum, from 18 for the others."""
        since = 13 if op_type == "ReduceSum" else 18
        if self.opset >= since:
            return self.add(op_type, [x, self.int64s(axes)], keepdims=int(keepdims))
        return self.add(op_type, [x], axes=list(axes), keepdims=int(keepdims))

    def tensor_type(self, dtype: np.dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    # ----- the walk -----

    def build(self, output_names: list[str], graph_name: str) -> Any:
        """Convert every node the outputs need, in forward order, and assemble the ``ModelProto``."""
        from .mapping import EXPORTERS, FUSIONS

        fusions = {}
        for node in self.trace.nodes:
            for match in FUSIONS:
                fusion = match(node)
                if fusion is not None:
                    fusions[id(node)] = fusion
                    break
        needed = _needed(self.trace.outputs, fusions)
        todo = [node for node in self.trace.nodes if id(node) in needed]
        missing = sorted({node.op_name for node in todo if id(node) not in fusions and type(node) not in EXPORTERS})
        if missing:
            supported = sorted({cls.__name__ for cls in EXPORTERS} | {"conv2d"})
            raise UnsupportedOperatorError(
                f"export: {', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no ONNX mapping "
                f"(ops with one: {', '.join(supported)}); export the model's outputs without "
                f"{'it' if len(missing) == 1 else 'them'} (a loss, a backward op or a custom Function), "
                "or add a converter to tinygrad_mnist.onnx.mapping.EXPORTERS"
            )
        for node in todo:
            module = self.trace.module_of.get(id(node), "")
            self.prefix = f"/{module}" if module else ""
            fusion = fusions.get(id(node))
            self._values[id(node)] = fusion.emit(self) if fusion is not None else EXPORTERS[type(node)](self, node)
        self.prefix = ""
        helper = self.onnx.helper
        graph_inputs = [self._value_info(self._values[id(t)], t) for t in self.trace.inputs]
        graph_outputs = [self._output(t, name) for t, name in zip(self.trace.outputs, output_names, strict=True)]
        graph = helper.make_graph(self.nodes, graph_name, graph_inputs, graph_outputs, initializer=self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        return helper.make_model(
            graph,
            opset_imports=opsets,
            ir_version=helper.find_min_ir_version_for(opsets),
            producer_name="tinygrad_mnist",
            producer_version=_version(),
        )

    def _leaf(self, leaf: Tensor) -> str:
        """A parameter as an initializer under its own name; any other leaf as a Constant node."""
        if not leaf.requires_grad:
            return self.constant(leaf.numpy())
        name = self._parameter_names.get(id(leaf)) or self._unique("param")
        self._taken.add(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(leaf.numpy()), name))
        return name

    def _output(self, tensor: Tensor, name: str) -> Any:
        """Make ``tensor``'s value the graph output ``name``: its node's output renamed, or an Identity."""
        edge = tensor.grad_fn if tensor.grad_fn is not None else tensor
        value = self.value(edge)
        if name in self._taken:
            raise OnnxError(f"export: output name {name!r} is already the name of an input, parameter or node")
        producer = next((node for node in self.nodes if value in node.output), None)
        if producer is None or value in self._outputs_named:
            self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name], name=self._unique("/Identity")))
        else:
            for node in self.nodes:
                node.input[:] = [name if v == value else v for v in node.input]
            producer.output[:] = [name if v == value else v for v in producer.output]
            self._values[id(edge)] = name
        self._outputs_named.add(name)
        self._taken.add(name)
        return self._value_info(name, edge)

    def _value_info(self, name: str, edge: Edge) -> Any:
        """The graph-level type of a value: its dtype and shape, batch axes symbolic."""
        dims = self.batch_dims(edge)
        shape = self.shape(edge)
        first = self.trace.inputs[0].shape[0] if self.trace.inputs and self.trace.inputs[0].ndim else None
        symbolic = [(BATCH if size == first else None) if axis in dims else size for axis, size in enumerate(shape)]
        return self.onnx.helper.make_tensor_value_info(name, self.tensor_type(self.dtype(edge)), symbolic)

    def _unique(self, base: str) -> str:
        name = base
        while name in self._taken:
            name = f"{base}_{next(self._counter)}"
        self._taken.add(name)
        return name


def _needed(outputs: tuple[Tensor, ...], fusions: dict[int, Any]) -> set[int]:
    """The nodes the outputs depend on, reading a fused node's sources instead of its parents."""
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    needed: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in needed:
            continue
        needed.add(id(node))
        fusion = fusions.get(id(node))
        stack.extend(edge for edge in (fusion.sources if fusion else node.parents) if isinstance(edge, Function))
    return needed


def _version() -> str:
    from .. import __version__

    return __version__
