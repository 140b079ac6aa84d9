"""``Function``: one recorded operation, and the public way to add an op (PyTorch's ``autograd.Function``).

A subclass gives two static methods::

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.numpy() ** 3             # an array, or a Tensor computed from the inputs

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x           # Tensor ops: recorded again under create_graph=True

and is used as ``Cube.apply(x)``. ``forward`` runs without recording a graph and gets the
arguments as given (Tensors stay Tensors; read ``x.numpy()`` for the arrays). ``backward`` gets the
gradient of the output as a Tensor and returns one gradient per ``forward`` argument (``None``
for arguments that are not tensors or need none; missing trailing ones count as ``None``),
each in the output's shape or its input's: the engine sums broadcasting back.
``ctx.needs_input_grad`` says which arguments need one.

``forward`` may return several outputs as a tuple (``None`` among them for an output it does
not make); ``apply`` then returns a tuple of Tensors and ``backward`` gets one gradient per
output: zeros for an output that got none, or ``None`` after ``ctx.set_materialize_grads(False)``.
Outputs that are not floating point (indices, masks) get no gradient.

The instance ``ctx`` is also the graph node: ``parents`` are, per argument, the node that made
it, the leaf Tensor itself, or ``None`` for a non-tensor. Output ``i`` of a node with several
is held by its consumers through an ``OutputOf`` node, whose gradient the engine files under ``i``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tensor as tensor_module
from . import grad_mode

if TYPE_CHECKING:
    from ..tensor import Tensor

#: Marks the saved entry of a node's own output, which must not hold the node (no reference cycle).
_OUTPUT = object()


class Function:
    """Base class of every recorded operation; one instance (``ctx``) per use in a graph.

    The attributes below are class-level defaults, so making a node costs no work:
    ``apply`` sets them on the instance when the op is recorded.
    """

    #: One flag per ``forward`` argument: does it need a gradient (set before ``forward`` runs).
    needs_input_grad: tuple[bool, ...] = ()
    #: Graph edges, one per ``forward`` argument: the node that made it, the leaf Tensor, or None.
    parents: tuple[Any, ...] = ()
    out_shape: tuple[int, ...] = ()
    out_dtype: np.dtype = np.dtype(np.float32)
    #: ``(shape, dtype)`` of each output when ``forward`` returned several (else None); None for a missing one.
    outputs: tuple[Any, ...] | None = None
    #: Whether ``backward`` gets zeros (True) or None for outputs that received no gradient.
    materialize_grads = True
    #: A weak reference to the output tensor once it called ``retain_grad()``.
    retained: Any = None
    #: What ``forward`` passed to ``save_for_backward``; packed by ``apply`` into ``_saved``.
    _to_save: tuple[Any, ...] = ()
    #: Packed saved tensors; ``None`` once the graph was freed by ``backward``.
    _saved: tuple[Any, ...] | None = ()

    @staticmethod
    def forward(ctx: Function, *args: Any) -> Any:
        raise NotImplementedError(f"{type(ctx).__name__} must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Function, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError(f"{type(ctx).__name__} must define backward(ctx, *grad_outputs)")

    @property
    def op_name(self) -> str:
        """The op's name as shown in reprs, errors and graph pictures: ``Mul``."""
        return type(self).__name__

    def name(self) -> str:
        """PyTorch's name for this node: ``MulBackward0``."""
        return f"{self.op_name}Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """PyTorch's edges to the inputs: per argument ``(node, output index)``, an ``AccumulateGrad`` for a
        leaf that requires grad, ``(None, 0)`` for an argument that needs no gradient."""
        return tuple([_next_function(parent) for parent in self.parents])

    # ----- saving for backward -----------------------------------------------------------

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors for ``backward``: inputs, tensors ``forward`` made, the output, or ``None``.

        To save the output of a ``forward`` that returns an array, pass that array; any other
        array is kept as a constant (a mask, indices: no gradient flows through it). Each saved
        tensor remembers its version: an in-place change before ``backward`` is an error.
        ``backward()`` frees what is saved here once it is done; attributes of ctx live as
        long as the graph, so keep only small values (shapes, axes) there.
        """
        self._to_save = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` gets zeros (the default) or ``None`` for outputs that got no gradient."""
        self.materialize_grads = value

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The saved tensors, connected to the graph (so ``backward`` can be differentiated again)."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(_freed_message(self))
        tensors = []
        for entry in saved:
            if entry is None:
                tensors.append(None)
            elif entry[0] is not None and entry[3][0] == entry[4]:  # an unchanged leaf: given back as saved
                tensors.append(entry[0])
            else:
                tensors.append(self._unpack(entry))
        return tuple(tensors)

    def _pack(self, out: Any, returned: Any) -> None:
        """Turn ``_to_save`` into entries that hold leaves as they are and any other tensor as its
        array, node and version: no saved intermediate Tensor objects, and no cycle through the output.

        An output is saved with the marker ``_OUTPUT`` (one output) or its position (several)."""
        several = type(out) is tuple
        entries = []
        for item in self._to_save:
            position = _position(item, returned, out) if several else -1
            if item is None:
                entries.append(None)
            elif not several and (item is returned or item is out):
                entries.append((None, out._data, _OUTPUT, out._versions, out._versions[0]))
            elif position >= 0:
                kept = out[position]
                entries.append((None, kept._data, position, kept._versions, kept._versions[0]))
            elif isinstance(item, tensor_module.Tensor):
                entries.append(
                    (item if item._op is None else None, item._data, item._op, item._versions, item._versions[0])
                )
            elif isinstance(item, np.ndarray | np.generic):
                constant = tensor_module.Tensor._wrap(item)
                entries.append((constant, constant._data, None, constant._versions, 0))
            else:
                raise TypeError(
                    f"{self.op_name}.save_for_backward takes tensors and arrays, got {type(item).__name__}; "
                    "keep other values as attributes of ctx"
                )
        self._to_save = ()
        self._saved = tuple(entries)

    def _unpack(self, entry: tuple[Any, ...]) -> Tensor:
        leaf, data, node, counter, version = entry
        if counter[0] != version:
            which = "its output" if node is _OUTPUT else "a tensor"
            for position, parent in enumerate(self.parents):
                if parent is not None and parent is (node if leaf is None else leaf):
                    which = f"its input {position}"
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an in-place "
                f"operation: {self.op_name} saved {which} of shape {data.shape} at version {version}, and it is "
                f"now at version {counter[0]}. Write x = x + y instead of x += y where an op still needs x"
            )
        if leaf is not None:
            return leaf
        tensor = tensor_module.Tensor._wrap(data)
        if type(node) is int:  # one of several outputs: a new edge to it, filed under the same position
            node = OutputOf.edge(self, node)
        tensor._op, tensor.requires_grad, tensor._versions = (self if node is _OUTPUT else node), True, counter
        return tensor

    def release(self) -> None:
        """Free the saved tensors; the graph's structure (and small ctx attributes) stay, for drawing."""
        self._saved = None

    @property
    def released(self) -> bool:
        return self._saved is None

    # ----- recording ---------------------------------------------------------------------

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run ``forward`` on the arguments and, if any tensor argument requires grad, record the op.

        This runs once per op, forward and backward, so it is kept to a few attribute reads and writes.
        """
        ctx = cls.__new__(cls)
        record = False
        if grad_mode.enabled:
            needs = tuple([isinstance(a, tensor_module.Tensor) and a.requires_grad for a in args])
            record = True in needs
            ctx.needs_input_grad = needs if record else (False,) * len(args)
            grad_mode.enabled = False  # forward records nothing, even when it uses Tensor ops
            try:
                returned = cls.forward(ctx, *args)
            finally:
                grad_mode.enabled = True
        else:
            ctx.needs_input_grad = (False,) * len(args)
            returned = cls.forward(ctx, *args)
        if record:
            ctx.parents = tuple(
                [(a if a._op is None else a._op) if isinstance(a, tensor_module.Tensor) else None for a in args]
            )
        if type(returned) is tuple:
            return cls._several_outputs(ctx, record, returned, args)
        out = tensor_module.Tensor._wrap(returned) if type(returned) is np.ndarray else _as_output(ctx, returned, args)
        if record:
            ctx.out_shape, ctx.out_dtype = out._data.shape, out._data.dtype
            out._op, out.requires_grad = ctx, True
            if ctx._to_save:
                ctx._pack(out, returned)
        return out

    @staticmethod
    def _several_outputs(ctx: Function, record: bool, returned: tuple[Any, ...], args: tuple[Any, ...]) -> Any:
        """``apply`` for a ``forward`` that returned a tuple: a tuple of Tensors (or None), each
        floating one recorded through its own ``OutputOf`` edge."""
        wrap = tensor_module.Tensor._wrap
        outs = tuple(
            [
                None if item is None else wrap(item) if type(item) is np.ndarray else _as_output(ctx, item, args)
                for item in returned
            ]
        )
        if record:
            ctx.outputs = tuple([None if o is None else (o._data.shape, o._data.dtype) for o in outs])
            ctx.out_shape, ctx.out_dtype = next((meta for meta in ctx.outputs if meta is not None), ((), ctx.out_dtype))
            for position, out in enumerate(outs):
                if out is not None and out._data.dtype.kind in "fc":
                    out._op, out.requires_grad = OutputOf.edge(ctx, position), True
            if ctx._to_save:
                ctx._pack(outs, returned)
        return outs

    def __repr__(self) -> str:
        return f"<{self.op_name} -> {self.out_shape} {self.out_dtype}>"


def _as_output(ctx: Function, returned: Any, args: tuple[Any, ...]) -> Tensor:
    """``forward``'s result as a fresh output Tensor: arrays wrapped, an input returned as is given a new Tensor."""
    if isinstance(returned, tensor_module.Tensor):
        if returned._op is None and not returned.requires_grad and not any(returned is a for a in args):
            return returned
        return tensor_module.Tensor._wrap(returned._data)
    if isinstance(returned, np.ndarray | np.generic):
        return tensor_module.Tensor._wrap(returned)
    raise TypeError(
        f"{ctx.op_name}.forward must return Tensors or arrays (a tuple of them for several outputs), "
        f"got {type(returned).__name__}"
    )


def _position(item: Any, returned: tuple[Any, ...], outs: tuple[Any, ...]) -> int:
    """Which of several outputs ``item`` is (as ``forward`` returned it, or as wrapped), or -1."""
    if item is None:
        return -1
    for position, (given, out) in enumerate(zip(returned, outs, strict=True)):
        if item is given or item is out:
            return position
    return -1


class OutputOf(Function):
    """The edge from output ``position`` of a node with several outputs to that output's consumers.

    Its backward passes the gradient through; the engine files it under ``position`` of the
    node, which gets all its outputs' gradients in one ``backward`` call.
    """

    position = 0

    @staticmethod
    def edge(source: Function, position: int) -> OutputOf:
        node = OutputOf.__new__(OutputOf)
        node.parents, node.needs_input_grad, node.position = (source,), (True,), position
        node.out_shape, node.out_dtype = source.outputs[position]
        return node

    @staticmethod
    def forward(ctx: Function, *args: Any) -> Any:
        raise RuntimeError("OutputOf is made by Function.apply for each output of a node with several")

    @staticmethod
    def backward(ctx: Function, grad: Tensor) -> Tensor:
        return grad

    @property
    def op_name(self) -> str:
        return f"{self.parents[0].op_name}[{self.position}]"


class AccumulateGrad:
    """Where a leaf's gradient is accumulated, as PyTorch's ``next_functions`` shows a leaf: ``.variable``."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple[()]:
        return ()

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _next_function(parent: Any) -> tuple[Any, int]:
    if isinstance(parent, OutputOf):
        return parent.parents[0], parent.position
    if isinstance(parent, Function):
        return parent, 0
    if parent is not None and parent.requires_grad:
        return AccumulateGrad(parent), 0
    return None, 0


def _freed_message(node: Function) -> str:
    return (
        f"the graph through {node.op_name} was already freed by an earlier backward(); "
        "pass retain_graph=True to the first call to go through it twice"
    )
