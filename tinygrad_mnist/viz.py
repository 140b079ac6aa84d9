"""Graph pictures: the recorded graph that ``backward()`` walks, drawn with Graphviz.

``draw_graph(loss)`` draws any tensor's graph; ``draw_model(model, x, target)`` runs
a model once and draws its forward pass and loss, one cluster per module (or one
node per module with ``collapse=True``). Both return a ``graphviz.Digraph``, which
shows itself inline in Jupyter; ``render(graph, "graph.svg")`` writes SVG, PNG, PDF
or, for ``.dot``, the source alone.

Each op node stands for the op and the tensor it produced (the graph keeps no
intermediate tensors); leaf tensors get nodes of their own. Node ids are stable:
``op<i>`` is the i-th op of ``topological_order`` (the root is ``op0``), ``t<i>`` the
i-th leaf met in that walk, ``m<i>`` the i-th collapsed module call. Drawing only
reads the graph and holds no tensor after it returns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz
import numpy as np

from .autograd import Function, topological_order
from .files import atomic_write
from .tensor import Tensor, cross_entropy

if TYPE_CHECKING:
    from .nn import Module

NameMap = Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]

#: Gradient norms inside this range are drawn white; below it bluer (vanishing) and above
#: it redder (exploding), a decade at a time, in full colour ``_SATURATION`` decades out.
DEFAULT_GRAD_RANGE = (1e-5, 1e1)
_SATURATION = 4.0

#: Picture formats ``render`` chooses by the path's suffix.
RENDER_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
SOURCE_SUFFIXES = (".dot", ".gv")

_STYLES = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "white"},
    "parameter": {"shape": "cylinder", "style": "filled", "fillcolor": "#cfe2f3"},
    "input": {"shape": "invhouse", "style": "filled", "fillcolor": "#eeeeee"},
    "output": {"shape": "doubleoctagon", "style": "filled", "fillcolor": "#fff2cc"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "white"},
}
_VANISHING, _NEUTRAL, _EXPLODING = (69, 117, 180), (255, 255, 255), (215, 48, 39)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed; the message says how to install it."""


@dataclass
class _Group:
    """The ops one module call produced (innermost module wins), for clusters and collapsing."""

    label: str
    output: Function
    ops: set[int] = field(default_factory=set)


def draw_graph(
    root: Tensor,
    params: NameMap | Module | None = None,
    *,
    inputs: NameMap | None = None,
    show_grad: bool = False,
    grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE,
) -> graphviz.Digraph:
    """Draw the graph that produced ``root``: one node per op and per leaf tensor.

    Edges run in data-flow direction, one per op input. ``params`` names the
    parameters (a model, ``model.named_parameters()`` or a ``{name: tensor}`` map)
    and ``inputs`` names the data; unnamed leaves are styled by ``requires_grad``.
    With ``show_grad`` (after ``backward()``), tensors whose gradient was kept -
    leaves, and those that called ``retain_grad()`` - show its norm and are coloured
    by it: white inside ``grad_range``, bluer below it (vanishing), redder above (exploding).
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: expected the Tensor whose graph to draw, got {type(root).__name__}")
    return _draw(root, _name_map(params, "params"), _name_map(inputs, "inputs"), show_grad, grad_range, [], False)


def draw_model(
    model: Module,
    x: Tensor,
    target: Any = None,
    *,
    collapse: bool = False,
    show_grad: bool = False,
    grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE,
) -> graphviz.Digraph:
    """Run ``model`` on ``x`` once and draw its forward pass, with the loss when ``target`` is given.

    Ops are grouped into one cluster per module call (``0: Linear(784→10)``), or with
    ``collapse=True`` each module becomes one node, so a deep network stays readable.
    The loss is ``cross_entropy(model(x), target)``. ``show_grad`` runs ``backward()``
    on it and draws the gradient norms of the parameters and of every module's
    output (and of ``x`` when it requires grad); the parameters' ``.grad`` are restored
    afterwards and ``x`` is detached first, so the caller's tensors are left as they were.
    This is the equivalent of a ``model.graph(x)``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"draw_model: the example input must be a Tensor, got {type(x).__name__}")
    if show_grad and target is None:
        raise ValueError("draw_model: show_grad needs a target, to compute the loss whose gradients are drawn")
    x = x.detach().requires_grad_(x.requires_grad)
    calls: list[tuple[str, Any, tuple[Tensor, ...], Tensor]] = []
    module_names = {id(module): name for name, module in model.named_modules()}

    def record(module: Any, args: tuple[Any, ...], output: Any) -> None:
        if isinstance(output, Tensor):
            calls.append((module_names[id(module)], module, tuple(a for a in args if isinstance(a, Tensor)), output))

    handles = [module.register_forward_hook(record) for _, module in model.named_modules()]
    try:
        output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(output, Tensor):
        raise TypeError(f"draw_model: the model returned {type(output).__name__}, expected a Tensor")
    root = output if target is None else cross_entropy(output, target)
    if root.grad_fn is None:
        raise RuntimeError(
            "draw_model: the forward pass recorded no graph; the model needs parameters that require grad, "
            "and draw_model must not run inside no_grad()"
        )
    params = dict(model.named_parameters())
    groups = _module_groups(calls)
    if not show_grad:
        return _draw(root, params, {"input": x}, False, grad_range, groups, collapse)
    previous = {name: p.grad for name, p in params.items()}
    try:
        for p in params.values():
            p.grad = None
        for _, _, _, out in calls:
            out.retain_grad()
        root.backward()
        return _draw(root, params, {"input": x}, True, grad_range, groups, collapse)
    finally:
        for name, p in params.items():
            p.grad = previous[name]


