"""Whole random expression graphs against central differences, at random cotangents.

Checking one op at a time cannot see the engine's bookkeeping: how gradients from several
consumers of one value are summed. A 0-d intermediate (a full ``sum``, ``mean`` or ``max``, or
an op on a 0-d input) read by two ops once lost all but one of its contributions. ``graphs()``
draws shared (fan-out) nodes, 0-d and broadcast shapes; the plain tests below are the bug's
reproductions, with PyTorch's numbers derived by hand.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import Tensor
from tinygrad_mnist.testing import GRAPH_OPS, Graph, check_graph_gradients, graphs


@settings(max_examples=200)
@given(graph=graphs(), seed=st.integers(0, 2**32 - 1))
def test_random_graphs_match_finite_differences(graph, seed):
    check_graph_gradients(graph, seed=seed)


def shifted_square(x):
    z = x + 1
    return z * z


def sum_squared_plus_sum(x):
    s = x.sum()
    return s * s + s


def mean_squared(x):
    m = x.mean()
    return m * m


# d/dx (x + 1)^2 = 2(x + 1) = -6 at x = -4; with s = sum(x) = 3, d(s^2 + s)/dx_i = 2s + 1 = 7;
# with m = mean(x) = 1 over 3 elements, d(m^2)/dx_i = 2m / 3 = 2/3.
REPRODUCTIONS = [
    pytest.param(shifted_square, -4.0, -6.0, id="shifted-square"),
    pytest.param(sum_squared_plus_sum, np.arange(3.0), [7.0, 7.0, 7.0], id="sum-squared-plus-sum"),
    pytest.param(mean_squared, np.arange(3.0), [2 / 3, 2 / 3, 2 / 3], id="mean-squared"),
]


@pytest.mark.parametrize("fn, value, expected", REPRODUCTIONS)
def test_a_0d_value_read_twice_gets_both_gradients(fn, value, expected):
    x = Tensor(value, requires_grad=True)
    fn(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("fn, value, expected", REPRODUCTIONS)
def test_pytorch_agrees_with_the_hand_derivations(fn, value, expected):
    torch = pytest.importorskip("torch")
    x = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    fn(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_graphs_share_nodes_and_make_0d_ones():
    """The strategy keeps drawing what the engine's bug needed: fan-out, 0-d intermediates, every op."""
    drawn: list[Graph] = []

    @settings(max_examples=400, derandomize=True, database=None)
    @given(graphs())
    def record(graph):
        drawn.append(graph)

    record()

    def shared_0d_node(graph: Graph) -> bool:
        shapes, uses = graph.shapes(), graph.uses()
        return any(shapes[i] == () and uses[i] >= 2 for i in range(len(graph.inputs), len(shapes)))

    assert np.mean([max(graph.uses()) >= 2 for graph in drawn]) >= 0.5
    assert np.mean([shared_0d_node(graph) for graph in drawn]) >= 0.08
    assert any(len(set(node.args)) < len(node.args) for graph in drawn for node in graph.nodes)  # v * v
    assert {(), (1,)} <= {x.shape for graph in drawn for x in graph.inputs}
    assert set(GRAPH_OPS) == {node.op for graph in drawn for node in graph.nodes}
