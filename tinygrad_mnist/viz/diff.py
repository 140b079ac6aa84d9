"""Diffs: two models (two architectures, or one model at two training steps) drawn as one graph.

``draw_diff(before, after, x, target)`` runs both on the same batch and draws the second's
graph with what differs marked: nodes matched by their keys (a parameter by its name, an op
by its module and its place there), added and removed nodes, changed shapes, and for each
parameter how far its weights moved and how its gradient norm changed. Modules holding a
changed parameter are marked changed too: the layers that training moved.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .colour import DEFAULT_GRAD_RANGE
from .draw import record_model
from .picture import GraphPicture
from .record import FORWARD_KINDS, Change, Edge, GraphRecord, Node
from .views import check_view

if TYPE_CHECKING:
    from ..nn import Module
    from ..tensor import Tensor

#: Gradient norms that grew are drawn redder, those that shrank bluer, in full colour at this factor.
RATIO_SATURATION = 10.0
_SMALLER, _SAME, _LARGER = (69, 117, 180), (247, 247, 247), (215, 48, 39)
_MOVED = "#fdae6b"  # a parameter whose weights moved, when no gradients say more


def draw_diff(
    before: Module,
    after: Module,
    x: Tensor,
    target: Any = None,
    *,
    grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE,
    view: str = "forward",
    names: tuple[str, str] = ("before", "after"),
) -> GraphPicture:
    """Draw ``after``'s graph on ``x`` with what differs from ``before``'s marked.

    With a ``target`` both losses are differentiated, so each parameter also shows how its
    gradient norm changed (ratio after/before, redder when it grew, bluer when it shrank).
    ``names`` name the two sides in the labels and details.
    """
    check_view(view)
    with_grads = target is not None
    first, _ = record_model(before, x, target, with_grads, "draw_diff")
    second, _ = record_model(after, x, target, with_grads, "draw_diff")
    merged = diff_records(first, second, _arrays(before), _arrays(after), names)
    return GraphPicture.drawn(
        merged, view=view, show_grad=with_grads, grad_range=grad_range, title=f"{names[0]} → {names[1]}"
    )


def diff_records(
    first: GraphRecord,
    second: GraphRecord,
    first_params: dict[str, np.ndarray],
    second_params: dict[str, np.ndarray],
    names: tuple[str, str] = ("before", "after"),
) -> GraphRecord:
    """``second`` with a ``Change`` on every forward node and module, and ``first``'s unmatched nodes added
    back as removed (ids prefixed ``x``), so that one picture shows both."""
    before = {n.key: n for n in first.nodes.values() if n.kind in FORWARD_KINDS}
    matched = set()
    for node in second.nodes.values():
        if node.kind not in FORWARD_KINDS:
            continue
        old = before.get(node.key)
        if old is None:
            node.change = Change("added", "added", ((names[0], "not there"),), fill="#c7e9c0")
            continue
        matched.add(node.key)
        node.change = _compare(old, node, first_params.get(old.name), second_params.get(node.name), names)
    for node in second.of_kind("backward"):
        forward = second.nodes["op" + node.id[1:]]
        node.change = forward.change
    _add_removed(first, second, [n for n in before.values() if n.key not in matched])
    _mark_modules(second)
    return second


def _compare(
    old: Node, new: Node, old_array: np.ndarray | None, new_array: np.ndarray | None, names: tuple[str, str]
) -> Change:
    """How ``new`` differs from ``old``: its shape, and for a parameter its weights and gradient norm."""
    details: list[tuple[str, str]] = []
    if (old.shape, old.dtype) != (new.shape, new.dtype):
        details.append(("shape", f"{old.shape} {old.dtype} → {new.shape} {new.dtype}"))
        return Change("changed", "shape changed", tuple(details), fill=_MOVED)
    if old.grad is not None and new.grad is not None:
        details.append(("|grad|", f"{old.grad.norm:.3e} → {new.grad.norm:.3e}"))
    if new.kind != "parameter" or old_array is None or new_array is None:
        return Change("same", "", tuple(details))
    distance = float(np.linalg.norm(new_array.astype(np.float64) - old_array.astype(np.float64)))
    scale = float(np.linalg.norm(old_array.astype(np.float64)))
    if distance == 0:
        return Change("same", "", tuple(details))
    if scale:
        summary = f"moved {distance / scale:.2%}"
        details.insert(0, (f"weights, {names[0]} → {names[1]}", f"moved {distance / scale:.3%} of their norm"))
    else:  # from all zeros (a bias, at the start): no relative change to give
        summary = f"moved {distance:.2e} from 0"
    details.insert(1, ("L2 distance", f"{distance:.3e}"))
    fill = _MOVED
    if old.grad is not None and new.grad is not None and old.grad.norm > 0:
        ratio = new.grad.norm / old.grad.norm
        details.append(("|grad| ratio", f"{ratio:.3g}x"))
        fill = ratio_colour(ratio)
    return Change("changed", summary, tuple(details), fill=fill)


def ratio_colour(ratio: float) -> str:
    """White for an unchanged gradient norm, bluer as it shrank and redder as it grew, in log steps."""
    if not math.isfinite(ratio) or ratio <= 0:
        t, tint = 1.0, _LARGER
    else:
        t = min(abs(math.log10(ratio)) / math.log10(RATIO_SATURATION), 1.0)
        tint = _LARGER if ratio > 1 else _SMALLER
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(_SAME, tint, strict=True))


def _add_removed(first: GraphRecord, second: GraphRecord, removed: list[Node]) -> None:
    """Put ``first``'s unmatched forward nodes into ``second`` as removed, with their edges,
    in the module of the same name if ``second`` has one."""
    if not removed:
        return
    key_to_id = {n.key: n.id for n in second.nodes.values() if n.kind in FORWARD_KINDS}
    module_by_name = {m.name: m.index for m in second.modules}
    gone = {n.id for n in removed}

    def mapped(node_id: str) -> str:
        return "x" + node_id if node_id in gone else key_to_id.get(first.nodes[node_id].key, "x" + node_id)

    for node in removed:
        module = first.modules[node.module].name if node.module is not None else None
        copy = Node(
            "x" + node.id, node.kind, node.name, node.shape, node.dtype, node.key,
            module=module_by_name.get(module), value=node.value, grad=node.grad, saved=node.saved,
            change=Change("removed", "removed", (("after", "not there"),), fill="#fcbba1"),
        )  # fmt: skip
        second.nodes[copy.id] = copy
    for edge in first.edges:
        if edge.kind == "data" and (edge.tail in gone or edge.head in gone):
            second.edges.append(Edge(mapped(edge.tail), mapped(edge.head), "data"))


def _mark_modules(record: GraphRecord) -> None:
    """A module is changed when a node inside it is (or was) changed, added or removed."""
    changed: dict[int, int] = {}
    for node in record.nodes.values():
        if node.kind in FORWARD_KINDS and node.change is not None and node.change.status != "same":
            module = node.module
            while module is not None:
                changed[module] = changed.get(module, 0) + 1
                module = record.modules[module].parent
    for module in record.modules:
        count = changed.get(module.index, 0)
        module.change = Change("changed", f"{count} changed inside", (("nodes changed", str(count)),)) if count else (
            Change("same")
        )


def _arrays(model: Module) -> dict[str, np.ndarray]:
    return {name: p.numpy() for name, p in model.named_parameters()}

