"""``draw_graph`` and ``draw_model``: read a recorded graph into a ``GraphPicture``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..autograd import grad
from ..tensor import Tensor, cross_entropy
from .colour import DEFAULT_GRAD_RANGE
from .picture import GraphPicture
from .record import Call, GraphRecord, record_graph, set_grads
from .views import check_view

if TYPE_CHECKING:
    from ..nn import Module

NameMap = Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]


def draw_graph(
    root: Tensor,
    params: NameMap | Module | None = None,
    *,
    inputs: NameMap | None = None,
    show_grad: bool = False,
    grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE,
    view: str = "forward",
) -> GraphPicture:
    """Draw the graph that produced ``root``: one node per op and per leaf tensor.

    Edges run in data-flow direction, one per op input. ``params`` names the
    parameters (a model, ``model.named_parameters()`` or a ``{name: tensor}`` map)
    and ``inputs`` names the data; unnamed leaves are styled by ``requires_grad``.
    With ``show_grad`` (after ``backward()``), tensors whose gradient was kept -
    leaves, and those that called ``retain_grad()`` - show its norm and are coloured by
    where it falls among the graph's own norms; norms outside ``grad_range`` are marked
    vanishing or exploding. ``view`` is ``"forward"``, ``"backward"`` (the backward
    graph: one node per op whose backward runs) or ``"both"``.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: expected the Tensor whose graph to draw, got {type(root).__name__}")
    check_view(view)
    inputs = _name_map(inputs, "inputs")
    record, _ = record_graph(root, _name_map(params, "params") | inputs, inputs.values())
    return GraphPicture.drawn(record, view=view, show_grad=show_grad, grad_range=grad_range)


def draw_model(
    model: Module,
    x: Tensor,
    target: Any = None,
    *,
    collapse: bool = False,
    show_grad: bool = False,
    grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE,
    view: str = "forward",
) -> GraphPicture:
    """Run ``model`` on ``x`` once and draw its forward pass, with the loss when ``target`` is given.

    Ops are grouped into one box per module call (``0: Linear(784→10)``), nested as
    the calls were; with ``collapse=True`` each layer becomes one node, so a deep network
    stays readable. The loss is ``cross_entropy(model(x), target)``. ``show_grad`` also
    computes its gradients (with ``autograd.grad``, so no ``.grad`` changes) and draws
    those of the parameters, of ``x`` when it requires grad, and of every module's output
    and saved tensor. ``x`` is detached first, so the caller's graph is left as it was.
    This is the equivalent of a ``model.graph(x)``.
    """
    record, _ = record_model(model, x, target, show_grad, "draw_model")
    check_view(view)
    return GraphPicture.drawn(record, view=view, collapse=collapse, show_grad=show_grad, grad_range=grad_range)


def record_model(model: Module, x: Tensor, target: Any, with_grads: bool, caller: str) -> tuple[GraphRecord, Tensor]:
    """Run ``model`` once and record its graph (and its gradients); also return the loss or output."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{caller}: the example input must be a Tensor, got {type(x).__name__}")
    if with_grads and target is None:
        raise ValueError(f"{caller}: show_grad needs a target, to compute the loss whose gradients are drawn")
    x = x.detach().requires_grad_(x.requires_grad)
    calls: list[Call] = []
    module_names = {id(module): name for name, module in model.named_modules()}

    def keep(module: Any, args: tuple[Any, ...], output: Any) -> None:
        if isinstance(output, Tensor):
            calls.append((module_names[id(module)], module, tuple(a for a in args if isinstance(a, Tensor)), output))

    handles = [module.register_forward_hook(keep) for _, module in model.named_modules()]
    try:
        output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: the model returned {type(output).__name__}, expected a Tensor")
    root = output if target is None else cross_entropy(output, target)
    if root.grad_fn is None:
        raise RuntimeError(
            f"{caller}: the forward pass recorded no graph; the model needs parameters that require grad, "
            f"and {caller} must not run inside no_grad()"
        )
    params = dict(model.named_parameters())
    values = {id(out.grad_fn): out for *_, out in calls if out.grad_fn is not None}
    record, known = record_graph(root, params | {"input": x}, [x], calls, values)
    if with_grads:
        by_name = {node.name: node.id for node in record.of_kind("parameter", "input")}
        targets = {by_name[name]: p for name, p in params.items() if name in by_name}
        if x.requires_grad:
            targets[by_name["input"]] = x
        targets |= {node_id: tensor for node_id, tensor in known.items() if node_id != record.root}
        found = grad(root, list(targets.values()), allow_unused=True)
        set_grads(
            record, {node_id: g.numpy() if g is not None else None for node_id, g in zip(targets, found, strict=True)}
        )
    return record, root


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
