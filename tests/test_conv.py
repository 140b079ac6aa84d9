"""Convolution and pooling ops: gradients of every order against finite differences, forward against
the definitions written as plain loops, PyTorch's results where torch is installed, and the errors.

Shapes, strides and paddings are drawn by Hypothesis; every example stays tiny because
gradcheck runs two forward passes per input element (and a second-order check a
forward and a recorded backward).
"""

import functools
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, autograd, gradcheck, no_grad, topological_order
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.ops.conv import (
    AvgPool2d,
    AvgUnpool2d,
    Col2Im,
    ConvMatmul,
    ConvMatmulAdjoint,
    GatherWinners,
    Im2Col,
    MaxUnpool2d,
    _Windows,
    pool_arguments,
)

conv2d, max_pool2d, avg_pool2d = Tensor.conv2d, Tensor.max_pool2d, Tensor.avg_pool2d  # as functions of x


# ----- strategies ------------------------------------------------------------------------


@st.composite
def conv_cases(draw, max_side=6):
    """(x shape, weight shape, stride, padding) with the kernel fitting the padded input."""
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h, w = (draw(st.integers(max(1, k - 2 * p), max_side)) for k, p in zip(kernel, padding, strict=True))
    return (n, c_in, h, w), (c_out, c_in, *kernel), stride, padding


@st.composite
def pool_cases(draw, max_side=7):
    """(x shape, kernel, stride or None, padding) with padding at most half the kernel."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    h, w = (draw(st.integers(max(1, k - 2 * p), max_side)) for k, p in zip(kernel, padding, strict=True))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), kernel, stride, padding


seeds = st.integers(0, 2**32 - 1)


def distinct_values(shape, seed):
    """Values at least 0.05 apart, shuffled: no ties for max pooling, even after a finite-difference step."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.05 - 1.0).astype(np.float64)


# ----- the definitions, as plain loops over output positions -------------------------------


def windows_of(padded, kernel, stride, out_size):
    """Each output position (r, c) with the (N, C, kh, kw) window it reads."""
    for r in range(out_size[0]):
        for c in range(out_size[1]):
            top, left = r * stride[0], c * stride[1]
            yield r, c, padded[:, :, top : top + kernel[0], left : left + kernel[1]]


def reference_conv2d(x, weight, bias, stride, padding):
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    kernel = weight.shape[2:]
    out_size = [(padded.shape[2 + i] - kernel[i]) // stride[i] + 1 for i in range(2)]
    out = np.zeros((x.shape[0], weight.shape[0], *out_size))
    for r, c, window in windows_of(padded, kernel, stride, out_size):
        out[:, :, r, c] = np.einsum("nchw,ochw->no", window, weight) + bias
    return out


def reference_pool(x, kernel, stride, padding, reduce, fill):
    stride = stride or kernel
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=fill)
    out_size = [(padded.shape[2 + i] - kernel[i]) // stride[i] + 1 for i in range(2)]
    out = np.zeros((*x.shape[:2], *out_size))
    for r, c, window in windows_of(padded, kernel, stride, out_size):
        out[:, :, r, c] = reduce(window, axis=(2, 3))
    return out


# ----- conv2d ------------------------------------------------------------------------------


@given(case=conv_cases(), seed=seeds, with_bias=st.booleans(), needs_grad=st.tuples(*[st.booleans()] * 3))
def test_conv2d_gradients_match_finite_differences(case, seed, with_bias, needs_grad):
    """Every subset of (x, weight, bias) may want a gradient: the first layer's images do not."""
    x_shape, w_shape, stride, padding = case
    rng = np.random.default_rng(seed)
    shapes = [x_shape, w_shape, (w_shape[0],)][: 3 if with_bias else 2]
    needs_grad = needs_grad[: len(shapes)] if any(needs_grad[: len(shapes)]) else (True,) * len(shapes)
    inputs = [Tensor(rng.standard_normal(s), requires_grad=n) for s, n in zip(shapes, needs_grad, strict=True)]
    gradcheck(lambda *t: conv2d(*t, stride=stride, padding=padding), *inputs)


@given(case=conv_cases(), seed=seeds)
def test_conv2d_forward_is_the_cross_correlation_sum(case, seed):
    x_shape, w_shape, stride, padding = case
    rng = np.random.default_rng(seed)
    x, weight, bias = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    out = conv2d(Tensor(x), Tensor(weight), Tensor(bias), stride, padding)
    np.testing.assert_allclose(out.numpy(), reference_conv2d(x, weight, bias, stride, padding), rtol=1e-10, atol=1e-12)


def test_conv2d_int_arguments_mean_the_same_on_both_axes():
    rng = np.random.default_rng(0)
    x, weight = Tensor(rng.standard_normal((2, 3, 7, 6))), Tensor(rng.standard_normal((4, 3, 3, 2)))
    np.testing.assert_array_equal(
        conv2d(x, weight, stride=2, padding=1).numpy(), conv2d(x, weight, stride=(2, 2), padding=(1, 1)).numpy()
    )


def test_conv2d_keeps_float32_in_outputs_and_gradients():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    weight = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    bias = Tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    out = conv2d(x, weight, bias, padding=1)
    out.sum().backward()
    assert out.dtype == np.float32
    assert {t.grad.dtype for t in (x, weight, bias)} == {np.dtype(np.float32)}


def test_conv2d_weight_gradient_is_contiguous_like_the_weight():
    """Optimizers update weights in place and checkpoints write raw bytes: the gradient must be plain C order."""
    rng = np.random.default_rng(2)
    weight = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    conv2d(Tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32)), weight, padding=1).sum().backward()
    assert weight.grad.numpy().flags.c_contiguous