def render(graph: graphviz.Digraph, path: str | os.PathLike[str]) -> Path:
    """Write ``graph`` to ``path``: SVG, PNG or PDF by the suffix, or ``.dot`` for the source alone.

    Needs Graphviz's ``dot`` for pictures; without it the DOT source is still
    written next to ``path`` and ``GraphvizNotFoundError`` says how to install it.
    The file appears whole or not at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RENDER_FORMATS and suffix not in SOURCE_SUFFIXES:
        raise ValueError(
            f"render: cannot tell the format of {str(path)!r} from its suffix; "
            "end the name in .svg, .png or .pdf for a picture, or .dot for the DOT source alone"
        )
    if suffix in SOURCE_SUFFIXES:
        _write(path, graph.source.encode())
        return path
    try:
        picture = graph.pipe(format=RENDER_FORMATS[suffix])
    except graphviz.ExecutableNotFound:
        source = path.with_suffix(".dot")
        _write(source, graph.source.encode())
        raise GraphvizNotFoundError(
            f"render: Graphviz's `dot` program is not installed, so {str(path)!r} was not drawn; "
            f"the DOT source was written to {str(source)!r}. Install Graphviz "
            "(Debian/Ubuntu: apt-get install graphviz, macOS: brew install graphviz, conda: conda install graphviz) "
            f"and run again, or run `dot -T{RENDER_FORMATS[suffix]} {source} -o {path}`"
        ) from None
    except graphviz.CalledProcessError as error:
        message = (error.stderr or b"").decode(errors="replace").strip()
        raise RuntimeError(f"render: Graphviz's `dot` failed to draw {str(path)!r}: {message}") from None
    _write(path, picture)
    return path


def _draw(
    root: Tensor,
    params: Mapping[str, Tensor],
    inputs: Mapping[str, Tensor],
    show_grad: bool,
    grad_range: tuple[float, float],
    groups: list[_Group],
    collapse: bool,
) -> graphviz.Digraph:
    """Build the Digraph; ``groups`` become clusters, or single nodes when ``collapse``."""
    low, high = grad_range
    if not 0 < low < high:
        raise ValueError(f"draw: grad_range must be two norms with 0 < low < high, got {grad_range}")
    colour = grad_range if show_grad else None
    names = {id(t): name for name, t in params.items()} | {id(t): name for name, t in inputs.items()}
    input_ids = {id(t) for t in inputs.values()}
    ops = topological_order(root.grad_fn) if root.grad_fn is not None else []
    leaves: dict[int, Tensor] = {} if ops else {id(root): root}
    for op in ops:
        for parent in op.parents:
            if isinstance(parent, Tensor):
                leaves.setdefault(id(parent), parent)
    group_of = {op_id: k for k, group in enumerate(groups) for op_id in group.ops}
    node_id = {id(op): f"op{i}" for i, op in enumerate(ops)} | {key: f"t{i}" for i, key in enumerate(leaves)}
    folded = _folded_leaves(ops, group_of, input_ids) if collapse else {}
    if collapse:
        node_id |= {op_id: f"m{k}" for op_id, k in group_of.items()}
    cluster_of = {} if collapse else group_of | _param_clusters(params, ops, group_of)

    nodes: dict[str, tuple[int | None, dict[str, str]]] = {}  # node id -> (cluster, attributes)
    for op in ops:
        if collapse and id(op) in group_of:
            continue
        lines = [op.name, _describe(op.out_shape, op.out_dtype)]
        if op is root.grad_fn and root.data.size == 1:
            lines.append(f"value {root.item():.4g}")
        norms = _add_grad_line(lines, "", _retained_grad(op) if show_grad else None)
        role = "output" if op is root.grad_fn else "op"
        nodes[node_id[id(op)]] = cluster_of.get(id(op)), _node_attrs(role, lines, norms, colour)
    for key, leaf in leaves.items():
        if key in folded:
            continue
        lines = [names[key]] if key in names else []
        if key not in names and leaf.data.size == 1 and not leaf.requires_grad:
            lines.append(f"{leaf.data.item():.4g}")
        lines.append(_describe(leaf.shape, leaf.dtype))
        norms = _add_grad_line(lines, "", leaf.grad if show_grad else None)
        attrs = _node_attrs(_leaf_role(leaf, key, input_ids, root), lines, norms, colour)
        nodes[node_id[key]] = cluster_of.get(key), attrs
    for k, group in enumerate(groups if collapse else ()):
        lines = [group.label, _describe(group.output.out_shape, group.output.out_dtype)]
        norms = _add_grad_line(lines, "", _retained_grad(group.output) if show_grad else None)
        for name, param in params.items():
            if folded.get(id(param)) == k:
                norms += _add_grad_line(lines, name, param.grad if show_grad else None)
        nodes[f"m{k}"] = None, _node_attrs("module", lines, norms, colour)

    graph = graphviz.Digraph(name="computation_graph")
    graph.attr(rankdir="TB", fontname="Helvetica", fontsize="10")
    graph.attr("node", fontname="Helvetica", fontsize="10", **_STYLES["op"])
    if show_grad:
        graph.attr(
            labelloc="b",
            label=f"gradient norm: white within [{low:.0e}, {high:.0e}]; bluer below (vanishing), "
            f"redder above (exploding), full colour {_SATURATION:g} decades out; grey: gradient not kept",
        )
    for node, (cluster, attrs) in nodes.items():
        if cluster is None:
            graph.node(node, **attrs)
    for k, group in enumerate(groups):
        members = [(node, attrs) for node, (cluster, attrs) in nodes.items() if cluster == k]
        if members:
            with graph.subgraph(name=f"cluster_{k}") as subgraph:
                subgraph.attr(label=group.label, labelloc="t", style="dashed", color="grey50")
                for node, attrs in members:
                    subgraph.node(node, **attrs)
    drawn: set[tuple[str, str]] = set()
    for op in ops:
        head = node_id[id(op)]
        for parent in op.parents:
            if parent is None:  # a non-tensor argument (an axis, a shape)
                continue
            tail = node_id[id(parent)]
            if id(parent) in folded or tail == head:
                continue
            if head.startswith("m") or tail.startswith("m"):  # one edge between a module and its neighbour
                if (tail, head) in drawn:
                    continue
                drawn.add((tail, head))
            graph.edge(tail, head)
    return graph


def _module_groups(calls: list[tuple[str, Any, tuple[Tensor, ...], Tensor]]) -> list[_Group]:
    """Assign each op to the innermost module call that made it.

    A call owns the ops reachable from its output but not from its inputs. Hooks fire
    as calls finish, inner before outer, so the first call to claim an op is the
    innermost; calls left with no op of their own (containers) get no group.
    """
    claimed: set[int] = set()
    groups = []
    for name, module, args, output in calls:
        if output.grad_fn is None:
            continue
        upstream = {id(op) for a in args if a.grad_fn is not None for op in topological_order(a.grad_fn)}
        own = {id(op) for op in topological_order(output.grad_fn)} - upstream - claimed
        if own:
            claimed |= own
            groups.append(_Group(_module_label(name, module), output.grad_fn, own))
    return groups


def _module_label(name: str, module: Any) -> str:
    """``0: Linear(784→10)``: the module's name and its ``label()``."""
    label = module.label()
    return f"{name}: {label}" if name else label


