"""What each view of a record shows, and how each node is labelled: shared by the static
pictures and the explorer, so that both draw the same nodes with the same words.

Views: ``"forward"`` (ops and leaves), ``"backward"`` (one node per op whose backward runs,
the leaves that receive gradients, and the second-order ops ``create_graph=True``
recorded) and ``"both"``. A module call is drawn as a box only when it holds more than
one node; a one-op module (a ReLU) is that op, labelled with the module's name.
"""

from __future__ import annotations

from collections.abc import Iterable

from .colour import FLAG_COLOURS, GradScale, text_colour
from .record import FORWARD_KINDS, Edge, GraphRecord, ModuleCall, Node, Stats

VIEWS = ("forward", "backward", "both")
EDGE_KINDS = {
    "forward": ("data",),
    "backward": ("grad", "grad_of", "data"),
    "both": ("data", "grad", "grad_of", "saved"),
}

#: Base style of each kind of node (and of a folded module), before gradient colours.
STYLES = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "white"},
    "parameter": {"shape": "cylinder", "style": "filled", "fillcolor": "#cfe2f3"},
    "input": {"shape": "invhouse", "style": "filled", "fillcolor": "#eeeeee"},
    "constant": {"shape": "invhouse", "style": "filled", "fillcolor": "#eeeeee"},
    "output": {"shape": "doubleoctagon", "style": "filled", "fillcolor": "#fff2cc"},
    "backward": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e4dcf4"},
    "second_order": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d5efd0"},
    "module": {"shape": "box3d", "style": "filled", "fillcolor": "white"},
}
NOT_KEPT = "#dddddd"  # an op or module whose gradient was not kept, when gradients are shown
#: In a diff, the border of what changed, was added or was removed.
CHANGE_BORDERS = {
    "changed": {"color": "#d95f02", "penwidth": "3"},
    "added": {"color": "#1b9e77", "penwidth": "3"},
    "removed": {"color": "#d62728", "penwidth": "2"},
}


def check_view(view: str) -> str:
    if view not in VIEWS:
        raise ValueError(f"draw: view must be one of {', '.join(map(repr, VIEWS))}, got {view!r}")
    return view


def box_of(record: GraphRecord, module: int | None) -> int | None:
    """The box a node of ``module`` is drawn in: the nearest boxed call, or None (the top level)."""
    while module is not None and not record.modules[module].boxed:
        module = record.modules[module].parent
    return module


def view_nodes(record: GraphRecord, view: str) -> list[Node]:
    """The nodes ``view`` shows, in record order."""
    if view == "forward":
        return record.of_kind(*FORWARD_KINDS)
    if view == "both":
        return list(record.nodes.values())
    wanted = {e.head for e in record.edges if e.kind in ("grad", "grad_of")}
    wanted |= {e.tail for e in record.edges if e.kind == "data" and record.nodes[e.head].kind == "second_order"}
    return [n for n in record.nodes.values() if n.kind in ("backward", "second_order") or n.id in wanted]


def view_edges(record: GraphRecord, view: str, shown: Iterable[str]) -> list[Edge]:
    """The edges of ``view`` between nodes it shows."""
    shown = set(shown)
    kinds = EDGE_KINDS[view]
    return [e for e in record.edges if e.kind in kinds and e.tail in shown and e.head in shown]


def laid_out_reversed(edge: Edge, view: str) -> bool:
    """Gradients flow against the data: beside the forward graph they are laid out along it, arrows turned back."""
    return view == "both" and edge.kind in ("grad", "grad_of")


def innermost_boxes(record: GraphRecord) -> set[int]:
    """The boxed calls with no boxed call inside: the layers, folded by ``collapse=True``."""
    boxed = {m.index for m in record.modules if m.boxed}
    outer = {box_of(record, record.modules[k].parent) for k in boxed}
    return boxed - outer


# ----- labels ------------------------------------------------------------------------------


def describe(shape: tuple[int, ...], dtype: str) -> str:
    return f"{tuple(shape)} {dtype}"


def grad_line(name: str, grad: Stats | None) -> list[str]:
    """``name  |grad| norm``, or just the name (if any) without a gradient."""
    if grad is None:
        return [name] if name else []
    return [f"{name}  |grad| {grad.norm:.2e}".strip()]


def node_lines(record: GraphRecord, node: Node, show_grad: bool, scale: GradScale | None = None) -> list[str]:
    """The text of a node: what it is, its shape and dtype, its value if it is one number, its gradient."""
    lines = []
    module = record.modules[node.module] if node.module is not None else None
    if node.kind == "op" and module is not None and not module.boxed:
        lines.append(module.label)
        if node.name != module.label.split(": ", 1)[-1]:
            lines.append(node.name)
    elif node.name:
        lines.append(node.name)
    if node.kind == "constant" and node.scalar is not None and not node.name:
        lines.append(f"{node.scalar:.4g}")
    lines.append(describe(node.shape, node.dtype))
    if node.root and node.scalar is not None:
        lines.append(f"value {node.scalar:.4g}")
    if node.change is not None and node.change.summary:
        lines.append(node.change.summary)
    if show_grad:
        lines += grad_line("", node.grad)
        if node.grad is not None and scale is not None and (flag := scale.flag(node.grad.norm)):
            lines.append(flag)
    return lines


def module_lines(record: GraphRecord, module: ModuleCall, show_grad: bool, params: list[Node]) -> list[str]:
    """A folded module: its label, its output's shape and gradient, and its parameters."""
    output = record.nodes[module.output]
    lines = [module.label, describe(output.shape, output.dtype)]
    if show_grad:
        lines += grad_line("", output.grad)
    for param in params:
        lines += grad_line(param.name, param.grad if show_grad else None) or [param.name or param.id]
    return lines


def node_style(node: Node, show_grad: bool, scale: GradScale | None) -> dict[str, str]:
    """Fill and border of a node: its kind's style, coloured by its gradient norm when gradients are shown."""
    kind = "output" if node.root and node.kind in FORWARD_KINDS else node.kind
    style = dict(STYLES[kind], **grad_style(node.grad, kind == "op", show_grad, scale))
    if node.change is not None and node.change.status in CHANGE_BORDERS:
        style |= CHANGE_BORDERS[node.change.status]
        if node.change.status == "removed":
            style["style"] += ",dashed"
    return style


def grad_style(grad: Stats | None, grey_without: bool, show_grad: bool, scale: GradScale | None) -> dict[str, str]:
    """The fill (and font and border) that a gradient norm gives; grey for an op whose gradient was not kept."""
    if not show_grad or scale is None:
        return {}
    if grad is None:
        return {"fillcolor": NOT_KEPT} if grey_without else {}
    fill = scale.colour(grad.norm)
    style = {"fillcolor": fill, "fontcolor": text_colour(fill)}
    if flag := scale.flag(grad.norm):
        style |= {"color": FLAG_COLOURS[flag], "penwidth": "3"}
    return style


def members_by_module(record: GraphRecord, kinds: Iterable[str]) -> dict[int, list[Node]]:
    """For every module call, the nodes of ``kinds`` made or used inside it, at any depth; named
    leaves in the order they were named (a model's parameters in its own order)."""
    kinds = set(kinds)
    members: dict[int, list[Node]] = {m.index: [] for m in record.modules}
    order = {name: k for k, name in enumerate(record.names)}
    nodes = sorted(record.nodes.values(), key=lambda n: order.get(n.name, len(order)) if n.name else len(order))
    for node in nodes:
        if node.kind not in kinds:
            continue
        module = node.module
        while module is not None:
            members[module].append(node)
            module = record.modules[module].parent
    return members
