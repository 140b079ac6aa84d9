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

import base64
import gzip
import json
import math
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import TYPE_CHECKING, Any

import graphviz

from .boxes import Boxes
from .colour import PALETTE, GradScale, text_colour
from .record import Change, GraphRecord, Saved, Stats
from .views import (
    EDGE_KINDS,
    STYLES,
    VIEWS,
    describe,
    grad_line,
    innermost_boxes,
    laid_out_reversed,
    module_lines,
    node_lines,
    node_style,
    view_edges,
    view_nodes,
)

if TYPE_CHECKING:
    from .picture import GraphPicture

DIFF_NOTE = (
    "Borders: orange changed (weights moved, or shape), green added, dashed red removed; a module box is orange "
    "when something inside it changed. Colour \u201cchange\u201d fills each parameter by how its gradient norm "
    "changed: bluer smaller, redder larger, white the same (orange: moved, no gradients to compare)."
)
#: Data bigger than this (characters of JSON) is embedded gzipped, in base64: a tenth of the size.
COMPRESS_PAST = 1_000_000
#: Past this many forward nodes, the explorer opens with modules folded down to the depth that fits.
FOLD_PAST = 400
_POINTS_PER_INCH = 72
_LAYOUT_DEFAULTS = (
    'graph [rankdir=TB nodesep=0.25 ranksep=0.4]\nnode [shape=box fontname=Helvetica fontsize=10 margin="0.12,0.06"]'
)


def explorer_page(picture: GraphPicture) -> str:
    """The whole page for ``picture``: its data and layouts as JSON, and the script and styles that show them."""
    payload = explorer_data(picture)
    script = _asset("explorer.js")
    styles = _asset("explorer.css")
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    if len(data) > COMPRESS_PAST:
        kind, data = "application/gzip-base64", base64.b64encode(gzip.compress(data.encode(), 6, mtime=0)).decode()
    else:
        kind, data = "application/json", data.replace("</", "<\\/")
    title = _escape(payload["title"])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">\n'
        f"<title>{title}</title>\n"
        f"<style>\n{styles}</style>\n</head><body>\n"
        f'<script type="{kind}" id="graph-data">{data}</script>\n'
        f"<script>\n{script}</script>\n</body></html>\n"
    )


