"""What a graph picture shows, read once from the recorded graph and kept as plain data.

``record_graph`` walks the graph that produced a tensor and writes down, per node, what
the pictures need: the op or the tensor's name, shape and dtype, value and gradient
statistics where the graph still has them, the tensors each op saved for backward and
their bytes, and the module call that made it. It also derives the backward graph the
engine walks: one node per op whose backward runs, gradient edges towards the inputs,
and the saved tensors as edges from the forward side; and, after
``backward(create_graph=True)``, the second-order ops that backward recorded.

The record holds numbers and strings only, never a tensor or an array, so a picture keeps
no memory of the graph alive. Node ids follow the pictures' documented numbering: ``op<i>``
is the i-th op of ``topological_order`` (the root is ``op0``), ``t<i>`` the i-th leaf met
in that walk, ``b<i>`` the backward of ``op<i>``, ``s<i>`` the i-th second-order op.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import Function, topological_order
from ..tensor import Tensor

#: The kinds of node the forward graph is made of.
FORWARD_KINDS = ("op", "parameter", "input", "constant")
#: Bars in each node's value and gradient histograms.
HISTOGRAM_BINS = 16

#: A module call seen by a forward hook: its name, the module, its tensor arguments and output.
Call = tuple[str, Any, tuple[Tensor, ...], Tensor]


@dataclass(frozen=True)
class Stats:
    """Summary of an array: its range, mean, spread, L2 norm and a histogram of its finite values."""

    size: int
    min: float
    max: float
    mean: float
    std: float
    norm: float
    nonfinite: int
    hist: tuple[int, ...]

    @classmethod
    def of(cls, array: np.ndarray) -> Stats:
        """Sums in float64, so float32 arrays with large values do not overflow; one pass per figure."""
        values = np.asarray(array, dtype=np.float64).ravel()
        finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
        if finite.size == 0:
            return cls(values.size, np.nan, np.nan, np.nan, np.nan, np.nan, values.size, (0,) * HISTOGRAM_BINS)
        low, high = float(finite.min()), float(finite.max())
        total, squares = float(finite.sum()), float(np.dot(finite, finite))
        mean = total / finite.size
        if high > low:
            bins = np.minimum(((finite - low) * (HISTOGRAM_BINS / (high - low))).astype(np.int64), HISTOGRAM_BINS - 1)
            counts = np.bincount(bins, minlength=HISTOGRAM_BINS)
        else:  # one value: all in the middle bar
            counts = np.zeros(HISTOGRAM_BINS, np.int64)
            counts[HISTOGRAM_BINS // 2] = finite.size
        return cls(
            size=int(values.size),
            min=low,
            max=high,
            mean=mean,
            std=float(np.sqrt(max(squares / finite.size - mean * mean, 0.0))),
            norm=float(np.sqrt(squares)),
            nonfinite=int(values.size - finite.size),
            hist=tuple(counts.tolist()),
        )


@dataclass(frozen=True)
class Change:
    """In a diff, how a node (or module) of the second graph differs from its match in the first."""

    status: str  # "same", "changed", "added" (not in the first graph) or "removed" (only in the first)
    summary: str = ""  # one short line for the node's label, e.g. "weights 3.2% apart"
    details: tuple[tuple[str, str], ...] = ()  # (what, before → after) for the details panel
    fill: str | None = None  # the colour the change gives, in the explorer's "change" colouring


@dataclass(frozen=True)
class Saved:
    """One tensor an op saved for its backward: which it is, the node it came from, and its bytes."""

    what: str  # "input 0", "output", "tensor" (another node's output) or "constant" (a mask, indices)
    source: str | None  # the node whose output it is; None for a constant
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    array: int = 0  # which array it is (its id while recorded): an array saved by two ops is counted once


@dataclass
class Node:
    """One node of a picture: an op, a leaf tensor, a backward step or a second-order op."""

    id: str
    kind: str  # "op", "parameter", "input", "constant", "backward" or "second_order"
    name: str  # the op's name, or the tensor's name ("0.weight"), "" for an unnamed leaf
    shape: tuple[int, ...]
    dtype: str
    key: str  # the same in two recordings of the same model, for diffs
    module: int | None = None  # the innermost module call that made (or, for a leaf, uses) it
    value: Stats | None = None
    grad: Stats | None = None
    saved: list[Saved] | None = field(default_factory=list)  # None: freed by an earlier backward()
    root: bool = False
    scalar: float | None = None  # the value itself, for one-element roots and constants
    change: Change | None = None  # in a diff: how this node differs from the other graph's

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(frozen=True)
class Edge:
    """``tail -> head``. "data": forward, tail is an input of head. "grad": the gradient flows from
    tail's backward to head (a backward node, or a leaf whose ``.grad`` it fills). "saved": head, a
    backward node, uses tail's output, saved in the forward pass. "grad_of": tail computed head's ``.grad``."""

    tail: str
    head: str
    kind: str
    nbytes: int = 0


@dataclass
class ModuleCall:
    """One call of a module that made ops of its own; ``boxed`` when it has more than one member to fold."""

    index: int
    name: str
    label: str
    output: str
    parent: int | None = None
    children: list[int] = field(default_factory=list)
    depth: int = 1
    boxed: bool = True
    change: Change | None = None  # in a diff: "changed" when a parameter inside it changed


@dataclass
class GraphRecord:
    """Nodes by id (forward nodes first, in the documented numbering), edges, and module calls."""

    nodes: dict[str, Node]
    edges: list[Edge]
    modules: list[ModuleCall]
    root: str
    backward_ran: bool
    names: list[str] = field(default_factory=list)  # the leaves' names in the order given (the model's order)

    def of_kind(self, *kinds: str) -> list[Node]:
        return [node for node in self.nodes.values() if node.kind in kinds]

    def totals(self) -> dict[str, int]:
        """Counts and bytes for the whole graph: ops, parameters, inputs and saved tensors."""
        params = self.of_kind("parameter")
        saved = {s.array: s.nbytes for n in self.of_kind("op") for s in n.saved or ()}
        return {
            "ops": len(self.of_kind("op")),
            "backward_ops": len(self.of_kind("backward")),
            "second_order_ops": len(self.of_kind("second_order")),
            "parameters": len(params),
            "parameter_values": sum(p.value.size if p.value else 0 for p in params),
            "parameter_bytes": sum(p.nbytes for p in params),
            "saved_bytes": sum(saved.values()),
        }


def record_graph(
    root: Tensor,
    names: Mapping[str, Tensor],
    inputs: Iterable[Tensor] = (),
    calls: Sequence[Call] = (),
    values: Mapping[int, Tensor] | None = None,
) -> tuple[GraphRecord, dict[str, Tensor]]:
    """Read the graph that produced ``root``.

    ``names`` names leaves (parameters and inputs); ``inputs`` are the leaves that are data;
    ``calls`` are module calls in the order their forward hooks fired, to group ops by module;
    ``values`` are tensors known by their node (``id(grad_fn)``), such as module outputs.
    Returns the record and every non-leaf tensor whose value it read, by node id, so that a
    caller can ask for their gradients; the record itself holds no tensor.
    """
    ops = topological_order(root.grad_fn) if root.grad_fn is not None else []
    leaves: dict[int, Tensor] = {} if ops else {id(root): root}
    for op in ops:
        for parent in op.parents:
            if isinstance(parent, Tensor):
                leaves.setdefault(id(parent), parent)
    ids = {id(op): f"op{i}" for i, op in enumerate(ops)} | {key: f"t{i}" for i, key in enumerate(leaves)}
    names_of = {id(t): name for name, t in names.items()}
    input_ids = {id(t) for t in inputs}
    modules, owner = _module_calls(calls, ids)
    known: dict[int, Tensor] = dict(values or {})
    if root.grad_fn is not None:
        known[id(root.grad_fn)] = root
    saved = {id(op): _saved(op, ids, known) for op in ops}
    for op in ops:
        kept = op.retained() if op.retained is not None else None
        if kept is not None:
            known[id(op)] = kept

    nodes: dict[str, Node] = {}
    keys = _KeyMaker(modules)
    for op in reversed(ops):  # forward order, so that op keys count from the input
        tensor = known.get(id(op))
        node = Node(
            ids[id(op)], "op", op.op_name, tuple(op.out_shape), str(np.dtype(op.out_dtype)), "",
            module=owner.get(id(op)), saved=saved[id(op)], root=op is root.grad_fn,
        )  # fmt: skip
        if tensor is not None:
            node.value = Stats.of(tensor.numpy())
            node.grad = Stats.of(tensor.grad.numpy()) if tensor.grad is not None else None
            if node.root and tensor.numpy().size == 1:
                node.scalar = float(tensor.numpy().reshape(()))
        node.key = keys.op(node)
        nodes[node.id] = node
    leaf_modules = _leaf_modules(ops, owner, modules, input_ids)
    for key, leaf in leaves.items():
        name = names_of.get(key, "")
        kind = "input" if key in input_ids else "parameter" if leaf.requires_grad else "constant"
        node = Node(
            ids[key], kind, name, tuple(leaf.shape), str(leaf.numpy().dtype), "",
            module=leaf_modules.get(key), value=Stats.of(leaf.numpy()), root=leaf is root,
            grad=Stats.of(leaf.grad.numpy()) if leaf.grad is not None else None,
        )  # fmt: skip
        if kind == "constant" and leaf.numpy().size == 1:
            node.scalar = float(leaf.numpy().reshape(()))
        nodes[node.id] = node
    edges = []
    first_use: dict[str, tuple[str, int]] = {}  # leaf id -> (the op that uses it, at which argument)
    for op in ops:
        for position, parent in enumerate(op.parents):
            if parent is not None:
                edges.append(Edge(ids[id(parent)], ids[id(op)], "data"))
                first_use.setdefault(ids[id(parent)], (ids[id(op)], position))
    for node in nodes.values():
        if node.kind != "op":
            user = first_use.get(node.id)
            node.key = keys.leaf(node, nodes[user[0]].key if user else None, user[1] if user else 0)
    record = GraphRecord(nodes, edges, modules, ids[id(root.grad_fn)] if ops else ids[id(root)], False, list(names))
    record.backward_ran = any(op.released for op in ops) or any(n.grad is not None for n in nodes.values())
    _mark_boxed(record)
    _add_backward(record, ops, ids)
    _add_second_order(record, ops, leaves, ids, keys)
    return record, {ids[key]: tensor for key, tensor in known.items() if key in ids and tensor.grad_fn is not None}


def set_grads(record: GraphRecord, grads: Mapping[str, np.ndarray | None]) -> None:
    """Give nodes (by id) the gradients of their outputs, and their backward nodes the same."""
    for node_id, grad in grads.items():
        if grad is None:
            continue
        stats = Stats.of(grad)
        record.nodes[node_id].grad = stats
        backward = record.nodes.get("b" + node_id[2:]) if node_id.startswith("op") else None
        if backward is not None:
            backward.grad = stats
    record.backward_ran = True


# ----- module calls -----------------------------------------------------------------------


def _module_calls(calls: Sequence[Call], ids: Mapping[int, str]) -> tuple[list[ModuleCall], dict[int, int]]:
    """Group ops by the module call that made them; return the calls and each op's innermost call.

    A call owns the ops between its tensor arguments and its output. Hooks fire as calls
    finish, inner before outer, so the first call to reach an op is the innermost; an outer
    call that reaches an inner call's ops adopts that call as a child and carries on from
    its inputs, so each op is walked once. The model itself (the unnamed call) is the whole
    picture and gets no group of its own; calls with no op of their own are dropped.
    """
    modules: list[ModuleCall] = []
    owner: dict[int, int] = {}  # id(op) -> innermost call
    frontier: dict[int, list[Function]] = {}  # call -> the ops just outside it that feed it
    for name, module, args, output in calls:
        if not name or output.grad_fn is None or id(output.grad_fn) not in ids:
            continue
        stop = {id(a.grad_fn) for a in args if a.grad_fn is not None}
        index = len(modules)
        own: list[Function] = []
        children: list[int] = []
        seen: set[int] = set()
        stack = [output.grad_fn]
        while stack:
            op = stack.pop()
            if id(op) in seen or id(op) in stop:
                continue
            seen.add(id(op))
            if id(op) in owner:
                child = _outermost(modules, owner[id(op)])
                if child not in children:
                    children.append(child)
                    stack.extend(frontier[child])
                continue
            own.append(op)
            stack.extend(p for p in op.parents if isinstance(p, Function))
        if not own and not children:
            continue
        label = module.label()
        modules.append(ModuleCall(index, name, f"{name}: {label}", ids[id(output.grad_fn)], children=children))
        for op in own:
            owner[id(op)] = index
        for child in children:
            modules[child].parent = index
        inside = {id(op) for op in own}
        feeds = [p for op in own for p in op.parents if isinstance(p, Function) and id(p) not in inside]
        feeds += [p for child in children for p in frontier[child]]
        frontier[index] = [p for p in dict.fromkeys(feeds) if _outermost(modules, owner.get(id(p), -1)) != index]
    for module in sorted(modules, key=lambda m: -m.index):  # outer calls come later: fix depths top-down
        module.depth = 1 if module.parent is None else modules[module.parent].depth + 1
    return modules, owner


def _mark_boxed(record: GraphRecord) -> None:
    """A module call is boxed when it holds two or more forward nodes or child calls of its own."""
    members = [len(m.children) for m in record.modules]
    for node in record.nodes.values():
        if node.kind in FORWARD_KINDS and node.module is not None:
            members[node.module] += 1
    for module in record.modules:
        module.boxed = members[module.index] >= 2


def _outermost(modules: list[ModuleCall], index: int) -> int:
    """The outermost call found so far that contains call ``index`` (-1 stays -1: not in any call)."""
    while index >= 0 and modules[index].parent is not None:
        index = modules[index].parent
    return index


def _leaf_modules(
    ops: list[Function], owner: Mapping[int, int], modules: list[ModuleCall], input_ids: set[int]
) -> dict[int, int]:
    """Each leaf's module: the innermost call containing every op that uses it (data inputs stay outside)."""
    consumers: dict[int, list[int | None]] = {}
    for op in ops:
        for parent in op.parents:
            if isinstance(parent, Tensor) and id(parent) not in input_ids:
                consumers.setdefault(id(parent), []).append(owner.get(id(op)))
    placed = {}
    for key, users in consumers.items():
        common = _common_call(modules, users)
        if common is not None:
            placed[key] = common
    return placed