def test_conv2d_keeps_for_backward_only_what_the_wanted_gradients_need():
    """No gradient wanted: no graph. The first layer's images want none: no Im2Col node (so no
    col2im in backward) and no kernel kept. Only the images: the window matrix is not kept."""
    x, weight, bias = np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), np.ones(4)
    assert conv2d(Tensor(x), Tensor(weight), Tensor(bias), padding=1).grad_fn is None

    out = conv2d(Tensor(x), Tensor(weight, requires_grad=True), Tensor(bias, requires_grad=True), padding=1)
    nodes = {node.op_name: node for node in topological_order(out.grad_fn)}
    assert "Im2Col" not in nodes
    kernel, cols = nodes["ConvMatmul"].saved_tensors
    assert kernel is None and cols.shape == (2 * 8 * 8, 3 * 3, 3)

    out = conv2d(Tensor(x, requires_grad=True), Tensor(weight), Tensor(bias), padding=1)
    kernel, cols = next(node for node in topological_order(out.grad_fn) if node.op_name == "ConvMatmul").saved_tensors
    assert cols is None and kernel.shape == (4, 3 * 3, 3)


def test_conv2d_output_is_an_nchw_view_of_channels_last_memory():
    rng = np.random.default_rng(7)
    out = conv2d(Tensor(rng.standard_normal((2, 3, 6, 5))), Tensor(rng.standard_normal((4, 3, 3, 3))), padding=1)
    assert out.shape == (2, 4, 6, 5) and out.numpy().transpose(0, 2, 3, 1).flags.c_contiguous


@given(case=conv_cases(), seed=seeds)
def test_conv2d_leaves_its_inputs_untouched(case, seed):
    x_shape, w_shape, stride, padding = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])]
    copies = [a.copy() for a in arrays]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    conv2d(*tensors, stride=stride, padding=padding).sum().backward()
    for array, copy in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(array, copy)


# ----- pooling -----------------------------------------------------------------------------


@given(case=pool_cases(), seed=seeds)
def test_max_pool2d_gradients_match_finite_differences(case, seed):
    x_shape, kernel, stride, padding = case
    gradcheck(lambda t: max_pool2d(t, kernel, stride, padding), distinct_values(x_shape, seed))