def explorer_data(picture: GraphPicture) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data: nodes, modules, edges, layouts, legend, totals.

    Kept compact for big graphs: statistics and saved tensors as arrays (see ``_stats`` and
    ``_saved``), empty fields left out, a backward node's value and saved tensors read from its op.
    Modules are the record's calls, then the chunks ``Boxes`` made.
    """
    record, scale = picture.record, picture.scale
    has_grad = bool(scale.logs)
    boxes = Boxes(record)
    views = [v for v in VIEWS if v == "forward" or record.of_kind("backward")]
    nodes = {}
    text = {}  # what each node shows, as laid out; the page adds the gradient lines to "l" itself
    for node in record.nodes.values():
        style = node_style(node, has_grad, scale)
        text[node.id] = node_lines(record, node, has_grad, scale)
        if node.kind == "backward":  # the rest (module, shape, value, gradient, saved tensors) is its op's
            nodes[node.id] = {"k": node.kind, "n": node.name}
            continue
        entry = {
            "k": "output" if node.root else node.kind,
            "n": node.name,
            "l": node_lines(record, node, False),
            "g": _stats(node.grad),
            "f": scale.flag(node.grad.norm) if node.grad is not None and has_grad else None,
            "c": [style["fillcolor"], style.get("fontcolor")] if "fontcolor" in style else None,
            "m": boxes.module_of[node.id],
            "s": list(node.shape),
            "d": node.dtype,
            "b": node.nbytes,
            "v": _stats(node.value),
            "sv": None if node.saved is None else [_saved(x) for x in node.saved],
            "key": node.key if node.change is not None else None,
            "change": _change(node.change),
        }
        nodes[node.id] = {
            key: value for key, value in entry.items() if value is not None and (key, value) != ("sv", [])
        }
        if node.saved is None and node.kind == "op":
            nodes[node.id]["freed"] = True
    modules = _modules(record, boxes, has_grad, scale)
    flags = [nodes[n.id].get("f") for n in view_nodes(record, "forward")]
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
        "edges": [[e.tail, e.head, e.kind, e.nbytes] if e.nbytes else [e.tail, e.head, e.kind] for e in record.edges],
        "layouts": layouts(record, boxes, views, [m.get("lines", []) for m in modules], text),
        "open": sorted(default_open(record, boxes, picture.collapse)),
        "legend": {
            "stops": list(PALETTE),
            "ticks": scale.ticks(),
            "marks": scale.marks(),
            "range": list(scale.grad_range),
            "vanishing": flags.count("vanishing"),
            "exploding": flags.count("exploding"),
        },
        "totals": record.totals(),
        "diff": {"note": DIFF_NOTE} if any(n.change is not None for n in record.nodes.values()) else None,
    }


def _modules(record: GraphRecord, boxes: Boxes, has_grad: bool, scale: GradScale) -> list[dict[str, Any]]:
    """Each module call and chunk: its label, nesting, text when folded, and what is inside it."""
    params = boxes.members(("parameter",))
    ops = boxes.members(("op",))
    holders = {boxes.parent[k] for k in range(len(boxes.parent)) if boxes.boxed[k]}  # boxes with boxes inside
    entries = []
    for k, parent in enumerate(boxes.parent):
        output = record.nodes[boxes.outputs[k]]
        inside = [record.nodes[p] for p in params[k]]
        if not boxes.boxed[k]:  # a one-node module: only its name, for the nodes' module paths
            entries.append({"label": boxes.labels[k], "name": record.modules[k].name, "parent": parent})
            continue
        if k < len(record.modules) and k not in holders:  # a layer: its parameters by name
            lines = module_lines(record, record.modules[k], has_grad, inside[:4])
            lines += [f"+ {len(inside) - 4} more parameters"] if len(inside) > 4 else []
        else:  # boxes inside: what they add up to
            lines = [boxes.labels[k], describe(output.shape, output.dtype)]
            lines += grad_line("", output.grad) if has_grad else []
            lines.append(f"{len(ops[k])} ops, {len(inside)} parameters")
        fill = node_style(output, has_grad, scale).get("fillcolor") if output.grad is not None else None
        entries.append(
            {
                "label": boxes.labels[k],
                "name": record.modules[k].name if k < len(record.modules) else "",
                "parent": parent,
                "depth": boxes.depth.get(k, 0),
                "boxed": boxes.boxed[k],
                "output": output.id,
                "lines": lines,
                "ops": len(ops[k]),
                "params": len(inside),
                "paramValues": sum(p.value.size for p in inside if p.value is not None),
                "paramBytes": sum(p.nbytes for p in inside),
                "savedBytes": sum(x.nbytes for n in ops[k] for x in record.nodes[n].saved or ()),
                "c": [fill, text_colour(fill)] if fill else None,
                "change": _change(record.modules[k].change) if k < len(record.modules) else None,
            }
        )
    return entries


def _change(change: Change | None) -> dict[str, Any] | None:
    """A diff's verdict on a node or module, for the page: status, colour and what differs."""
    if change is None:
        return None
    fill = change.fill or "#f7f7f7"
    return {"status": change.status, "fill": fill, "font": text_colour(fill), "metrics": dict(change.details)}


def default_open(record: GraphRecord, boxes: Boxes, collapse: bool) -> set[int]:
    """The boxes unfolded when the page opens: all but the rolls of repeated blocks (and the layers,
    with ``collapse``); for a graph of more than ``FOLD_PAST`` nodes only the outer ones that keep
    it under that size."""
    depth = {k: d for k, d in boxes.depth.items() if k not in boxes.rolls}
    if collapse:
        return set(depth) - innermost_boxes(record)
    shown = view_nodes(record, "forward")
    if len(shown) <= FOLD_PAST:
        return set(depth)
    paths = [boxes.node_path(node.id) for node in shown]
    best = 0
    for limit in range(1, max(depth.values(), default=0) + 1):
        visible = set()
        for node, path in enumerate(paths):
            closed = next((i for i, k in enumerate(path) if k not in depth or depth[k] > limit), None)
            visible.add((node,) if closed is None else tuple(path[: closed + 1]))
        if len(visible) > FOLD_PAST:
            break
        best = limit
    return {k for k, d in depth.items() if d <= best}