def _common_call(modules: list[ModuleCall], calls: list[int | None]) -> int | None:
    """The innermost call that contains all of ``calls`` (None if one of them is outside every call)."""
    if None in calls:
        return None
    paths = []
    for index in dict.fromkeys(calls):
        path = []
        while index is not None:
            path.append(index)
            index = modules[index].parent
        paths.append(path[::-1])
    common = None
    for level in zip(*paths, strict=False):
        if len(set(level)) != 1:
            break
        common = level[0]
    return common


# ----- saved tensors and the backward graph -----------------------------------------------


def _saved(op: Function, ids: Mapping[int, str], known: dict[int, Tensor]) -> list[Saved] | None:
    """What ``op`` saved for backward, each with the node it came from; None once backward freed it.

    Saved tensors that are some node's output give that node's value, recorded in ``known``.
    """
    if op.released:
        return None
    try:
        tensors = op.saved_tensors
    except RuntimeError:  # a saved tensor was changed in place: backward would refuse it too
        return None
    entries = []
    for tensor in tensors:
        if tensor is None:
            continue
        node = tensor.grad_fn
        source = ids.get(id(node)) if node is not None else ids.get(id(tensor))
        if node is not None and source is not None:
            known.setdefault(id(node), tensor)
        positions = [
            k for k, p in enumerate(op.parents) if p is not None and p is (node if node is not None else tensor)
        ]
        if node is op:
            what = "output"
        elif positions:
            what = f"input {positions[0]}"
        else:
            what = "tensor" if source is not None else "constant"
        entries.append(
            Saved(what, source, tuple(tensor.shape), str(tensor.numpy().dtype), int(tensor.numpy().nbytes),
                  id(tensor.numpy()))
        )
    return entries


