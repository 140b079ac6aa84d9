"""The boxes the explorer folds: the record's boxed module calls, rolls of repeats, and chunks.

Inside each box (the top level, or a module), a run of ``ROLL_LEAST`` or more repeats of the
same block (the same modules and ops with the same shapes, such as the identical layers of a
deep network, or ``Linear, ReLU`` pairs) is rolled up into one box, ``(Linear(8→8), ReLU) x 100``,
that opens folded. Then a box still holding more than ``CHUNK_PAST`` items directly is split
into chunks of ``CHUNK`` consecutive items (in forward order), chunked again if there are still
too many. So no box holds more than a few hundred items: each layout stays small, and a big
graph opens folded instead of as one long column.
"""

from __future__ import annotations

from collections.abc import Iterable

from .record import GraphRecord

#: A box holding more items than this directly is split into chunks of ``CHUNK`` items.
CHUNK_PAST = 300
CHUNK = 200
#: This many repeats or more of the same block (up to ``ROLL_PERIOD`` items long) are rolled up as one.
ROLL_LEAST = 3
ROLL_PERIOD = 4


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
        self.rolls: set[int] = set()  # the boxes that roll up repeated blocks
        self._group()
        for node in record.of_kind("backward"):  # a backward node sits with its op
            self.module_of[node.id] = self.module_of["op" + node.id[1:]]
        self.depth = {k: len(self.path(k)) for k in range(len(self.parent)) if self.boxed[k]}

    @property
    def synthetic(self) -> range:
        """The boxes made here (rolls and chunks), after the record's module calls."""
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

    # ----- rolls and chunks ----------------------------------------------------------------

    def _group(self) -> None:
        """Roll up repeated runs and chunk long boxes, from the items each box held to begin with."""
        items: dict[int | None, list[str | int]] = {}  # box -> its direct items (op ids, boxes), in forward order
        span: dict[str | int, tuple[int, int]] = {}  # item -> the first and last op inside it, counted from 1
        for position, node in enumerate(self.record.of_kind("op"), start=1):  # the record keeps forward order
            path = self.node_path(node.id)
            for depth in range(len(path) + 1):
                item: str | int = path[depth] if depth < len(path) else node.id
                if item not in span:
                    items.setdefault(path[depth - 1] if depth else None, []).append(item)
                span[item] = (span.get(item, (position, position))[0], position)
        shapes: dict[str | int, tuple] = {}
        work = [(box, members, True) for box, members in items.items()]
        while work:
            box, members, may_roll = work.pop()
            if may_roll:
                members = self._roll(box, members, span, items, shapes, work)
            while len(members) > CHUNK_PAST:
                runs = [members[i : i + CHUNK] for i in range(0, len(members), CHUNK)]
                label = "ops {first} to {last}" if box is None or box in self.rolls else "{box}: ops {first} to {last}"
                members = [self._new_box(box, run, span, label) for run in runs]
        first_user: dict[str, str] = {}
        for edge in self.record.edges:
            if edge.kind == "data":
                first_user.setdefault(edge.tail, edge.head)
        for node in self.record.of_kind("parameter", "constant"):  # the data stays where the graph starts
            if node.id in first_user:  # a leaf goes into the roll or chunk its first user went into
                box = self._box(self.module_of[node.id])
                item = self._item_under(box, first_user[node.id])
                while isinstance(item, int) and item in self.synthetic:
                    box, item = item, self._item_under(item, first_user[node.id])
                self.module_of[node.id] = box if box in self.synthetic else self.module_of[node.id]

    def _roll(
        self,
        box: int | None,
        members: list[str | int],
        span: dict[str | int, tuple[int, int]],
        items: dict[int | None, list[str | int]],
        shapes: dict[str | int, tuple],
        work: list[tuple[int | None, list[str | int], bool]],
    ) -> list[str | int]:
        """Replace each run of ``ROLL_LEAST`` or more repeats of the same items (a period of up to
        ``ROLL_PERIOD`` items, one of them a box) by one box, ``Block x 12``; its inside is grouped in turn."""
        shape = [self._shape(m, items, shapes) for m in members]
        rolled: list[str | int] = []
        i = 0
        while i < len(members):
            best = (1, 1)
            for period in range(1, ROLL_PERIOD + 1):
                if not any(isinstance(m, int) for m in members[i : i + period]):
                    continue
                times = 1
                while shape[i + times * period : i + (times + 1) * period] == shape[i : i + period]:
                    times += 1
                if times >= ROLL_LEAST and times * period > best[0] * best[1]:
                    best = (times, period)
            times, period = best
            if times == 1:
                rolled.append(members[i])
                i += 1
                continue
            run = members[i : i + times * period]
            names = ", ".join(self._short(m) for m in run[:period])
            roll = self._new_box(box, run, span, f"({names}) x {times}" if period > 1 else f"{names} x {times}")
            self.rolls.add(roll)
            work.append((roll, run, False))
            rolled.append(roll)
            i += times * period
        return rolled

    def _shape(
        self, item: str | int, items: dict[int | None, list[str | int]], shapes: dict[str | int, tuple]
    ) -> tuple:
        """What makes two items the same block: an op's name and output; a module's kind and its items' shapes."""
        if item not in shapes:
            if isinstance(item, str):
                node = self.record.nodes[item]
                shapes[item] = (node.name, node.shape, node.dtype)
            else:
                inside = tuple(self._shape(m, items, shapes) for m in items.get(item, ()))
                shapes[item] = (self.labels[item].split(": ", 1)[-1], inside)
        return shapes[item]

    def _short(self, item: str | int) -> str:
        return self.labels[item].split(": ", 1)[-1] if isinstance(item, int) else self.record.nodes[item].name

    def _new_box(
        self, box: int | None, members: list[str | int], span: dict[str | int, tuple[int, int]], label: str
    ) -> int:
        """A box of ``members`` inside ``box``: they (or their outermost one-node module) move into it.
        ``label`` may use ``{first}`` and ``{last}``, the ops it spans, counted from 1, and ``{box}``."""
        new = len(self.parent)
        first, last = span[members[0]][0], span[members[-1]][1]
        span[new] = (first, last)
        self.parent.append(box)
        self.boxed.append(True)
        self.labels.append(label.format(first=first, last=last, box=self.labels[box] if box is not None else "graph"))
        self.outputs.append(members[-1] if isinstance(members[-1], str) else self.outputs[members[-1]])
        for member in members:
            if isinstance(member, int):
                self.parent[member] = new
                continue
            module = self.module_of[member]
            if module is None or module == box:
                self.module_of[member] = new
            else:
                while self.parent[module] != box:
                    module = self.parent[module]
                self.parent[module] = new
        self._paths.clear()
        return new

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