@given(case=pool_cases(), seed=seeds)
def test_avg_pool2d_gradients_match_finite_differences(case, seed):
    x_shape, kernel, stride, padding = case
    x = np.random.default_rng(seed).standard_normal(x_shape)
    gradcheck(lambda t: avg_pool2d(t, kernel, stride, padding), x)


@given(case=pool_cases(), seed=seeds)
def test_pooling_forward_is_the_window_max_and_mean(case, seed):
    x_shape, kernel, stride, padding = case
    x = np.random.default_rng(seed).standard_normal(x_shape)
    np.testing.assert_array_equal(
        max_pool2d(Tensor(x), kernel, stride, padding).numpy(),
        reference_pool(x, kernel, stride, padding, np.max, -np.inf),
    )
    np.testing.assert_allclose(
        avg_pool2d(Tensor(x), kernel, stride, padding).numpy(),
        reference_pool(x, kernel, stride, padding, np.mean, 0.0),
        rtol=1e-12,
    )


def test_max_pool2d_gives_a_tied_window_gradient_to_its_first_maximum():
    x = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expected)


def test_max_pool2d_overlapping_windows_add_up_at_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    t = Tensor(x, requires_grad=True)
    max_pool2d(t, 2, stride=1).sum().backward()  # all four 2x2 windows hold the centre
    assert t.grad.numpy()[0, 0, 1, 1] == 4
    assert t.grad.numpy().sum() == 4


def test_stride_defaults_to_the_kernel_size():
    x = Tensor(np.random.default_rng(3).standard_normal((1, 2, 6, 6)))
    for pool in (max_pool2d, avg_pool2d):
        np.testing.assert_array_equal(pool(x, 3).numpy(), pool(x, 3, stride=3).numpy())
        assert pool(x, 3).shape == (1, 2, 2, 2)


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pooling_keeps_float32(pool):
    x = Tensor(np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    out = pool(x, 2)
    out.sum().backward()
    assert out.dtype == np.float32
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pooling_leaves_its_input_untouched(pool):
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 4))
    copy = x.copy()
    pool(Tensor(x, requires_grad=True), 1).sum().backward()  # a 1x1 window is its input's own pixels
    np.testing.assert_array_equal(x, copy)


def test_max_pool2d_tracks_winners_only_for_a_gradient(monkeypatch):
    saved = []
    monkeypatch.setattr(Function, "save_for_backward", lambda ctx, *tensors: saved.append(tensors))
    assert max_pool2d(Tensor(np.ones((2, 3, 8, 8))), 2).grad_fn is None
    assert saved == []
    max_pool2d(Tensor(np.ones((2, 3, 8, 8)), requires_grad=True), 2)
    [(winner,)] = saved
    assert winner.shape == (2, 3, 4, 4) and winner.dtype == np.uint8  # one byte per output


# ----- composition -------------------------------------------------------------------------


def test_a_small_cnn_backpropagates_through_every_op():
    """conv -> tanh -> max pool -> strided conv -> avg pool -> flatten, layouts mixed as in training."""
    rng = np.random.default_rng(6)

    def network(x, w1, b1, w2):
        h = max_pool2d(conv2d(x, w1, b1, padding=1).tanh(), 2)
        h = avg_pool2d(conv2d(h, w2, stride=2, padding=1), 2, stride=1)
        return h.flatten(1)

    gradcheck(
        network,
        rng.standard_normal((2, 2, 6, 6)),
        rng.standard_normal((3, 2, 3, 3)),
        rng.standard_normal(3),
        rng.standard_normal((2, 3, 2, 2)),
    )


def test_no_grad_records_no_graph():
    weight = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    with no_grad():
        out = max_pool2d(conv2d(Tensor(np.ones((1, 1, 4, 4))), weight), 1)
    assert out.grad_fn is None
    assert not out.requires_grad


