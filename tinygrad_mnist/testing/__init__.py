"""Property-testing gradients: Hypothesis strategies, random graphs, and the op registry.

The project's own tests use exactly these, and so can yours::

    from hypothesis import given
    from tinygrad_mnist.testing import arrays, assert_gradients_match

    @given(arrays())
    def test_softplus(x):
        assert_gradients_match(lambda t: (t.exp() + 1).log(), x)

``graphs()`` draws whole expression graphs, with shared and 0-d nodes, for
``check_graph_gradients``: the engine's bookkeeping, not one op, is what they test.
``register_op`` adds an op to the registry and ``check_op`` runs the whole battery of
properties on it (forward against NumPy and PyTorch, first and second derivatives at random
cotangents, dtypes, broadcasting, layouts, mutation, reuse); every op of the package is
registered (``entries/``, one module per area).

Needs the ``hypothesis`` package (in the ``dev`` extra).
"""

from . import entries, failure
from .graphs import (
    GRAPH_OPS,
    Graph,
    GraphNode,
    GraphOp,
    arrays,
    assert_gradients_match,
    broadcastable_shapes,
    check_graph_gradients,
    graphs,
    matmul_shapes,
    shapes,
)
from .registry import PROPERTIES, REGISTRY, OpEntry, Sample, check_grads, check_op, register_op, registered_ops

__all__ = [
    "GRAPH_OPS",
    "PROPERTIES",
    "REGISTRY",
    "Graph",
    "GraphNode",
    "GraphOp",
    "OpEntry",
    "Sample",
    "arrays",
    "assert_gradients_match",
    "broadcastable_shapes",
    "check_graph_gradients",
    "check_grads",
    "check_op",
    "entries",
    "failure",
    "graphs",
    "matmul_shapes",
    "register_op",
    "registered_ops",
    "shapes",
]
