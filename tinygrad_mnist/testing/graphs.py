"""Hypothesis strategies for arrays and shapes, and random expression graphs with ``check_graph_gradients``."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..autograd.gradcheck import GradcheckError, gradcheck
from ..tensor import Tensor
from .failure import gap_picture, gradient_gaps

Shape = tuple[int, ...]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[Shape]:
    """Small array shapes (0-d included by default)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    low: float = -3.0,
    high: float = 3.0,
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Finite float arrays with elements in [low, high], of a given or drawn shape."""
    return hnp.arrays(
        dtype,
        shapes() if shape is None else shape,
        elements=st.floats(low, high, allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8),
    )


@st.composite
def broadcastable_shapes(draw: st.DrawFn, max_dims: int = 3, max_side: int = 4) -> tuple[Shape, Shape]:
    """Two shapes NumPy broadcasts together: extra leading axes, size-1 axes, 0-d."""
    shape = draw(shapes(min_dims=0, max_dims=max_dims, max_side=max_side))
    pair = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, base_shape=shape, max_side=max_side))
    return pair.input_shapes


@st.composite
def matmul_shapes(draw: st.DrawFn, max_side: int = 5) -> tuple[Shape, Shape]:
    """Shapes (n, k) and (k, p) for a 2-D matrix product."""
    n, k, p = (draw(st.integers(1, max_side)) for _ in range(3))
    return (n, k), (k, p)


def assert_gradients_match(fn: Callable[..., Tensor], *inputs: Any, **tolerances: float) -> None:
    """Assert ``fn``'s backward agrees with finite differences for every input (see ``gradcheck``)."""
    gradcheck(fn, *inputs, **tolerances)


# ----- random expression graphs ---------------------------------------------------------

#: Values ``graphs()`` keeps its nodes within, so exp and powers cannot overflow and finite differences stay accurate.
_BOUND = 50.0
#: How far relu's arguments stay from its kink at 0, and a max's candidates from each other (no ties).
_MARGIN = 0.1
#: The smallest argument of log, and the smallest magnitude of a denominator.
_LOG_MIN, _DIV_MIN = 0.2, 0.5
#: The values of input elements: nonzero multiples of 1/8 in [-3, 3], so distinct ones are _MARGIN apart or more.
_GRID = tuple(sign * k / 8 for k in range(1, 25) for sign in (1, -1))


class GraphOp(NamedTuple):
    """One kind of node ``graphs()`` draws: how it prints (``str.format`` of operand names and params) and runs."""

    template: str
    apply: Callable[..., Tensor]


#: Every op ``graphs()`` draws from, by name: unary, binary (broadcasting), reducing, movement and softmax.
GRAPH_OPS: dict[str, GraphOp] = {
    "neg": GraphOp("-{0}", lambda a: -a),
    "exp": GraphOp("{0}.exp()", lambda a: a.exp()),
    "tanh": GraphOp("{0}.tanh()", lambda a: a.tanh()),
    "sigmoid": GraphOp("{0}.sigmoid()", lambda a: a.sigmoid()),
    "relu": GraphOp("{0}.relu()", lambda a: a.relu()),
    "log": GraphOp("{0}.log()", lambda a: a.log()),
    "square": GraphOp("{0} ** 2", lambda a: a**2),
    "cube": GraphOp("{0} ** 3", lambda a: a**3),
    "add": GraphOp("{0} + {1}", lambda a, b: a + b),
    "sub": GraphOp("{0} - {1}", lambda a, b: a - b),
    "mul": GraphOp("{0} * {1}", lambda a, b: a * b),
    "div": GraphOp("{0} / {1}", lambda a, b: a / b),
    "matmul": GraphOp("{0} @ {1}", lambda a, b: a @ b),
    "sum": GraphOp("{0}.sum(dim={dim}, keepdim={keepdim})", lambda a, dim, keepdim: a.sum(dim, keepdim)),
    "mean": GraphOp("{0}.mean(dim={dim}, keepdim={keepdim})", lambda a, dim, keepdim: a.mean(dim, keepdim)),
    "max": GraphOp("{0}.amax(dim={dim}, keepdim={keepdim})", lambda a, dim, keepdim: a.amax(dim, keepdim)),
    "reshape": GraphOp("{0}.reshape({shape})", lambda a, shape: a.reshape(shape)),
    "permute": GraphOp("{0}.permute{axes}", lambda a, axes: a.permute(*axes)),
    "softmax": GraphOp("{0}.softmax(dim={dim})", lambda a, dim: a.softmax(dim)),
    "log_softmax": GraphOp("{0}.log_softmax(dim={dim})", lambda a, dim: a.log_softmax(dim)),
}
_BINARY = ("add", "sub", "mul", "div", "matmul")
_REDUCE = ("sum", "mean", "max")
#: What a node's op is drawn from, binary first (Hypothesis favours the first). Repeats weigh more: mul, sum and mean
#: make shared and 0-d values, and matmul, which fits only 2-D values, would be rare.
_KINDS = (*_BINARY, *_REDUCE, *(op for op in GRAPH_OPS if op not in _BINARY + _REDUCE), "mul", "sum", "mean", "matmul")