# ----- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, message",
    [
        ((3, 8, 8), (4, 3, 3, 3), None, r"conv2d: input must be 4-D \(batch, channels, height, width\), got shape"),
        ((2, 3, 8, 8), (4, 3, 3), None, r"conv2d: weight must be 4-D"),
        ((2, 1, 8, 8), (4, 3, 3, 3), None, r"input \(2, 1, 8, 8\) has 1 channels but weight \(4, 3, 3, 3\) expects 3"),
        ((2, 3, 8, 8), (4, 3, 3, 3), (3,), r"bias must have shape \(4,\) for weight \(4, 3, 3, 3\), got \(3,\)"),
        ((2, 3, 2, 2), (4, 3, 3, 3), None, r"kernel 3x3 is larger than the padded input 2x2 \(input \(2, 3, 2, 2\)"),
    ],
)
def test_conv2d_shape_errors_name_the_shapes(x_shape, w_shape, b_shape, message):
    inputs = [Tensor(np.ones(x_shape)), Tensor(np.ones(w_shape))] + ([Tensor(np.ones(b_shape))] if b_shape else [])
    with pytest.raises(ValueError, match=message):
        conv2d(*inputs)


def test_conv2d_refuses_mixed_dtypes_instead_of_casting():
    with pytest.raises(TypeError, match="conv2d: input is float64 but weight is float32"):
        conv2d(Tensor(np.ones((1, 1, 3, 3))), Tensor(np.ones((1, 1, 2, 2), dtype=np.float32)))


IMAGES, KERNEL = Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv2d(IMAGES, KERNEL, stride=0), r"conv2d: stride must be an int >= 1 or a pair of them, got 0"),
        (lambda: conv2d(IMAGES, KERNEL, padding=-1), r"conv2d: padding must be an int >= 0"),
        (lambda: conv2d(IMAGES, KERNEL, stride=(1, 2, 3)), r"conv2d: stride must be"),
        (lambda: max_pool2d(IMAGES, 0), r"max_pool2d: kernel_size must be an int >= 1"),
        (lambda: max_pool2d(IMAGES, 2, padding=2), r"max_pool2d: padding \(2, 2\) must be at most half the kernel"),
        (lambda: avg_pool2d(IMAGES, 3, stride=(1, 0)), r"avg_pool2d: stride must be"),
        (lambda: pool_arguments("max_pool2d", 2, padding=2), r"max_pool2d: padding \(2, 2\) must be at most half"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(call, message):
    """The op's own messages; ``pool_arguments`` is what the pooling layers check when they are built."""
    with pytest.raises(ValueError, match=message):
        call()


def test_arguments_are_checked_before_the_input():
    with pytest.raises(ValueError, match="conv2d: stride must be"):
        conv2d(Tensor(np.ones((4, 4))), KERNEL, stride=0)
    with pytest.raises(ValueError, match="avg_pool2d: kernel_size must be"):
        avg_pool2d(Tensor(np.ones((4, 4))), 0)


@pytest.mark.parametrize("pool, name", [(max_pool2d, "max_pool2d"), (avg_pool2d, "avg_pool2d")])
def test_pooling_shape_errors_name_the_op_and_shape(pool, name):
    with pytest.raises(ValueError, match=rf"{name}: input must be 4-D .* got shape \(4, 4\)"):
        pool(Tensor(np.ones((4, 4))), 2)
    with pytest.raises(ValueError, match=rf"{name}: kernel 3x3 is larger than the padded input 2x2"):
        pool(Tensor(np.ones((1, 1, 2, 2))), 3)


# ----- PyTorch as the yardstick --------------------------------------------------------------


@given(case=conv_cases(), seed=seeds, with_bias=st.booleans())
def test_conv2d_matches_pytorch(case, seed, with_bias):
    torch = pytest.importorskip("torch")
    x_shape, w_shape, stride, padding = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    arrays = [a.astype(np.float32) for a in arrays + ([rng.standard_normal(w_shape[0])] if with_bias else [])]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = conv2d(*ours, stride=stride, padding=padding)
    expected = torch.nn.functional.conv2d(*theirs, stride=stride, padding=padding)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-4, atol=1e-5)


