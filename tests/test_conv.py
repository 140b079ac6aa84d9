"""Convolution and pooling ops: gradients against finite differences, forward against the
definitions written as plain loops, PyTorch's results where torch is installed, and the errors.

Shapes, strides and paddings are drawn by Hypothesis; every example stays tiny because
gradcheck runs two forward passes per input element.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, gradcheck, no_grad
from tinygrad_mnist.ops.conv import AvgPool2d, Conv2d, MaxPool2d

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
    np.testing.assert_allclose(out.data, reference_conv2d(x, weight, bias, stride, padding), rtol=1e-10, atol=1e-12)


def test_conv2d_int_arguments_mean_the_same_on_both_axes():
    rng = np.random.default_rng(0)
    x, weight = Tensor(rng.standard_normal((2, 3, 7, 6))), Tensor(rng.standard_normal((4, 3, 3, 2)))
    np.testing.assert_array_equal(
        conv2d(x, weight, stride=2, padding=1).data, conv2d(x, weight, stride=(2, 2), padding=(1, 1)).data
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
    assert weight.grad.data.flags.c_contiguous


def test_conv2d_without_gradients_keeps_nothing_for_backward():
    op = Conv2d(stride=1, padding=1)
    op.needs_input_grad = (False, False, False)
    op.forward(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), np.ones(4))
    assert op.saved == (None, None)


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
        max_pool2d(Tensor(x), kernel, stride, padding).data, reference_pool(x, kernel, stride, padding, np.max, -np.inf)
    )
    np.testing.assert_allclose(
        avg_pool2d(Tensor(x), kernel, stride, padding).data,
        reference_pool(x, kernel, stride, padding, np.mean, 0.0),
        rtol=1e-12,
    )


def test_max_pool2d_gives_a_tied_window_gradient_to_its_first_maximum():
    x = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_max_pool2d_overlapping_windows_add_up_at_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    t = Tensor(x, requires_grad=True)
    max_pool2d(t, 2, stride=1).sum().backward()  # all four 2x2 windows hold the centre
    assert t.grad.data[0, 0, 1, 1] == 4
    assert t.grad.data.sum() == 4


def test_stride_defaults_to_the_kernel_size():
    x = Tensor(np.random.default_rng(3).standard_normal((1, 2, 6, 6)))
    for pool in (max_pool2d, avg_pool2d):
        np.testing.assert_array_equal(pool(x, 3).data, pool(x, 3, stride=3).data)
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


def test_max_pool2d_without_gradients_keeps_nothing_for_backward():
    op = MaxPool2d(2)
    op.needs_input_grad = (False,)
    op.forward(np.ones((2, 3, 8, 8)))
    assert not op.saved


# ----- composition -------------------------------------------------------------------------


def test_a_small_cnn_backpropagates_through_every_op():
    """conv -> tanh -> max pool -> strided conv -> avg pool -> flatten, layouts mixed as in training."""
    rng = np.random.default_rng(6)

    def network(x, w1, b1, w2):
        h = max_pool2d(conv2d(x, w1, b1, padding=1).tanh(), 2)
        h = avg_pool2d(conv2d(h, w2, stride=2, padding=1), 2, stride=1)
        return h.flatten()

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


@pytest.mark.parametrize(
    "make_op, message",
    [
        (lambda: Conv2d(stride=0), r"conv2d: stride must be an int >= 1 or a pair of them, got 0"),
        (lambda: Conv2d(padding=-1), r"conv2d: padding must be an int >= 0"),
        (lambda: Conv2d(stride=(1, 2, 3)), r"conv2d: stride must be"),
        (lambda: MaxPool2d(0), r"max_pool2d: kernel_size must be an int >= 1"),
        (lambda: MaxPool2d(2, padding=2), r"max_pool2d: padding \(2, 2\) must be at most half the kernel size"),
        (lambda: AvgPool2d(3, stride=(1, 0)), r"avg_pool2d: stride must be"),
    ],
)
def test_bad_arguments_are_refused_when_the_op_is_made(make_op, message):
    with pytest.raises(ValueError, match=message):
        make_op()


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
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), rtol=1e-4, atol=1e-5)


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
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_a_conv_block_with_in_place_relu_masks_matches_finite_differences():
    """Conv and pooling backward return new arrays, so the ReLUs below them mask their
    gradients in place; the block, with a ReLU output used twice, still gets them right."""
    rng = np.random.default_rng(0)
    x = distinct_values((2, 2, 6, 6), seed=1)
    weight = rng.standard_normal((3, 2, 3, 3)) * 0.3
    bias = rng.standard_normal(3) * 0.1

    def block(x, weight, bias):
        hidden = conv2d(x, weight, bias, padding=1).relu()  # used twice below
        return avg_pool2d(hidden, 2) * max_pool2d(hidden, 2).relu()

    assert gradcheck(block, x, weight, bias)
