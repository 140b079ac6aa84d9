"""The boxes the explorer folds: the record's boxed module calls, and chunks of long runs.

A box (the top level, or a module) that holds more than ``CHUNK_PAST`` items directly, such as
a 10,000-op chain with no modules, is split into chunks of ``CHUNK`` consecutive items (in
forward order), each a box of its own, chunked again if there are still too many. So no box
holds more than a few hundred items: each layout stays small, and a big graph opens folded
into chunks instead of as one long column.
"""

from __future__ import annotations

from collections.abc import Iterable

from .record import GraphRecord

#: A box holding more items than this directly is split into chunks of ``CHUNK`` items.
CHUNK_PAST = 300
CHUNK = 200


class Boxes:
    """Module calls (by the record's index) then chunks (indices after them), with parents and boxes.

    ``module_of[node_id]`` is the innermost module or chunk a node is drawn in; ``path(module)``
    the boxes around it, outermost first; ``depth[k]`` a box's place in that nesting (1: outermost).
    """

    def __init__(self, record: GraphRecord) -> None:
        self.record = record
        self.parent: list[int | None] = [m.parent for m in record.modules]
        self.boxed: list[bool] = [m.boxed for m in record.modules]
        self.labels: list[str] = [m.label for m in record.modules]
        self.outputs: list[str] = [m.output for m in record.modules]
        self.module_of: dict[str, int | None] = {n.id: n.module for n in record.nodes.values()}
        self._paths: dict[int | None, list[int]] = {}
        self._chunk()
        for node in record.of_kind("backward"):  # a backward node sits with its op
            self.module_of[node.id] = self.module_of["op" + node.id[1:]]
        self.depth = {k: len(self.path(k)) for k in range(len(self.parent)) if self.boxed[k]}

    @property
    def chunks(self) -> range:
        return range(len(self.record.modules), len(self.parent))

    def path(self, module: int | None) -> list[int]:
        """The boxes around a node of ``module`` (and ``module`` itself if it is one), outermost first."""
        if module is None:
            return []
        if module not in self._paths:
            outer = self.path(self.parent[module])
            self._paths[module] = [*outer, module] if self.boxed[module] else outer
        return self._paths[module]

    def node_path(self, node_id: str) -> list[int]:
        return self.path(self.module_of[node_id])

    def members(self, kinds: Iterable[str]) -> dict[int, list[str]]:
        """For every box and module, the ids of the nodes of ``kinds`` inside it, at any depth."""
        kinds = set(kinds)
        inside: dict[int, list[str]] = {k: [] for k in range(len(self.parent))}
        order = {name: k for k, name in enumerate(self.record.names)}  # named leaves in the model's order
        for node in sorted(self.record.nodes.values(), key=lambda n: order.get(n.name, len(order))):
            if node.kind in kinds:
                module = self.module_of[node.id]
                while module is not None:
                    inside[module].append(node.id)
                    module = self.parent[module]
        return inside

    # ----- chunks --------------------------------------------------------------------------

    def _chunk(self) -> None:
        """Split every box with more than ``CHUNK_PAST`` direct items, computed before any split."""
        items: dict[int | None, list[str | int]] = {}  # box -> its direct items (op ids, boxes), in forward order
        span: dict[str | int, tuple[int, int]] = {}  # item -> the first and last op inside it, counted from 1
        ops = self.record.of_kind("op")  # the record keeps them in forward order
        for position, node in enumerate(ops, start=1):
            path = self.node_path(node.id)
            for depth in range(len(path) + 1):
                item: str | int = path[depth] if depth < len(path) else node.id
                if item not in span:
                    items.setdefault(path[depth - 1] if depth else None, []).append(item)
                span[item] = (span.get(item, (position, position))[0], position)
        for box, members in items.items():
            while len(members) > CHUNK_PAST:
                runs = [members[i : i + CHUNK] for i in range(0, len(members), CHUNK)]
                members = [self._new_chunk(box, run, span) for run in runs]
        first_user: dict[str, str] = {}
        for edge in self.record.edges:
            if edge.kind == "data":
                first_user.setdefault(edge.tail, edge.head)
        for node in self.record.of_kind("parameter", "input", "constant"):
            if node.id in first_user:  # a leaf goes into the chunk its first user went into
                item = self._item_under(self._box(self.module_of[node.id]), first_user[node.id])
                if isinstance(item, int) and item in self.chunks:
                    self.module_of[node.id] = item

    def _new_chunk(self, box: int | None, members: list[str | int], span: dict[str | int, tuple[int, int]]) -> int:
        """A chunk of ``members`` inside ``box``: they (or their outermost one-node module) move into it."""
        chunk = len(self.parent)
        first, last = span[members[0]][0], span[members[-1]][1]
        span[chunk] = (first, last)
        self.parent.append(box)
        self.boxed.append(True)
        self.labels.append((f"{self.labels[box]}: " if box is not None else "") + f"ops {first} to {last}")
        self.outputs.append(members[-1] if isinstance(members[-1], str) else self.outputs[members[-1]])
        for member in members:
            if isinstance(member, int):
                self.parent[member] = chunk
                continue
            module = self.module_of[member]
            if module is None or module == box:
                self.module_of[member] = chunk
            else:
                while self.parent[module] != box:
                    module = self.parent[module]
                self.parent[module] = chunk
        self._paths.clear()
        return chunk

    def _box(self, module: int | None) -> int | None:
        path = self.path(module)
        return path[-1] if path else None

    def _item_under(self, box: int | None, node_id: str) -> int | str | None:
        """The item directly inside ``box`` that holds ``node_id``."""
        path = self.node_path(node_id)
        if box is None:
            return path[0] if path else node_id
        if box not in path:
            return None
        i = path.index(box)
        return path[i + 1] if i + 1 < len(path) else node_id