@given(case=pool_cases(), seed=seeds, with_ties=st.booleans())
def test_pooling_matches_pytorch(case, seed, with_ties):
    """Ties included: relu'd inputs tie at zero, and PyTorch gives the gradient to the first maximum."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x_shape, kernel, stride, padding = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    if with_ties:
        x = np.maximum(x, 0)
    for ours_fn, theirs_fn in ((max_pool2d, functional.max_pool2d), (avg_pool2d, functional.avg_pool2d)):
        mine, reference = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = ours_fn(mine, kernel, stride, padding)
        expected = theirs_fn(reference, kernel, stride, padding)
        upstream = rng.standard_normal(out.shape).astype(np.float32)
        out.backward(upstream)
        expected.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_a_conv_block_with_in_place_relu_masks_matches_finite_differences():
    """A ReLU output used twice, once through each pooling: its two gradients are summed before
    the ReLU below the conv masks them, and the block still gets them right."""
    rng = np.random.default_rng(0)
    x = distinct_values((2, 2, 6, 6), seed=1)
    weight = rng.standard_normal((3, 2, 3, 3)) * 0.3
    bias = rng.standard_normal(3) * 0.1

    def block(x, weight, bias):
        hidden = conv2d(x, weight, bias, padding=1).relu()  # used twice below
        return avg_pool2d(hidden, 2) * max_pool2d(hidden, 2).relu()

    assert gradcheck(block, x, weight, bias)


# ----- the adjoint pairs -------------------------------------------------------------------


def adjoint_pairs(x_shape, kernel, stride, padding, seed):
    """(forward, its backward, input, output cotangent) for each linear map of the module, on the same windows."""
    rng = np.random.default_rng(seed)
    windows = _Windows.over("test", x_shape, kernel, stride, padding)
    n, c = x_shape[:2]
    oh, ow = windows.out_size
    winner = rng.integers(0, kernel[0] * kernel[1], (n, c, oh, ow)).astype(np.uint8)
    x, pooled = rng.standard_normal(x_shape), rng.standard_normal((n, c, oh, ow))
    cols = rng.standard_normal((n * oh * ow, kernel[0] * kernel[1], c))
    kernel_matrix = Tensor(rng.standard_normal((3, *cols.shape[1:])))
    rows = rng.standard_normal((n * oh * ow, 3))
    return [
        (lambda t: Im2Col.apply(t, windows), lambda t: Col2Im.apply(t, windows), x, cols),
        (
            lambda t: ConvMatmul.apply(t, kernel_matrix, None),
            lambda t: ConvMatmulAdjoint.apply(t, kernel_matrix),
            cols,
            rows,
        ),
        (lambda t: AvgPool2d.apply(t, windows), lambda t: AvgUnpool2d.apply(t, windows), x, pooled),
        (lambda t: GatherWinners.apply(t, winner, windows), lambda t: MaxUnpool2d.apply(t, winner, windows), x, pooled),
    ]


@given(case=pool_cases(), seed=seeds)
def test_each_backward_is_the_adjoint_of_its_forward(case, seed):
    """<A x, y> = <x, A* y> for Im2Col/Col2Im, ConvMatmul/ConvMatmulAdjoint (in the windows, at a fixed
    kernel), AvgPool2d/AvgUnpool2d and GatherWinners/MaxUnpool2d: each pair's members are each
    other's backward, so this is what makes every order right."""
    x_shape, kernel, stride, padding = case
    for forward, adjoint, x, y in adjoint_pairs(x_shape, kernel, stride or kernel, padding, seed):
        ax, a_star_y = forward(Tensor(x)).numpy(), adjoint(Tensor(y)).numpy()
        assert ax.shape == y.shape and a_star_y.shape == x.shape
        np.testing.assert_allclose(np.sum(ax * y), np.sum(x * a_star_y), rtol=1e-10, atol=1e-12)


# ----- second and higher derivatives ---------------------------------------------------------


