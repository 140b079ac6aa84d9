"""The interactive explorer: one self-contained HTML page, its script and styles inline.

Graphviz lays out each box on its own: the top level and every boxed module call, with
the calls inside it as single nodes, once per view, all in one ``dot -Tplain`` run. The
page's script (``explorer.js``, written for this project, no library) puts those layouts
together for whatever is folded: an unfolded module takes the size of its own layout,
and the rows of its parent's layout move apart to make room. So folding and unfolding
needs no layout engine in the browser, and a 10,000-op graph needs only the small
layouts of its boxes, never one big one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

import graphviz

from .colour import PALETTE, text_colour
from .record import GraphRecord, Stats
from .views import (
    EDGE_KINDS,
    STYLES,
    VIEWS,
    boxes_path,
    innermost_boxes,
    laid_out_reversed,
    members_by_module,
    module_lines,
    node_lines,
    node_style,
    view_edges,
    view_nodes,
)

if TYPE_CHECKING:
    from .picture import GraphPicture

#: Past this many forward nodes, the explorer opens with modules folded down to the depth that fits.
FOLD_PAST = 400
_POINTS_PER_INCH = 72
_LAYOUT_GRAPH = {"rankdir": "TB", "nodesep": "0.25", "ranksep": "0.4"}
_LAYOUT_NODE = {"shape": "box", "fontname": "Helvetica", "fontsize": "10", "margin": "0.12,0.06"}


def explorer_page(picture: GraphPicture) -> str:
    """The whole page for ``picture``: its data and layouts as JSON, and the script and styles that show them."""
    payload = explorer_data(picture)
    script = _asset("explorer.js")
    styles = _asset("explorer.css")
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    title = _escape(payload["title"])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{title}</title>\n"
        f"<style>\n{styles}</style>\n</head><body>\n"
        f'<script type="application/json" id="graph-data">{data}</script>\n'
        f"<script>\n{script}</script>\n</body></html>\n"
    )


def explorer_data(picture: GraphPicture) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data: nodes, modules, edges, layouts, legend, totals."""
    record, scale = picture.record, picture.scale
    has_grad = bool(scale.logs)
    views = [v for v in VIEWS if v == "forward" or record.of_kind("backward")]
    params = members_by_module(record, ("parameter",))
    ops = members_by_module(record, ("op",))
    nodes = {}
    for node in record.nodes.values():
        style = node_style(node, has_grad, scale)
        nodes[node.id] = {
            "kind": "output" if node.root and node.kind != "backward" else node.kind,
            "name": node.name,
            "lines": node_lines(record, node, has_grad, scale),
            "module": node.module,
            "path": [record.modules[k].label for k in _call_path(record, node.module)],
            "shape": list(node.shape),
            "dtype": node.dtype,
            "bytes": node.nbytes,
            "value": _stats(node.value),
            "grad": _stats(node.grad),
            "flag": scale.flag(node.grad.norm) if node.grad is not None and has_grad else "",
            "fill": style.get("fillcolor"),
            "font": style.get("fontcolor"),
            "saved": None if node.saved is None else [_saved(s) for s in node.saved],
            "key": node.key,
        }
    modules = []
    for module in record.modules:
        output = record.nodes[module.output]
        own_params = params[module.index]
        modules.append(
            {
                "label": module.label,
                "name": module.name,
                "parent": module.parent,
                "depth": len(boxes_path(record, module.index)),
                "boxed": module.boxed,
                "output": module.output,
                "lines": module_lines(record, module, has_grad, own_params[:4])
                + ([f"+ {len(own_params) - 4} more parameters"] if len(own_params) > 4 else []),
                "ops": len(ops[module.index]),
                "params": len(own_params),
                "paramValues": sum(p.value.size for p in own_params if p.value is not None),
                "paramBytes": sum(p.nbytes for p in own_params),
                "savedBytes": sum(s.nbytes for n in ops[module.index] for s in n.saved or ()),
                "fill": node_style(output, has_grad, scale).get("fillcolor") if output.grad is not None else None,
            }
        )
    for entry in modules:
        entry["font"] = text_colour(entry["fill"]) if entry["fill"] else None
    flags = [nodes[n.id]["flag"] for n in view_nodes(record, "forward")]
    return {
        "title": picture.title,
        "views": views,
        "view": picture.view if picture.view in views else "forward",
        "hasGrad": has_grad,
        "fills": {kind: style["fillcolor"] for kind, style in STYLES.items()},
        "viewEdges": EDGE_KINDS,
        "backwardRan": record.backward_ran,
        "nodes": nodes,
        "modules": modules,
        "edges": [[e.tail, e.head, e.kind, e.nbytes] for e in record.edges],
        "layouts": layouts(record, views, {k: m["lines"] for k, m in enumerate(modules)}, nodes),
        "open": sorted(default_open(record, picture.collapse)),
        "legend": {
            "stops": list(PALETTE),
            "ticks": scale.ticks(),
            "marks": scale.marks(),
            "range": list(scale.grad_range),
            "vanishing": flags.count("vanishing"),
            "exploding": flags.count("exploding"),
        },
        "totals": record.totals(),
    }


