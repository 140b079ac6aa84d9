"""The engine frees what backward no longer needs, and keeps the op hot path lean.

Peak memory is measured with tracemalloc, which sees every NumPy allocation. The
bound is structural: a ReLU layer's backward holds at most two activation-sized
arrays (the gradient arriving from above and the one it passes down) plus a one-byte
mask, because the activation itself is released once the layer above has used it.
"""

import tracemalloc

import numpy as np
from hypothesis import given

from tinygrad_mnist import Tensor, cross_entropy
from tinygrad_mnist.tensor import linear
from tinygrad_mnist.testing import shapes


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
    gradients = sum(p.data.nbytes for p in params)
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
    (mask,) = relu_op.saved
    assert mask.dtype == np.bool_ and mask.shape == (32, 64)  # the ReLU keeps 1 byte per element, not the output
    loss.backward()
    assert relu_op.released


@given(shapes(min_dims=0, max_dims=3))
def test_op_results_are_always_arrays(shape):
    x = Tensor(np.ones(shape), requires_grad=True)
    for result in (x.sum(), x.max(), x.mean(), x * 2.0, x.exp()):
        assert type(result.data) is np.ndarray and result.dtype == np.float64


def test_negative_transpose_axes_send_the_gradient_back_to_the_right_axes():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    seed = np.arange(24.0).reshape(4, 2, 3)
    x.transpose(-1, 0, -2).backward(seed)
    np.testing.assert_array_equal(x.grad.data, seed.transpose(1, 2, 0))