def projection(tensors, weights):
    """``sum_i <t_i, w_i>`` over the tensors that are not None, as one recorded scalar."""
    return functools.reduce(
        operator.add, [(t * w).sum() for t, w in zip(tensors, weights, strict=True) if t is not None]
    )


def first_order(fn, weights):
    """``(*inputs, v) -> sum_i <w_i, d<fn(inputs), v>/d input_i>``: ``fn``'s gradients at the cotangent ``v``,
    projected on fixed ``weights`` and recorded (``create_graph=True``), so gradcheck can differentiate
    them again, in the inputs and in ``v``."""

    def projected(*tensors):
        *inputs, cotangent = tensors
        grads = autograd.grad(fn(*inputs), inputs, grad_outputs=cotangent, create_graph=True, allow_unused=True)
        return projection(grads, weights)

    return projected


def higher_gradcheck(fn, *arrays, order=2, seed=0):
    """PyTorch's ``gradgradcheck`` for ``order=2``: the derivatives of order ``order`` of ``fn``, in every
    input and in each level's random cotangent, against central differences of those of order - 1.

    Not ``autograd.gradgradcheck``, which holds the cotangent constant: for a linear op (average
    pooling, col2im) the derivative in the cotangent is the only second derivative there is, and
    the only one that runs the backward's own backward."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    for _ in range(order - 1):
        shape = fn(*(Tensor(a, requires_grad=True) for a in arrays)).shape
        weights = [rng.standard_normal(a.shape) for a in arrays]
        fn, arrays = first_order(fn, weights), [*arrays, np.asarray(rng.standard_normal(shape))]
    return gradcheck(fn, *arrays)


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_second_derivatives_match_finite_differences(with_bias, stride, padding):
    rng = np.random.default_rng(10)
    arrays = [rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 2))]
    arrays += [rng.standard_normal(3)] if with_bias else []
    assert higher_gradcheck(lambda *t: conv2d(*t, stride=stride, padding=padding), *arrays, seed=11)


@settings(max_examples=50)
@given(case=conv_cases(max_side=5), seed=seeds, with_bias=st.booleans())
def test_conv2d_second_derivatives_for_drawn_shapes(case, seed, with_bias):
    x_shape, w_shape, stride, padding = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in [x_shape, w_shape, (w_shape[0],)][: 3 if with_bias else 2]]
    assert higher_gradcheck(lambda *t: conv2d(*t, stride=stride, padding=padding), *arrays, seed=seed)


@given(case=pool_cases(max_side=6), seed=seeds)
def test_pooling_second_derivatives_match_finite_differences(case, seed):
    """Max pooling away from ties (distinct values): its gradient is linear in the cotangent,
    constant in the input; average pooling's is linear in the cotangent alone."""
    x_shape, kernel, stride, padding = case
    x = distinct_values(x_shape, seed)
    assert higher_gradcheck(lambda t: max_pool2d(t, kernel, stride, padding), x, seed=seed)
    assert higher_gradcheck(lambda t: avg_pool2d(t, kernel, stride, padding), x, seed=seed)


def small_network(x, w1, b1, w2):
    """conv (padded) -> tanh -> overlapping max pool -> strided conv -> tanh -> padded avg pool."""
    h = max_pool2d(conv2d(x, w1, b1, padding=1).tanh(), 2, stride=1)
    return avg_pool2d(conv2d(h, w2, stride=2, padding=1).tanh(), 2, stride=1, padding=1)


def network_arrays(seed=12):
    rng = np.random.default_rng(seed)
    return [distinct_values((1, 2, 5, 5), seed)] + [rng.standard_normal(s) for s in [(2, 2, 3, 3), (2,), (2, 2, 2, 2)]]


@pytest.mark.parametrize("order", [2, 3, 4])
def test_a_small_cnn_has_derivatives_of_every_order(order):
    """Each level's gradient carries a graph through each op's backward and that backward's own
    backward (MaxUnpool2d -> GatherWinners -> MaxUnpool2d, and so on), none silently cut off.

    A backward that leaves the graph still computes the right values: it shows one order later,
    so order 4 is what proves the backwards first used at order 3 (GatherWinners', Im2Col's ...)."""
    assert higher_gradcheck(small_network, *network_arrays(), order=order, seed=13)