def default_open(record: GraphRecord, collapse: bool) -> set[int]:
    """The boxes unfolded when the page opens: all of them, but the layers with ``collapse``, and
    for a graph of more than ``FOLD_PAST`` nodes only the outer ones that keep it under that size."""
    boxed = [m for m in record.modules if m.boxed]
    if collapse:
        return {m.index for m in boxed} - innermost_boxes(record)
    shown = view_nodes(record, "forward")
    if len(shown) <= FOLD_PAST:
        return {m.index for m in boxed}
    depth = {m.index: len(boxes_path(record, m.index)) for m in boxed}
    paths = [boxes_path(record, node.module) for node in shown]
    best = 0
    for limit in range(1, max(depth.values(), default=0) + 1):
        visible = {tuple(path[: limit + 1]) if len(path) > limit else (node,) for node, path in enumerate(paths)}
        if len(visible) > FOLD_PAST:
            break
        best = limit
    return {k for k, d in depth.items() if d <= best}


def layouts(
    record: GraphRecord, views: Iterable[str], module_text: dict[int, list[str]], nodes: dict[str, dict[str, Any]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each view's layout of each box (``"top"`` or a module's index), as item -> [x, y, width, height]
    in points, the centre measured from the box's top left; items are node ids and ``m<k>`` modules."""
    sources: list[tuple[str, str, str]] = []  # (view, level, DOT)
    paths: dict[int | None, list[int]] = {}
    for view in views:
        shown = view_nodes(record, view)
        chain = {}
        for node in shown:
            if node.module not in paths:
                paths[node.module] = boxes_path(record, node.module)
            chain[node.id] = paths[node.module]
        members: dict[str, dict[str, list[str]]] = {}
        for node in shown:
            path = chain[node.id]
            for depth, box in enumerate(path):
                level = "top" if depth == 0 else str(path[depth - 1])
                members.setdefault(level, {}).setdefault(f"m{box}", module_text[box])
            members.setdefault(str(path[-1]) if path else "top", {})[node.id] = nodes[node.id]["lines"]
        links: dict[str, dict[tuple[str, str], bool]] = {}
        for edge in view_edges(record, view, chain):
            level, tail, head = _projected(chain[edge.tail], chain[edge.head], edge.tail, edge.head)
            pair = (head, tail) if laid_out_reversed(edge, view) else (tail, head)
            links.setdefault(level, {})[pair] = True
        for level, items in members.items():
            graph = graphviz.Digraph(name=f"{view}_{level}", graph_attr=_LAYOUT_GRAPH, node_attr=_LAYOUT_NODE)
            for item, lines in items.items():
                graph.node(item, label="\n".join(lines).replace("\\", "\\\\").replace("\n", "\\n"))
            for tail, head in links.get(level, {}):
                graph.edge(tail, head)
            sources.append((view, level, graph.source))
    plain = graphviz.pipe("dot", "plain", "".join(source for *_, source in sources).encode()).decode()
    result: dict[str, dict[str, dict[str, Any]]] = {view: {} for view in views}
    for (view, level, _), block in zip(sources, _plain_blocks(plain), strict=True):
        result[view][level] = block
    return result


def _projected(tail_path: list[int], head_path: list[int], tail: str, head: str) -> tuple[str, str, str]:
    """The box an edge is laid out in (the innermost holding both ends) and the items it joins there."""
    common = 0
    while common < min(len(tail_path), len(head_path)) and tail_path[common] == head_path[common]:
        common += 1
    level = str(tail_path[common - 1]) if common else "top"
    tail_item = f"m{tail_path[common]}" if len(tail_path) > common else tail
    head_item = f"m{head_path[common]}" if len(head_path) > common else head
    return level, tail_item, head_item


def _plain_blocks(plain: str) -> Iterable[dict[str, Any]]:
    """Parse ``dot -Tplain`` output, one block per graph: its size and each node's centre and size, in points."""
    height = 0.0
    block: dict[str, Any] = {}
    for line in plain.splitlines():
        words = line.split(" ", 6)
        if words[0] == "graph":
            height = float(words[3])
            block = {"w": _points(float(words[2])), "h": _points(height), "items": {}}
        elif words[0] == "node":
            x, y, w, h = (float(v) for v in words[2:6])
            block["items"][words[1].strip('"')] = [_points(x), _points(height - y), _points(w), _points(h)]
        elif words[0] == "stop":
            yield block


def _points(inches: float) -> float:
    return round(inches * _POINTS_PER_INCH, 1)


def _call_path(record: GraphRecord, module: int | None) -> list[int]:
    path = []
    while module is not None:
        path.append(module)
        module = record.modules[module].parent
    return path[::-1]


def _number(value: float) -> float | None:
    """Four significant digits, and None for what JSON cannot hold (nan, inf)."""
    return float(f"{value:.4g}") if math.isfinite(value) else None


def _stats(stats: Stats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "n": stats.size,
        "min": _number(stats.min),
        "max": _number(stats.max),
        "mean": _number(stats.mean),
        "std": _number(stats.std),
        "norm": _number(stats.norm),
        "nonfinite": stats.nonfinite,
        "hist": list(stats.hist),
    }


def _saved(saved: Any) -> dict[str, Any]:
    return {
        "what": saved.what,
        "source": saved.source,
        "shape": list(saved.shape),
        "dtype": saved.dtype,
        "bytes": saved.nbytes,
    }


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