@dataclass(frozen=True)
class GraphNode:
    """One line of a ``Graph``: ``GRAPH_OPS[op]`` applied to earlier values (indices ``args``) with ``params``."""

    op: str
    args: tuple[int, ...]
    params: dict[str, Any]
    shape: Shape

    def apply(self, values: Sequence[Tensor]) -> Tensor:
        """This node's value, from all the values before it."""
        return GRAPH_OPS[self.op].apply(*(values[i] for i in self.args), **self.params)

    def render(self) -> str:
        """The right-hand side as Python, operands named ``v0``, ``v1``, ..."""
        return GRAPH_OPS[self.op].template.format(*(f"v{i}" for i in self.args), **self.params)


@dataclass(frozen=True, repr=False)
class Graph:
    """A random expression: float64 ``inputs`` v0, v1, ..., then ``nodes`` that each add a value; the last is returned.

    Calling it on one Tensor per input builds the expression with the public Tensor API only.
    """

    inputs: tuple[np.ndarray, ...]
    nodes: tuple[GraphNode, ...]

    def __call__(self, *tensors: Tensor) -> Tensor:
        """The output, built from one Tensor per input."""
        values = list(tensors)
        for node in self.nodes:
            values.append(node.apply(values))
        return values[-1]

    def shapes(self) -> list[Shape]:
        """The shape of every value, inputs first."""
        return [x.shape for x in self.inputs] + [node.shape for node in self.nodes]

    def uses(self) -> list[int]:
        """How many operands read each value, inputs first: 2 or more is fan-out (``v * v`` counts twice)."""
        counts = [0] * (len(self.inputs) + len(self.nodes))
        for node in self.nodes:
            for i in node.args:
                counts[i] += 1
        return counts

    def __repr__(self) -> str:
        first = len(self.inputs)
        lines = [
            f"v{i} = np.array({np.array2string(x, separator=', ', max_line_width=10**6)})  # input {x.shape}"
            for i, x in enumerate(self.inputs)
        ]
        lines += [f"v{first + i} = {node.render()}  # {node.shape}" for i, node in enumerate(self.nodes)]
        return "Graph(\n    " + "\n    ".join([*lines, f"return v{first + len(self.nodes) - 1}"]) + "\n)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis's (and IPython's) pretty-printer shows the program too, not the dataclass fields."""
        for i, line in enumerate(repr(self).splitlines()):
            if i:
                printer.break_()
            printer.text(line)