def layouts(
    record: GraphRecord,
    boxes: Boxes,
    views: Iterable[str],
    module_text: list[list[str]],
    node_text: dict[str, list[str]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each view's layout of each box (``"top"`` or a module's index), as item -> [x, y, width, height]
    in points, the centre measured from the box's top left; items are node ids and ``m<k>`` modules."""
    sources: list[tuple[str, str, str]] = []  # (view, level, DOT)
    for view in views:
        shown = view_nodes(record, view)
        chain = {node.id: boxes.node_path(node.id) for node in shown}
        members: dict[str, dict[str, list[str]]] = {}
        for node in shown:
            path = chain[node.id]
            for depth, box in enumerate(path):
                level = "top" if depth == 0 else str(path[depth - 1])
                members.setdefault(level, {}).setdefault(f"m{box}", module_text[box])
            members.setdefault(str(path[-1]) if path else "top", {})[node.id] = node_text[node.id]
        links: dict[str, dict[tuple[str, str], bool]] = {}
        for edge in view_edges(record, view, chain):
            level, tail, head = _projected(chain[edge.tail], chain[edge.head], edge.tail, edge.head)
            pair = (head, tail) if laid_out_reversed(edge, view) else (tail, head)
            links.setdefault(level, {})[pair] = True
        for level, items in members.items():
            body = [f'{item} [label="{_dot_text(lines)}"]' for item, lines in items.items()]
            body += [f"{tail} -> {head}" for tail, head in links.get(level, {})]
            sources.append(
                (view, level, f"digraph {view}_{level} {{\n{_LAYOUT_DEFAULTS}\n" + "\n".join(body) + "\n}\n")
            )
    result: dict[str, dict[str, dict[str, Any]]] = {view: {} for view in views}
    for (view, level, _), block in zip(sources, _plain_blocks(_dot_plain([dot for *_, dot in sources])), strict=True):
        result[view][level] = block
    return result


def _dot_plain(sources: list[str]) -> str:
    """``dot -Tplain`` of many graphs: one ``dot`` per core, each on a run of them, the outputs in order."""
    runs = min(os.cpu_count() or 1, max(1, len(sources) // 50))
    size = -(-len(sources) // runs)
    batches = ["".join(sources[i : i + size]).encode() for i in range(0, len(sources), size)]
    with ThreadPoolExecutor(len(batches)) as pool:  # each thread waits on its own dot process
        return "".join(out.decode() for out in pool.map(lambda batch: graphviz.pipe("dot", "plain", batch), batches))


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


def _points(inches: float) -> int:
    return round(inches * _POINTS_PER_INCH)


def _dot_text(lines: list[str]) -> str:
    """Lines as one quoted DOT label's text: quotes and backslashes escaped, lines joined by ``\\n``."""
    return "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)


def _number(value: float) -> float | None:
    """Four significant digits, and None for what JSON cannot hold (nan, inf)."""
    return float(f"{value:.4g}") if math.isfinite(value) else None


def _stats(stats: Stats | None) -> list[Any] | None:
    """``[size, min, max, mean, std, norm, nonfinite, *histogram]``, numbers to four digits."""
    if stats is None:
        return None
    figures = (stats.min, stats.max, stats.mean, stats.std, stats.norm)
    return [stats.size, *(_number(f) for f in figures), stats.nonfinite, *stats.hist]


def _saved(saved: Saved) -> list[Any]:
    """``[what, source node or None, shape, dtype, bytes]``."""
    return [saved.what, saved.source, list(saved.shape), saved.dtype, saved.nbytes]


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