def _add_backward(record: GraphRecord, ops: list[Function], ids: Mapping[int, str]) -> None:
    """One backward node per op whose backward runs, with its gradient and saved-tensor edges.

    An op's backward runs when a consumer whose backward runs needs the gradient of its
    input, as the engine decides (``needs_input_grad``); the root's always runs.
    """
    runs: set[int] = {id(ops[0])} if ops else set()
    for op in ops:  # consumers before producers
        if id(op) not in runs:
            continue
        forward = record.nodes[ids[id(op)]]
        backward_id = "b" + forward.id[2:]
        record.nodes[backward_id] = Node(
            backward_id, "backward", f"{op.op_name}Backward", forward.shape, forward.dtype, "grad:" + forward.key,
            module=forward.module, grad=forward.grad, saved=forward.saved,
        )  # fmt: skip
        for parent, needs in zip(op.parents, op.needs_input_grad, strict=False):
            if parent is None or not needs:
                continue
            if isinstance(parent, Function):
                runs.add(id(parent))
                record.edges.append(Edge(backward_id, "b" + ids[id(parent)][2:], "grad"))
            else:
                record.edges.append(Edge(backward_id, ids[id(parent)], "grad"))
        for saved in forward.saved or ():
            if saved.source is not None:
                record.edges.append(Edge(saved.source, backward_id, "saved", saved.nbytes))