@st.composite
def graphs(draw: st.DrawFn, max_inputs: int = 3, max_nodes: int = 8, max_side: int = 3) -> Graph:
    """Random expression graphs whose nodes share operands (fan-out) and are often 0-d.

    1 to ``max_inputs`` inputs of mutually broadcastable shapes, often ``()`` or ``(1,)``, with
    distinct elements from ``_GRID``; then 2 to ``max_nodes`` nodes, each an op of ``GRAPH_OPS`` on
    earlier values, its operands biased toward values already read. Ops go only where finite
    differences are trustworthy: values within ``_BOUND``, relu's argument and a max's candidates
    ``_MARGIN`` from a kink or a tie, log's argument at least ``_LOG_MIN``, denominators at least
    ``_DIV_MIN`` in magnitude. Nodes the output does not depend on are dropped.
    """
    count = draw(st.integers(2, max_nodes))  # drawn first: after the arrays, Hypothesis would favour 2
    inputs = draw(_graph_inputs(max_inputs, max_side))
    values = [Tensor(x) for x in inputs]
    uses = [0] * len(inputs)
    nodes: list[GraphNode] = []
    for _ in range(count):
        node, value = _draw_node(draw, values, uses)
        for i in node.args:
            uses[i] += 1
        nodes.append(node)
        values.append(value)
        uses.append(0)
    return Graph(inputs, _live(len(inputs), nodes))


def check_graph_gradients(graph: Graph, seed: int = 0, **tolerances: float) -> None:
    """Assert ``graph``'s backward agrees with central differences at the random cotangent ``seed`` draws.

    The ``GradcheckError`` ends with the graph's program, so a failure can be read and replayed.
    """
    try:
        gradcheck(graph, *graph.inputs, seed=seed, **tolerances)
    except GradcheckError as error:
        picture = graph_failure_picture(graph, seed)
        raise GradcheckError(f"{error}\nin {graph!r}\npicture of each value's gradient gap: {picture}") from None


def graph_failure_picture(graph: Graph, seed: int = 0, name: str = "graph") -> Path:
    """An SVG of ``graph`` with each value coloured by the gap between its gradient by backward and by
    central differences: the op whose result is white but whose operands are red has the wrong backward."""
    first = len(graph.inputs)
    labels = [f"v{i} input {x.shape}" for i, x in enumerate(graph.inputs)]
    labels += [f"v{first + i} = {node.render()}  {node.shape}" for i, node in enumerate(graph.nodes)]
    edges = [(a, first + i) for i, node in enumerate(graph.nodes) for a in node.args]
    return gap_picture(labels, edges, graph_gaps(graph, seed), name)


def graph_gaps(graph: Graph, seed: int = 0) -> list[float]:
    """Each value's gradient gap (``failure.gradient_gaps``), inputs first, at the cotangent ``seed`` draws."""
    return gradient_gaps(graph.inputs, [node.apply for node in graph.nodes], seed)


@st.composite
def _graph_inputs(draw: st.DrawFn, max_inputs: int, max_side: int) -> tuple[np.ndarray, ...]:
    """Mutually broadcastable float64 arrays, each ``()`` or ``(1,)`` half the time, distinct _GRID elements."""
    base = draw(shapes(max_dims=3, max_side=max_side))
    count = draw(st.integers(1, max_inputs))
    broadcast = hnp.mutually_broadcastable_shapes(num_shapes=count, base_shape=base, max_dims=3, max_side=max_side)
    drawn = [draw(st.sampled_from([shape, shape, (), (1,)])) for shape in draw(broadcast).input_shapes]
    return tuple(draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(_GRID), unique=True)) for shape in drawn)


def _draw_node(draw: st.DrawFn, values: list[Tensor], uses: list[int]) -> tuple[GraphNode, Tensor]:
    """An op, then operands it is trustworthy on; after three ops that fit nowhere, ``tanh``, which fits anywhere."""
    for _ in range(3):
        op = draw(st.sampled_from(_KINDS))
        firsts = [i for i, value in enumerate(values) if _accepts(op, value.numpy())]
        if op in _BINARY:
            firsts = [i for i in firsts if _partners(op, i, values)]
        if not firsts:
            continue
        first = _draw_operand(draw, firsts, uses)
        args: tuple[int, ...] = (first,)
        params: dict[str, Any] = {}
        if op in _BINARY:
            args = (first, _draw_operand(draw, _partners(op, first, values), uses, first))
        else:
            params = _draw_params(draw, op, values[first].shape)
        if op == "max" and not _no_ties(values[first].numpy(), params["dim"]):
            continue
        node = GraphNode(op, args, params, ())
        out = node.apply(values)
        if np.abs(out.numpy()).max() <= _BOUND:
            return replace(node, shape=out.shape), out
    node = GraphNode("tanh", (_draw_operand(draw, range(len(values)), uses),), {}, ())
    out = node.apply(values)
    return replace(node, shape=out.shape), out