def _param_clusters(params: Mapping[str, Tensor], ops: list[Function], group_of: dict[int, int]) -> dict[int, int]:
    """The cluster of each parameter: that of the first op (in forward order) that consumes it."""
    param_ids = {id(p) for p in params.values()}
    placed: dict[int, int] = {}
    for op in reversed(ops):
        for parent in op.parents:
            if id(parent) in param_ids and id(op) in group_of:
                placed.setdefault(id(parent), group_of[id(op)])
    return placed


def _folded_leaves(ops: list[Function], group_of: dict[int, int], input_ids: set[int]) -> dict[int, int]:
    """Leaves consumed only inside one collapsed module call (its parameters, constants): id -> group."""
    consumers: dict[int, set[int | None]] = {}
    for op in ops:
        for parent in op.parents:
            if isinstance(parent, Tensor) and id(parent) not in input_ids:
                consumers.setdefault(id(parent), set()).add(group_of.get(id(op)))
    return {key: next(iter(g)) for key, g in consumers.items() if len(g) == 1 and None not in g}


def _leaf_role(leaf: Tensor, key: int, input_ids: set[int], root: Tensor) -> str:
    if leaf is root:
        return "output"
    if key in input_ids or not leaf.requires_grad:
        return "input"
    return "parameter"


def _describe(shape: tuple[int, ...], dtype: Any) -> str:
    return f"{tuple(shape)} {np.dtype(dtype)}"


