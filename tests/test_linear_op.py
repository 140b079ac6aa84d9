"""The fused ``linear`` op: the same values and gradients as ``x @ w.T + b``, in one node."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, topological_order
from tinygrad_mnist.tensor import linear
from tinygrad_mnist.testing import arrays, assert_gradients_match


@st.composite
def linear_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (m, in), weight (out, in), bias (out,) of matching sizes, float64."""
    m, fan_in, fan_out = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return draw(arrays((m, fan_in))), draw(arrays((fan_out, fan_in))), draw(arrays((fan_out,)))


@given(linear_inputs(), st.booleans())
def test_gradients_match_finite_differences(inputs, with_bias):
    x, weight, bias = inputs
    extra = (bias,) if with_bias else ()
    assert_gradients_match(lambda *t: linear(*t), x, weight, *extra)


@given(linear_inputs())
def test_values_and_gradients_equal_the_three_op_expression(inputs):
    fused = [Tensor(a, requires_grad=True) for a in inputs]
    plain = [Tensor(a, requires_grad=True) for a in inputs]
    out = linear(*fused)
    expected = plain[0] @ plain[1].T + plain[2]
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
    seed = np.arange(out.numpy().size, dtype=np.float64).reshape(out.shape)
    out.backward(seed)
    expected.backward(seed)
    for got, want in zip(fused, plain, strict=True):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_is_one_node_and_skips_the_input_gradient():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)))
    weight, bias = Tensor(rng.standard_normal((2, 3)), requires_grad=True), Tensor(np.zeros(2), requires_grad=True)
    out = linear(x, weight, bias)
    assert [op.op_name for op in topological_order(out.grad_fn)] == ["Linear"]
    saved_weight, saved_x = out.grad_fn.saved_tensors
    assert saved_weight is None and saved_x is x  # dx is not wanted, so the weight is not kept
    out.sum().backward()
    assert x.grad is None


def test_weight_gradient_comes_in_the_weights_own_layout():
    rng = np.random.default_rng(0)
    weight = Tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    linear(Tensor(rng.standard_normal((4, 3)).astype(np.float32)), weight).sum().backward()
    assert weight.grad.numpy().flags.c_contiguous and weight.grad.dtype == np.float32


def test_float32_stays_float32_and_a_wider_bias_widens_like_the_plain_expression():
    x, weight = Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((4, 3), np.float32))
    assert linear(x, weight, Tensor(np.ones(4, np.float32))).dtype == np.float32
    wide = Tensor(np.full(4, 0.1))
    out = linear(x, weight, wide)
    assert out.dtype == (x @ weight.T + wide).dtype == np.float64
    np.testing.assert_allclose(out.numpy(), 3.1)


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((2, 3), (4, 5), None), r"input \(2, 3\) and weight \(4, 5\) do not fit"),
        (((2, 3), (4, 3), (3,)), r"bias has shape \(3,\), expected \(4,\)"),
        (((3,), (4, 3), None), r"input \(3,\) and weight \(4, 3\) do not fit"),
    ],
)
def test_mismatched_shapes_get_one_clear_message(shapes, message):
    x, weight, bias = (None if s is None else Tensor(np.ones(s)) for s in shapes)
    with pytest.raises(ValueError, match=message):
        linear(x, weight, bias)
