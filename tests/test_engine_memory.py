"""The engine frees what backward no longer needs, overwrites a gradient only when no
one else holds it, and keeps the op hot path lean.

Peak memory is measured with tracemalloc, which sees every NumPy allocation. The
bound is structural: a ReLU layer's backward holds at most two activation-sized
arrays (the gradient arriving from above and the one it passes down) plus a one-byte
mask, because the activation itself is released once the layer above has used it.
"""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_op_gradients import away_from_zero  # ReLU's kink at 0 is where finite differences fail

from tinygrad_mnist import Tensor, cross_entropy
from tinygrad_mnist.tensor import linear
from tinygrad_mnist.testing import arrays, assert_gradients_match, shapes


def traced_peak(fn) -> int:
    """Bytes allocated at the peak of ``fn()`` above what was allocated before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_relu_layers_backward_holds_two_activations_and_a_mask():
    rng = np.random.default_rng(0)
    m, fan_in, hidden, classes = 4000, 16, 512, 10
    x, labels = Tensor(rng.standard_normal((m, fan_in))), rng.integers(0, classes, m)
    params = [
        Tensor(rng.standard_normal(shape) * 0.1, requires_grad=True)
        for shape in ((hidden, fan_in), (hidden,), (classes, hidden), (classes,))
    ]

    def step() -> None:
        w1, b1, w2, b2 = params
        cross_entropy(linear(linear(x, w1, b1).relu(), w2, b2), labels).backward()

    activation = m * hidden * 8
    gradients = sum(p.numpy().nbytes for p in params)
    small = 4 * m * classes * 8  # logits, probabilities, targets and their gradient
    assert traced_peak(step) <= 2 * activation + activation // 8 + gradients + small


def test_the_activation_is_freed_once_the_layer_above_has_its_gradient():
    rng = np.random.default_rng(0)
    w1 = Tensor(rng.standard_normal((64, 8)), requires_grad=True)
    w2 = Tensor(rng.standard_normal((3, 64)), requires_grad=True)
    hidden = linear(Tensor(rng.standard_normal((32, 8))), w1).relu()
    relu_op = hidden.grad_fn
    loss = cross_entropy(linear(hidden, w2), rng.integers(0, 3, 32))
    del hidden
    (mask,) = relu_op.saved_tensors
    # The ReLU keeps a 1-byte-per-element mask, not its output.
    assert not mask.requires_grad and mask.dtype == np.bool_ and mask.shape == (32, 64)
    loss.backward()
    assert relu_op.released


@given(shapes(min_dims=0, max_dims=3))
def test_op_results_are_always_arrays(shape):
    x = Tensor(np.ones(shape), requires_grad=True)
    for result in (x.sum(), x.max(), x.mean(), x * 2.0, x.exp()):
        assert type(result.numpy()) is np.ndarray and result.dtype == np.float64


def test_negative_transpose_axes_send_the_gradient_back_to_the_right_axes():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    seed = np.arange(24.0).reshape(4, 2, 3)
    x.permute(-1, 0, -2).backward(seed)
    np.testing.assert_array_equal(x.grad.numpy(), seed.transpose(1, 2, 0))


# ----- gradients overwritten in place only when no one else holds them ---------------

SHARING = {
    # the same gradient array reaches two ReLUs (Add hands ``grad`` to both parents)
    "two relus behind one add": lambda a, b: (a.relu() + b.relu()) * a,
    # one tensor used twice: its two contributions are summed, the second one in place
    "a relu used twice": lambda a, b: (h := (a * b).relu()) * h + h * b,
    # a leaf's gradient array is also a tensor's pending gradient, which then gets another term
    "a leaf sharing its gradient array": lambda a, b: (b + (h := a * 2.0)) + h * b,
    "a leaf sharing its gradient array, terms swapped": lambda a, b: (h := a * 2.0) * b + (b + h),
    # a ReLU output feeding a product with its own input
    "relu times its input": lambda a, b: a.relu() * a * b,
    # the gradient passes through a view (reshape) before the ReLU
    "relu behind a reshape": lambda a, b: (a.relu().reshape(-1) * b.reshape(-1)).reshape(a.shape),
    # chains of in-place masks
    "relu of relu": lambda a, b: (a * b).relu().relu() * b,
}


@pytest.mark.parametrize("name", sorted(SHARING))
@given(data=st.data())
def test_gradients_through_shared_arrays_match_finite_differences(name, data):
    a = away_from_zero(data.draw(arrays((3, 4))))
    b = away_from_zero(data.draw(arrays((3, 4))))
    assert_gradients_match(SHARING[name], a, b)


def test_a_retained_gradient_is_not_masked_by_the_relu_that_follows():
    x = Tensor(np.array([[-1.0, 2.0, -3.0, 4.0]]), requires_grad=True)
    pre = x * 2.0
    pre.retain_grad()
    out = pre.relu()
    out.retain_grad()
    weights = np.array([[1.0, 2.0, 3.0, 4.0]])
    (out * weights).sum().backward()
    np.testing.assert_array_equal(out.grad.numpy(), weights)  # what arrived, before the mask
    np.testing.assert_array_equal(pre.grad.numpy(), weights * [[0, 1, 0, 1]])
    np.testing.assert_array_equal(x.grad.numpy(), 2 * weights * [[0, 1, 0, 1]])


def test_a_leafs_gradient_is_not_masked_by_a_relu_sharing_its_array():
    bias = Tensor(np.zeros((1, 4)), requires_grad=True)
    hidden = Tensor(np.array([[-1.0, 2.0, -3.0, 4.0]]), requires_grad=True)
    (bias + (hidden * 1.0).relu()).sum().backward()  # Add hands the same array to both
    np.testing.assert_array_equal(bias.grad.numpy(), np.ones((1, 4)))
    np.testing.assert_array_equal(hidden.grad.numpy(), [[0, 1, 0, 1]])


def test_a_gradient_passed_in_by_the_caller_is_left_as_it_was():
    x = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    upstream = np.array([5.0, 6.0])
    (x * 3.0).relu().backward(upstream)
    np.testing.assert_array_equal(upstream, [5.0, 6.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 18.0])


def test_retain_graph_gives_the_same_gradients_twice():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    loss = cross_entropy(linear(Tensor(rng.standard_normal((4, 3))), w).relu(), rng.integers(0, 5, 4))
    loss.backward(retain_graph=True)
    first = w.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first, rtol=1e-12)


def test_two_leaves_behind_one_add_get_gradients_of_their_own():
    a = Tensor(np.zeros(3), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    (a + b).backward(np.array([1.0, 2.0, 3.0]))  # Add hands one array to both inputs
    a.grad.numpy()[0] = 100.0  # an in-place edit of one gradient (clipping, say) ...
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0, 3.0])  # ... leaves the other alone


@pytest.mark.parametrize("through_an_op", [False, True])
def test_a_leafs_grad_never_aliases_the_callers_gradient(through_an_op):
    x = Tensor(np.zeros(2), requires_grad=True)
    upstream = np.array([5.0, 6.0])
    (x.reshape(2) if through_an_op else x).backward(upstream)
    x.grad.numpy()[...] *= 2.0
    np.testing.assert_array_equal(upstream, [5.0, 6.0])