def _retained_grad(op: Function) -> Tensor | None:
    """The gradient of an op's output, if that tensor called ``retain_grad()`` and is still alive."""
    kept = op.retained() if op.retained is not None else None
    return kept.grad if kept is not None else None


def _norm(grad: Tensor) -> float:
    """The L2 norm, summed in float64 so large gradients do not overflow float32."""
    return float(np.sqrt(np.sum(np.square(grad.data, dtype=np.float64))))


def _add_grad_line(lines: list[str], name: str, grad: Tensor | None) -> list[float]:
    """Append ``name  |grad| norm`` (just the name, if any, without a gradient); return the norms shown."""
    if grad is None:
        lines += [name] if name else []
        return []
    norm = _norm(grad)
    lines.append(f"{name}  |grad| {norm:.2e}".strip())
    return [norm]


def _node_attrs(
    role: str, lines: list[str], norms: list[float], grad_range: tuple[float, float] | None
) -> dict[str, str]:
    """Style by role; with ``grad_range`` (show_grad), fill by the most extreme gradient norm shown.

    Ops and modules whose gradient was not kept turn grey. Only what differs from the op
    style (the graph's node default) is returned, to keep big graphs small.
    """
    attrs = dict(_STYLES[role], label="\\n".join(lines))
    if grad_range is not None and norms:
        worst = max(norms, key=lambda norm: abs(_decades_outside(norm, *grad_range)))
        attrs["fillcolor"] = _grad_colour(worst, *grad_range)
    elif grad_range is not None and role in ("op", "module"):
        attrs["fillcolor"] = "#dddddd"
    return {key: value for key, value in attrs.items() if _STYLES["op"].get(key) != value}


def _decades_outside(norm: float, low: float, high: float) -> float:
    """How many decades ``norm`` lies above ``high`` (positive) or below ``low`` (negative); 0 inside."""
    if not math.isfinite(norm):
        return math.inf
    if norm > high:
        return math.log10(norm / high)
    if norm < low:
        return math.log10(norm / low) if norm > 0 else -math.inf
    return 0.0


def _grad_colour(norm: float, low: float, high: float) -> str:
    """White inside [low, high]; towards blue below and red above, full ``_SATURATION`` decades out."""
    decades = _decades_outside(norm, low, high)
    tint = _EXPLODING if decades > 0 else _VANISHING
    t = min(abs(decades) / _SATURATION, 1.0)
    return _hex(tuple(round(a + (b - a) * t) for a, b in zip(_NEUTRAL, tint, strict=True)))


def _hex(rgb: tuple[int, ...]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _name_map(names: NameMap | Module | None, argument: str) -> dict[str, Tensor]:
    """Accept a model (``named_parameters``), a ``{name: tensor}`` map or ``(name, tensor)`` pairs."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = names.named_parameters()
    pairs = dict(names.items() if isinstance(names, Mapping) else names)
    for name, tensor in pairs.items():
        if not isinstance(tensor, Tensor):
            raise TypeError(f"draw_graph: {argument}[{name!r}] is a {type(tensor).__name__}, expected a Tensor")
    return pairs


def _write(path: Path, content: bytes) -> None:
    """Replace ``path`` atomically: the old file or the whole new one, never half of it."""
    with atomic_write(path) as temporary:
        temporary.write_bytes(content)
