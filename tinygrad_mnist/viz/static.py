"""The static picture: a record drawn as Graphviz DOT, one box per module call (nested as
the calls were), or one node per layer with ``collapse``; a legend that fits the graph."""

from __future__ import annotations

from collections.abc import Mapping

import graphviz

from .colour import FLAG_COLOURS, GradScale, palette_colour
from .record import GraphRecord, Node
from .views import (
    CHANGE_BORDERS,
    STYLES,
    box_of,
    grad_style,
    innermost_boxes,
    laid_out_reversed,
    members_by_module,
    module_lines,
    node_lines,
    node_style,
    view_edges,
    view_nodes,
)

EDGE_STYLES = {
    "data": {},
    "grad": {"color": "#7b52ab"},
    "grad_of": {"color": "#2ca02c", "style": "bold"},
    "saved": {"color": "#9a9a9a", "style": "dashed", "arrowhead": "odot"},
}
LEGEND_CELLS = 8


def fill_digraph(
    graph: graphviz.Digraph, record: GraphRecord, view: str, collapse: bool, show_grad: bool, scale: GradScale
) -> None:
    """Write ``record``'s ``view`` into ``graph``: nodes, nested module clusters (or folded layers), edges."""
    graph.attr(rankdir="TB", fontname="Helvetica", fontsize="10")
    graph.attr("node", fontname="Helvetica", fontsize="10", **STYLES["op"])
    if show_grad:
        graph.attr(labelloc="b", label=legend_label(scale))
    shown = view_nodes(record, view)
    folded = innermost_boxes(record) if collapse else set()
    place = {node.id: _outer_fold(record, box_of(record, node.module), folded) for node in shown}
    by_box: dict[int | None, list[tuple[str, dict[str, str]]]] = {}
    params = members_by_module(record, ("parameter",))
    for node in shown:
        box, fold = place[node.id]
        if fold is None:
            by_box.setdefault(box, []).append((node.id, _attrs(record, node, show_grad, scale)))
    for k in sorted({fold for _, fold in place.values() if fold is not None}):
        module = record.modules[k]
        lines = module_lines(record, module, show_grad, params[k])
        grads = [n.grad for n in (record.nodes[module.output], *params[k]) if n.grad is not None]
        worst = max(grads, key=lambda g: scale.decades_outside(g.norm), default=None)
        attrs = dict(STYLES["module"], label="\\n".join(lines), **grad_style(worst, True, show_grad, scale))
        by_box.setdefault(box_of(record, module.parent), []).append((f"m{k}", _trim(attrs)))
    _emit(graph, record, by_box, folded)
    drawn: set[tuple[str, str, str]] = set()
    for edge in view_edges(record, view, place):
        tail, head = _visible(edge.tail, place), _visible(edge.head, place)
        if tail == head:
            continue
        if tail.startswith("m") or head.startswith("m"):  # one edge between a folded layer and each neighbour
            if (tail, head, edge.kind) in drawn:
                continue
            drawn.add((tail, head, edge.kind))
        attrs = dict(EDGE_STYLES[edge.kind])
        if laid_out_reversed(edge, view):
            tail, head, attrs["dir"] = head, tail, "back"
        graph.edge(tail, head, **attrs)


def legend_label(scale: GradScale) -> str:
    """An HTML-like Graphviz label: the colour bar over the graph's own norms, the thresholds marked on it.

    Eight narrow cells and short lines, so the legend stays narrower than the graph it explains.
    """
    if not scale.logs:
        return "no gradient kept: run backward() first, or retain_grad() on the tensors to see"
    marks = [""] * LEGEND_CELLS
    for position, text in scale.marks():
        if 0 < position < 1:
            marks[_cell(position)] += "▼" + text.split()[0]
    ticks = [""] * LEGEND_CELLS
    for position, text in scale.ticks():
        ticks[_cell(position)] = text
    low, high = scale.grad_range
    cells = "".join(
        f'<TD BGCOLOR="{palette_colour((i + 0.5) / LEGEND_CELLS)}" WIDTH="22" HEIGHT="10"></TD>'
        for i in range(LEGEND_CELLS)
    )
    rows = [
        _wide("gradient norm |grad| within this graph, log scale"),
        *([_small_cells(marks)] if any(marks) else []),
        f"<TR>{cells}</TR>",
        _small_cells(ticks),
        _wide(f'<FONT COLOR="{FLAG_COLOURS["vanishing"]}">blue border: below {low:.0e}</FONT>'),
        _wide(f'<FONT COLOR="{FLAG_COLOURS["exploding"]}">red border: above {high:.0e}</FONT>'),
        _wide("grey: gradient not kept"),
    ]
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">' + "".join(rows) + "</TABLE>>"


def _cell(position: float) -> int:
    return min(int(position * LEGEND_CELLS), LEGEND_CELLS - 1)


def _wide(text: str) -> str:
    return f'<TR><TD COLSPAN="{LEGEND_CELLS}"><FONT POINT-SIZE="9">{text}</FONT></TD></TR>'


def _small_cells(texts: list[str]) -> str:
    return "<TR>" + "".join(f'<TD><FONT POINT-SIZE="8">{t}</FONT></TD>' if t else "<TD></TD>" for t in texts) + "</TR>"


def _attrs(record: GraphRecord, node: Node, show_grad: bool, scale: GradScale) -> dict[str, str]:
    lines = node_lines(record, node, show_grad, scale)
    return _trim(dict(node_style(node, show_grad, scale), label="\\n".join(lines)))


def _trim(attrs: dict[str, str]) -> dict[str, str]:
    """Only what differs from the op style (the graph's node default), to keep big graphs small."""
    return {key: value for key, value in attrs.items() if STYLES["op"].get(key) != value}


def _outer_fold(record: GraphRecord, box: int | None, folded: set[int]) -> tuple[int | None, int | None]:
    """The box a node is drawn in, and the outermost folded box around it (None if it is drawn itself)."""
    fold = None
    k = box
    while k is not None:
        if k in folded:
            fold = k
        k = box_of(record, record.modules[k].parent)
    return box, fold


def _visible(node_id: str, place: Mapping[str, tuple[int | None, int | None]]) -> str:
    fold = place[node_id][1]
    return node_id if fold is None else f"m{fold}"


def _emit(
    graph: graphviz.Digraph,
    record: GraphRecord,
    by_box: Mapping[int | None, list[tuple[str, dict[str, str]]]],
    folded: set[int],
) -> None:
    """The nodes of each box, inside one dashed cluster per boxed call, nested as the calls were."""
    inner: dict[int | None, list[int]] = {}
    for module in record.modules:
        if module.boxed and module.index not in folded:
            inner.setdefault(box_of(record, module.parent), []).append(module.index)
    filled: dict[int, bool] = {}

    def holds_anything(box: int) -> bool:
        if box not in filled:
            filled[box] = bool(by_box.get(box)) or any([holds_anything(k) for k in inner.get(box, ())])
        return filled[box]

    def emit(container: graphviz.Digraph, box: int | None) -> None:
        for node_id, attrs in by_box.get(box, ()):
            container.node(node_id, **attrs)
        for k in inner.get(box, ()):
            if holds_anything(k):
                with container.subgraph(name=f"cluster_{k}") as cluster:
                    cluster.attr(label=record.modules[k].label, labelloc="t", style="dashed", color="grey50")
                    change = record.modules[k].change
                    if change is not None and change.status == "changed":  # a diff: a layer that moved
                        cluster.attr(label=f"{record.modules[k].label} ({change.summary})", **CHANGE_BORDERS["changed"])
                    emit(cluster, k)

    emit(graph, None)