def test_gradients_under_create_graph_carry_graphs_through_every_op():
    inputs = [Tensor(a, requires_grad=True) for a in network_arrays()]
    out = small_network(*inputs)
    seen = {id(node) for node in topological_order(out.grad_fn)}

    def new_op_names(tensors):
        nodes = [node for t in tensors for node in topological_order(t.grad_fn) if id(node) not in seen]
        seen.update(id(node) for node in nodes)
        return {node.op_name for node in nodes}

    cotangent = Tensor(np.ones(out.shape), requires_grad=True)
    grads = autograd.grad(out, inputs, grad_outputs=cotangent, create_graph=True)
    assert all(g.requires_grad and g.grad_fn is not None for g in grads)
    assert {"Col2Im", "ConvMatmulAdjoint", "MaxUnpool2d", "AvgUnpool2d"} <= new_op_names(grads)
    again = autograd.grad(projection(grads, [1.0] * len(grads)), [*inputs, cotangent], create_graph=True)
    assert all(g.requires_grad and g.grad_fn is not None for g in again)
    assert {"Im2Col", "ConvMatmul", "GatherWinners", "AvgPool2d"} <= new_op_names(again)


def test_double_backward_through_conv_and_pooling_matches_pytorch():
    """The gradients and the Hessian-vector product of a loss, and the gradient of a vector-Jacobian
    product in its cotangent, through conv2d, max_pool2d and avg_pool2d: PyTorch's to 1e-8 in float64."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(14)
    shapes = [(2, 2, 7, 6), (3, 2, 3, 3), (3,), (2, 3, 2, 2), (2,)]
    arrays = [rng.standard_normal(shape) for shape in shapes]

    def ours(x, w1, b1, w2, b2):
        h = max_pool2d(conv2d(x, w1, b1, padding=1).tanh(), 3, stride=2, padding=1)
        return avg_pool2d(conv2d(h, w2, b2, stride=(2, 1), padding=(0, 1)).tanh(), 2, stride=1, padding=1)

    def theirs(x, w1, b1, w2, b2):
        h = functional.max_pool2d(functional.conv2d(x, w1, b1, padding=1).tanh(), 3, stride=2, padding=1)
        h = functional.conv2d(h, w2, b2, stride=(2, 1), padding=(0, 1)).tanh()
        return functional.avg_pool2d(h, 2, stride=1, padding=1)

    mine = [Tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    directions = [rng.standard_normal(a.shape) for a in arrays]
    their_directions = [torch.from_numpy(u) for u in directions]
    target = rng.standard_normal(ours(*mine).shape)

    error = ours(*mine) - Tensor(target)
    grads = autograd.grad((error * error).sum(), mine, create_graph=True)
    hvp = autograd.grad(projection(grads, directions), mine)
    their_loss = ((theirs(*reference) - torch.from_numpy(target)) ** 2).sum()
    their_grads = torch.autograd.grad(their_loss, reference, create_graph=True)
    their_hvp = torch.autograd.grad(projection(their_grads, their_directions), reference)

    cotangent = rng.standard_normal(target.shape)
    v, their_v = Tensor(cotangent, requires_grad=True), torch.tensor(cotangent, requires_grad=True)
    vjp = autograd.grad(ours(*mine), mine, grad_outputs=v, create_graph=True)
    their_vjp = torch.autograd.grad(theirs(*reference), reference, grad_outputs=their_v, create_graph=True)
    second = autograd.grad(projection(vjp, directions), [*mine, v])
    their_second = torch.autograd.grad(projection(their_vjp, their_directions), [*reference, their_v])

    for a, b in zip([*grads, *hvp, *second], [*their_grads, *their_hvp, *their_second], strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-8, atol=1e-8)
