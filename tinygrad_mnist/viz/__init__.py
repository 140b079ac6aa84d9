"""Graph pictures: the recorded graph that ``backward()`` walks, drawn with Graphviz.

``draw_graph(loss)`` draws any tensor's graph; ``draw_model(model, x, target)`` runs
a model once and draws its forward pass and loss, one box per module call (or one
node per layer with ``collapse=True``); ``draw_diff(before, after, x, target)`` draws
what changed between two models. Each returns a ``GraphPicture``, a
``graphviz.Digraph`` that also keeps what it read from the graph. ``render(picture,
"graph.html")`` writes the interactive explorer (one self-contained file: pan, zoom,
fold modules, search, details of every node, forward/backward views), and
``"graph.svg"``, ``.png``, ``.pdf`` or ``.dot`` the static picture. In Jupyter a
picture shows itself as the explorer, inline.

Each op node stands for the op and the tensor it produced (the graph keeps no
intermediate tensors); leaf tensors get nodes of their own. Node ids are stable:
``op<i>`` is the i-th op of ``topological_order`` (the root is ``op0``), ``t<i>`` the
i-th leaf met in that walk, ``b<i>`` the backward of ``op<i>``, ``m<k>`` the k-th
module call (as a folded node). Drawing only reads the graph and holds no tensor
after it returns.
"""

from .colour import DEFAULT_GRAD_RANGE
from .diff import draw_diff
from .draw import draw_graph, draw_model
from .picture import GraphPicture, GraphvizNotFoundError, render
from .views import VIEWS

__all__ = [
    "DEFAULT_GRAD_RANGE",
    "VIEWS",
    "GraphPicture",
    "GraphvizNotFoundError",
    "draw_diff",
    "draw_graph",
    "draw_model",
    "render",
]