def _draw_operand(draw: st.DrawFn, candidates: Sequence[int], uses: list[int], first: int | None = None) -> int:
    """One of ``candidates`` (indices of values), biased to keep one connected expression that shares values.

    A first operand is mostly the newest value no one has read yet, so few nodes are left dangling; a second
    operand (after ``first``) is mostly one already read, the first operand included, so values fan out.
    """
    read = [i for i in candidates if uses[i] or i == first]
    unread = [i for i in candidates if i not in read]
    modes = ("fresh", "fresh", "fresh", "reuse", "any") if first is None else ("reuse", "reuse", "fresh", "any")
    mode = draw(st.sampled_from(modes))
    if mode == "reuse" and read:
        return draw(st.sampled_from(read))
    if mode == "fresh":
        return max(unread or candidates)
    return draw(st.sampled_from(candidates))


def _accepts(op: str, x: np.ndarray) -> bool:
    """Whether ``op`` may take ``x`` (as its first operand): the right rank, away from kinks and log's edge."""
    if op == "relu":
        return bool(np.abs(x).min() >= _MARGIN)
    if op == "log":
        return bool(x.min() >= _LOG_MIN)
    if op == "matmul":
        return x.ndim == 2
    if op == "permute":
        return x.ndim >= 2
    if op in ("softmax", "log_softmax"):
        return x.ndim >= 1
    return True


def _partners(op: str, first: int, values: list[Tensor]) -> list[int]:
    """The values that may be the second operand of binary ``op`` after ``values[first]``."""
    shape = values[first].shape
    if op == "matmul":
        return [i for i, value in enumerate(values) if value.ndim == 2 and value.shape[0] == shape[1]]
    partners = []
    for i, value in enumerate(values):
        try:
            np.broadcast_shapes(shape, value.shape)
        except ValueError:
            continue
        if op != "div" or np.abs(value.numpy()).min() >= _DIV_MIN:
            partners.append(i)
    return partners


def _draw_params(draw: st.DrawFn, op: str, shape: Shape) -> dict[str, Any]:
    """The keyword arguments of a unary ``op`` on a value of ``shape``."""
    ndim = len(shape)
    if op in _REDUCE:
        dim = draw(st.none() | st.integers(-ndim, ndim - 1)) if ndim else None
        return {"dim": dim, "keepdim": draw(st.booleans())}
    if op == "reshape":
        return {"shape": draw(st.sampled_from(_reshapes(shape)))}
    if op == "permute":
        return {"axes": draw(st.sampled_from(list(itertools.permutations(range(ndim)))[1:]))}
    if op in ("softmax", "log_softmax"):
        return {"dim": draw(st.integers(-ndim, ndim - 1))}
    return {}


def _reshapes(shape: Shape) -> list[Shape]:
    """Every other shape of up to 3 axes with the same number of elements, fewest axes first."""
    size = int(np.prod(shape))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    found = [s for ndim in range(4) for s in itertools.product(divisors, repeat=ndim) if int(np.prod(s)) == size]
    return [s for s in found if s != shape]


def _no_ties(x: np.ndarray, axis: int | None) -> bool:
    """Whether the candidates of each maximum over ``axis`` are at least ``_MARGIN`` apart."""
    rows = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    return rows.shape[1] < 2 or bool(np.diff(np.sort(rows, axis=1), axis=1).min() >= _MARGIN)


def _live(count: int, nodes: list[GraphNode]) -> tuple[GraphNode, ...]:
    """The nodes the last one depends on, renumbered: dead ones would only make a failure longer to read."""
    live = {count + len(nodes) - 1}
    for index in range(count + len(nodes) - 1, count - 1, -1):
        if index in live:
            live.update(nodes[index - count].args)
    renumbered = dict(enumerate(range(count)))
    kept: list[GraphNode] = []
    for index, node in enumerate(nodes, start=count):
        if index in live:
            renumbered[index] = count + len(kept)
            kept.append(replace(node, args=tuple(renumbered[i] for i in node.args)))
    return tuple(kept)
