"""The backward pass: PyTorch's ``backward`` and ``grad``, over the graph that ``Function.apply`` records.

The walk visits each node once, in reverse topological order, after every node that
consumes its output. A node's pending gradient is the sum of what its consumers sent it,
summed by one rule (HIPS autograd's): the first contribution is kept as it is, the second
is added into a new array, and later ones are added into that array in place. Op authors
never reason about who holds an array. Each gradient a backward returns is summed back to
its input's shape and cast to its dtype here, the one place broadcasting is undone.

The walk runs with grad mode off, so an ordinary backward records nothing; with
``create_graph=True`` it runs with grad mode on, the backward rules (Tensor ops) record a
graph of their own, and the gradients can be differentiated again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import tensor as tensor_module
from . import grad_mode
from .function import Function, _freed_message

if TYPE_CHECKING:
    from ..tensor import Tensor


def topological_order(*roots: Function) -> list[Function]:
    """Every node reachable from ``roots``, each after all nodes that consume its output.

    Iterative (no recursion limit): the roots come first, the nodes nearest the leaves last.
    Both the backward pass and the graph pictures walk this order.
    """
    order: list[Function] = []
    visited: set[int] = set()
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack: list[tuple[Function, Iterator[Any]]] = [(root, iter(root.parents))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if isinstance(parent, Function) and id(parent) not in visited:
                    visited.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into ``.grad`` of the leaves (or of ``inputs`` only)."""
    roots, seeds = _roots_and_seeds(tensors, grad_tensors, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        _run(roots, seeds, retain, create_graph, None)
        return
    targets = _as_list(inputs, "backward: inputs")
    for target, gradient in zip(targets, _run(roots, seeds, retain, create_graph, targets), strict=True):
        if gradient is not None:
            target._accumulate(gradient, owned=False, create_graph=create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; no ``.grad`` is touched.

    ``grad_outputs`` are the vectors of the vector-Jacobian product (ones for one-element
    outputs). With ``create_graph=True`` the results carry a graph of their own, so they can
    be differentiated again. An input that the outputs do not depend on raises, unless
    ``allow_unused=True``, which gives ``None`` for it.
    """
    roots, seeds = _roots_and_seeds(outputs, grad_outputs, "grad")
    targets = _as_list(inputs, "grad: inputs")
    retain = create_graph if retain_graph is None else retain_graph
    results = _run(roots, seeds, retain, create_graph, targets)
    for index, (target, result) in enumerate(zip(targets, results, strict=True)):
        if result is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {index} (shape {target.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(results)


def _as_list(tensors: Any, what: str) -> list[Tensor]:
    items = [tensors] if isinstance(tensors, tensor_module.Tensor) else list(tensors)
    for index, item in enumerate(items):
        if not isinstance(item, tensor_module.Tensor):
            raise TypeError(f"{what}: item {index} is a {type(item).__name__}, not a Tensor")
    return items


def _roots_and_seeds(outputs: Any, gradients: Any, caller: str) -> tuple[list[Tensor], list[tuple[Tensor, bool]]]:
    """The outputs as a list, each with its seed gradient and whether the engine made that seed (so owns it)."""
    roots = _as_list(outputs, f"{caller}: outputs")
    if gradients is None or isinstance(gradients, tensor_module.Tensor) or not isinstance(gradients, list | tuple):
        gradients = [gradients] * len(roots) if gradients is None else [gradients]
    if len(gradients) != len(roots):
        raise ValueError(f"{caller}: {len(roots)} outputs but {len(gradients)} gradients")
    seeds = []
    for index, (root, gradient) in enumerate(zip(roots, gradients, strict=True)):
        if not root.requires_grad:
            raise RuntimeError(
                f"{caller}: output {index} does not require grad and has no graph; "
                "create its inputs with requires_grad=True (and not inside no_grad())"
            )
        if gradient is None:
            if root._data.size != 1:
                raise RuntimeError(
                    f"{caller}: a gradient can be created implicitly only for a single-element tensor, "
                    f"output {index} has shape {root.shape}; "
                    f"pass {'gradient' if caller == 'backward' else 'grad_outputs'}= of that shape"
                )
            seeds.append((tensor_module.Tensor._wrap(np.ones_like(root._data)), True))
            continue
        seed = (
            gradient if isinstance(gradient, tensor_module.Tensor) else tensor_module.Tensor(gradient, dtype=root.dtype)
        )
        if seed.shape != root.shape:
            raise ValueError(f"{caller}: gradient {index} has shape {seed.shape}, expected {root.shape}")
        seeds.append((seed, False))
    return roots, seeds


def _run(
    roots: list[Tensor],
    seeds: list[tuple[Tensor, bool]],
    retain_graph: bool,
    create_graph: bool,
    targets: list[Tensor] | None,
) -> list[Tensor | None]:
    """The backward walk. Without ``targets``, every leaf reached accumulates into ``.grad``;
    with them, nothing is accumulated and their gradients are returned in order (``None`` if unreached)."""
    pending: dict[int, list[Any]] = {}  # id(node or leaf) -> [gradient, owned: made by the engine, held by no one]
    leaves: dict[int, Tensor] = {}
    start: list[Function] = []
    for root, (seed, owned) in zip(roots, seeds, strict=True):
        key = root._op if root._op is not None else root
        if root._op is None:
            leaves[id(root)] = root
        else:
            start.append(root._op)
        if id(key) in pending:
            _add(pending[id(key)], seed, create_graph)
        else:
            pending[id(key)] = [seed, owned]
    wanted = None if targets is None else {id(t._op if t._op is not None else t) for t in targets}
    captured: dict[int, Tensor] = {}
    with grad_mode.set_grad_enabled(create_graph):
        for node in topological_order(*start):
            entry = pending.pop(id(node), None)
            if entry is None:  # every consumer of this node's output returned None for it
                continue
            if node._saved is None:
                raise RuntimeError(f"backward: {_freed_message(node)}")
            grad = entry[0]
            if wanted is not None and id(node) in wanted:
                captured[id(node)] = grad
            if node.retained is not None and (kept := node.retained()) is not None:
                kept._accumulate(grad, owned=False, create_graph=create_graph)
            if node.outputs is None:
                returned = type(node).backward(node, grad)
            else:
                returned = type(node).backward(node, *_output_grads(node, grad))
            if not isinstance(returned, tuple):
                returned = (returned,)
            for parent, needs, parent_grad in zip(node.parents, node.needs_input_grad, returned, strict=False):
                if parent_grad is None or not needs:
                    continue
                is_node = isinstance(parent, Function)
                if is_node and parent.outputs is not None:  # an OutputOf edge: filed under its output's position
                    _file(pending, parent, node.position, parent_grad, create_graph)
                    continue
                shape, dtype = (
                    (parent.out_shape, parent.out_dtype) if is_node else (parent._data.shape, parent._data.dtype)
                )
                if (
                    type(parent_grad) is not tensor_module.Tensor
                    or parent_grad._data.shape != shape
                    or parent_grad._data.dtype != dtype
                ):
                    parent_grad = _fit(node, parent_grad, shape, dtype)
                key = id(parent)
                if key not in pending:  # the first contribution, kept as it is
                    if not is_node:
                        leaves[key] = parent
                    owned = not is_node and _fresh(parent_grad, grad, returned, node)
                    pending[key] = [parent_grad, owned]
                else:
                    _add(pending[key], parent_grad, create_graph)
            if not retain_graph:
                node.release()
        for key, leaf in leaves.items():
            entry = pending.get(key)
            if entry is None:
                continue
            if targets is None:
                leaf._accumulate(entry[0], owned=entry[1], create_graph=create_graph)
            elif key in wanted:
                captured[key] = entry[0]
    if targets is None:
        return []
    return [captured.get(id(t._op if t._op is not None else t)) for t in targets]


def _add(entry: list[Any], grad: Tensor, create_graph: bool) -> None:
    """Sum a second or later contribution into a pending ``[gradient, owned]`` entry: the second goes
    into a new array, later ones into that array in place (out of place, recorded, under ``create_graph``)."""
    if entry[1] and not create_graph:
        entry[0].add_(grad)
    else:
        entry[0] = entry[0] + grad
        entry[1] = True


def _file(pending: dict[int, list[Any]], node: Function, position: int, grad: Tensor, create_graph: bool) -> None:
    """Sum ``grad`` into the pending gradient of output ``position`` of ``node``, which has several."""
    entry = pending.get(id(node))
    if entry is None:
        entry = pending[id(node)] = [[None] * len(node.outputs), False]
    slots = entry[0]
    slots[position] = grad if slots[position] is None else slots[position] + grad


def _output_grads(node: Function, grads: list[Tensor | None]) -> list[Tensor | None]:
    """One gradient per output of ``node``: zeros where none arrived, unless it asked for None there."""
    if not node.materialize_grads:
        return grads
    return [
        tensor_module.Tensor._wrap(np.zeros(*meta)) if grad is None and meta is not None else grad
        for grad, meta in zip(grads, node.outputs, strict=True)
    ]


def _fit(node: Function, grad: Any, shape: tuple[int, ...], dtype: np.dtype) -> Tensor:
    """A returned gradient as a Tensor in its input's ``shape`` and ``dtype``: broadcasting summed back, dtype cast."""
    if not isinstance(grad, tensor_module.Tensor):
        grad = tensor_module.Tensor._wrap(grad) if hasattr(grad, "shape") else tensor_module.Tensor(grad)
    if grad._data.shape != shape:
        try:
            grad = grad.sum_to_size(shape)
        except ValueError:
            raise ValueError(
                f"backward: {node.op_name}.backward returned a gradient of shape {grad.shape} for an input of "
                f"shape {shape}; return one in the input's shape or one that broadcasts from it"
            ) from None
    return grad if grad._data.dtype == dtype else grad.to(dtype)


def _fresh(grad: Tensor, incoming: Tensor | list[Tensor | None], returned: tuple[Any, ...], node: Function) -> bool:
    """Whether ``grad``'s array can become a leaf's ``.grad`` without a copy: ``node.backward`` made it
    (it is not a gradient passed through, not a view, not a saved tensor) and returned it once.
    ``incoming`` is the node's gradient, or the list of them for a node with several outputs."""
    data = grad._data
    if data.base is not None:
        return False
    if type(incoming) is list:
        if any(passed is not None and passed._data is data for passed in incoming):
            return False
    elif incoming._data is data:
        return False
    if len(returned) > 1:
        seen = 0
        for other in returned:
            if other is not None and getattr(other, "_data", other) is data:
                seen += 1
        if seen > 1:
            return False
    for entry in node._saved:  # noqa: SIM110 - a loop: all() over a generator costs more on this hot path
        if entry is not None and entry[1] is data:
            return False
    return True