def _add_second_order(
    record: GraphRecord, ops: list[Function], leaves: Mapping[int, Tensor], ids: dict[int, str], keys: _KeyMaker
) -> None:
    """The ops a ``backward(create_graph=True)`` recorded: the graphs of gradients that have one.

    They reach back into the forward graph through saved tensors; only the ops not in the
    forward graph are new, drawn as second-order ops, each ``.grad``'s last op pointing at
    its tensor.
    """
    holders = [(ids[key], leaf.grad) for key, leaf in leaves.items() if leaf.grad is not None]
    for op in ops:
        kept = op.retained() if op.retained is not None else None
        if kept is not None and kept.grad is not None:
            holders.append((ids[id(op)], kept.grad))
    holders_with_graph = [(holder, grad) for holder, grad in holders if grad.grad_fn is not None]
    recorded = [(holder, grad.grad_fn) for holder, grad in holders_with_graph]
    if not recorded:
        return
    forward = {id(op) for op in ops}
    new = [op for op in topological_order(*(fn for _, fn in recorded)) if id(op) not in forward]
    for i, op in enumerate(new):
        ids[id(op)] = f"s{i}"
    extra = len([n for n in record.nodes.values() if n.id.startswith("t")])
    for op in reversed(new):
        node = Node(ids[id(op)], "second_order", op.op_name, tuple(op.out_shape), str(np.dtype(op.out_dtype)), "")
        node.key = keys.op(node)
        record.nodes[node.id] = node
        for position, parent in enumerate(op.parents):
            if parent is None:
                continue
            if id(parent) not in ids:  # a tensor made during backward: the seed, a constant
                ids[id(parent)] = f"t{extra}"
                extra += 1
                constant = Node(
                    ids[id(parent)], "constant", "", tuple(parent.shape), str(parent.numpy().dtype), "",
                    value=Stats.of(parent.numpy()),
                )  # fmt: skip
                constant.key = keys.leaf(constant, node.key, position)
                record.nodes[constant.id] = constant
            record.edges.append(Edge(ids[id(parent)], node.id, "data"))
    for (holder, grad), (_, fn) in zip(holders_with_graph, recorded, strict=True):
        record.edges.append(Edge(ids[id(fn)], holder, "grad_of"))
        record.nodes[ids[id(fn)]].value = Stats.of(grad.numpy())  # its output is that .grad


class _KeyMaker:
    """Keys that match nodes across two recordings: ``0.weight``, ``2/Linear#0``, ``input:x``."""

    def __init__(self, modules: list[ModuleCall]) -> None:
        self.modules = modules
        self.counts: dict[tuple[str, str], int] = {}

    def op(self, node: Node) -> str:
        place = self.modules[node.module].name if node.module is not None else ""
        prefix = "2nd:" if node.kind == "second_order" else ""
        count = self.counts.get((place, prefix + node.name), 0)
        self.counts[(place, prefix + node.name)] = count + 1
        return f"{prefix}{place}/{node.name}#{count}"

    @staticmethod
    def leaf(node: Node, user: str | None, position: int) -> str:
        """A named leaf by its name; an unnamed one by the op that uses it and the argument it is."""
        if node.name or user is None:
            return f"{node.kind}:{node.name or node.id}"
        return f"{user}<-{position}"
