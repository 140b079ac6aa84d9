"""Every op's backward agrees with central finite differences (float64), over
Hypothesis-drawn shapes and values, broadcasting included."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_mnist import GradcheckError, Tensor, gradcheck
from tinygrad_mnist.autograd import Function
from tinygrad_mnist.testing import arrays, assert_gradients_match, broadcastable_shapes, matmul_shapes, shapes

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


def away_from_zero(x: np.ndarray, margin: float = 0.5) -> np.ndarray:
    """Shift values so |x| >= margin (for denominators, logs and kinks)."""
    return np.where(x >= 0, x + margin, x - margin)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), pair=broadcastable_shapes())
def test_binary_ops_with_broadcasting(name, data, pair):
    a = data.draw(arrays(pair[0]))
    b = away_from_zero(data.draw(arrays(pair[1])))
    assert_gradients_match(BINARY[name], a, b)


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((3,), (2, 3)), ((1,), (5, 4)), ((4, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()), ((), ())],
)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_named_broadcasting_pairs(name, shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape_a)
    b = away_from_zero(rng.standard_normal(shape_b))
    assert_gradients_match(BINARY[name], a, b)


@given(x=arrays(), scalar=st.floats(0.5, 3.0), left=st.booleans())
def test_python_scalars_on_either_side(x, scalar, left):
    x = away_from_zero(x)
    for op in BINARY.values():
        fn = (lambda t, op=op: op(scalar, t)) if left else (lambda t, op=op: op(t, scalar))
        assert_gradients_match(fn, x)


UNARY = {
    "neg": (lambda t: -t, lambda x: x),
    "exp": (lambda t: t.exp(), lambda x: x),
    "log": (lambda t: t.log(), lambda x: np.abs(x) + 0.5),
    "relu": (lambda t: t.relu(), away_from_zero),
    "sigmoid": (lambda t: t.sigmoid(), lambda x: x),
    "tanh": (lambda t: t.tanh(), lambda x: x),
    "square": (lambda t: t**2, lambda x: x),
    "cube": (lambda t: t**3, lambda x: x),
    "sqrt": (lambda t: t**0.5, lambda x: np.abs(x) + 0.5),
    "reciprocal": (lambda t: t**-1, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(x=arrays())
def test_unary_ops(name, x):
    fn, domain = UNARY[name]
    assert_gradients_match(fn, domain(x))


@st.composite
def array_and_axis(draw, min_dims=0):
    x = draw(arrays(shapes(min_dims=min_dims)))
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)) if x.ndim else None
    return x, axis, draw(st.booleans())


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@given(case=array_and_axis())
def test_sum_and_mean(reduction, case):
    x, axis, keepdims = case
    assert_gradients_match(lambda t: getattr(t, reduction)(dim=axis, keepdim=keepdims), x)


@given(case=array_and_axis())
def test_max_without_ties(case):
    x, axis, keepdims = case
    assume(x.size < 2 or np.diff(np.sort(x, axis=None)).min() > 1e-3)  # no ties within eps
    assert_gradients_match(lambda t: t.amax(dim=axis, keepdim=keepdims), x)


def test_max_splits_the_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0]]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5]])


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_reshape(x, data):
    flat = x.reshape(-1).shape
    assert_gradients_match(lambda t: t.reshape(flat) * np.arange(x.size), x)
    assert_gradients_match(lambda t: t.reshape(*x.shape[::-1]), x)


@given(x=arrays(shapes(min_dims=1)), data=st.data())
def test_transpose(x, data):
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    weights = np.arange(x.size).reshape(np.transpose(x, axes).shape)
    assert_gradients_match(lambda t: t.permute(*axes) * weights, x)
    assert_gradients_match(lambda t: t.T, x)


@given(data=st.data(), pair=matmul_shapes())
def test_matmul(data, pair):
    a, b = data.draw(arrays(pair[0])), data.draw(arrays(pair[1]))
    assert_gradients_match(lambda x, y: x @ y, a, b)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@given(case=array_and_axis(min_dims=1))
def test_softmax_and_log_softmax(op, case):
    x, axis, _ = case
    axis = -1 if axis is None else axis
    assert_gradients_match(lambda t: getattr(t, op)(axis), x)


@given(data=st.data(), m=st.integers(1, 5), classes=st.integers(2, 6), one_hot=st.booleans())
def test_cross_entropy(data, m, classes, one_hot):
    logits = data.draw(arrays((m, classes)))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=m, max_size=m)))
    target = np.eye(classes)[labels] if one_hot else labels
    assert_gradients_match(lambda t: t.cross_entropy(target), logits)


@given(data=st.data(), m=st.integers(1, 4), classes=st.integers(2, 5))
def test_cross_entropy_with_soft_targets(data, m, classes):
    logits = data.draw(arrays((m, classes)))
    weights = data.draw(arrays((m, classes), low=0.1, high=1.0))
    assert_gradients_match(lambda t: t.cross_entropy(weights / weights.sum(1, keepdims=True)), logits)


@given(x=arrays(shapes(min_dims=1, max_dims=2)), y=arrays(shapes(min_dims=1, max_dims=2)))
def test_compositions_reuse_values(x, y):
    """A value used on several paths gets the sum of its gradients (diamonds, reuse)."""
    def diamond(a, b):
        c = a * b
        return (c.tanh() + c.sigmoid() * a - c).sum()

    try:
        np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        assume(False)
    assert_gradients_match(diamond, x, y)


class WrongMul(Function):
    """Multiplication whose backward forgets the factor (a deliberate bug)."""

    @staticmethod
    def forward(ctx, a, b):
        return a.numpy() * b.numpy()

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def test_gradcheck_rejects_a_wrong_backward():
    a = np.array([[1.5, -2.0], [0.5, 3.0]])
    b = np.array([[2.0, 0.25], [-1.0, 4.0]])
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 2\)\).*backward gives .*finite differences give"):
        gradcheck(WrongMul.apply, a, b)


def test_gradcheck_needs_an_input_to_check():
    with pytest.raises(ValueError, match="no input requires a gradient"):
        gradcheck(lambda t: t * 2, Tensor(np.ones(3)))
