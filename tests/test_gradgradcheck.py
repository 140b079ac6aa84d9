"""Every differentiable op is differentiable twice: ``gradgradcheck`` (the backward of its backward against central
finite differences of its backward, float64, at random cotangents) over Hypothesis-drawn shapes and values.

An op whose first derivative does not depend on its input (add, reshape, sum, ...) is checked through a square
after it, so the gradient its backward returns depends on the input: a backward that left the graph would then
show. Also: ``gradgradcheck`` rejects a backward that leaves the graph through ``.numpy()``; ``hessian``, ``hvp`` and
double backward through ``linear`` and ``cross_entropy`` equal PyTorch's; custom ``Function``s of first and second
order.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_mnist import GradcheckError, Tensor, gradcheck, gradgradcheck
from tinygrad_mnist.autograd import Function, grad
from tinygrad_mnist.autograd.functional import hessian, hvp
from tinygrad_mnist.tensor import cross_entropy, linear
from tinygrad_mnist.testing import arrays, broadcastable_shapes, matmul_shapes, shapes

FEW = settings(max_examples=50)
SMALL = shapes(max_side=3)


def away_from_zero(x: np.ndarray, margin: float = 0.5) -> np.ndarray:
    """Shift values so |x| >= margin (for denominators and relu's kink)."""
    return np.where(x >= 0, x + margin, x - margin)


def distinct(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Values 0.5 apart in a seeded order: a max over any axes has no ties, even after a nudge of eps."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size) * 0.5 - size / 4).reshape(shape)


UNARY = {
    "neg": (lambda t: (-t) ** 2, lambda x: x),
    "exp": (lambda t: t.exp(), lambda x: x),
    "log": (lambda t: t.log(), lambda x: np.abs(x) + 0.5),
    "relu": (lambda t: t.relu() ** 2, away_from_zero),
    "sigmoid": (lambda t: t.sigmoid(), lambda x: x),
    "tanh": (lambda t: t.tanh(), lambda x: x),
    "square": (lambda t: t**2, lambda x: x),
    "cube": (lambda t: t**3, lambda x: x),
    "sqrt": (lambda t: t**0.5, lambda x: np.abs(x) + 0.5),
    "reciprocal": (lambda t: t**-1, away_from_zero),
    "to(float64), via long double": (lambda t: (t.to(np.longdouble) ** 3).to(np.float64), lambda x: x),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@FEW
@given(x=arrays(SMALL))
def test_unary_ops_twice(name, x):
    fn, domain = UNARY[name]
    assert gradgradcheck(fn, domain(x))


BINARY = {
    "add": lambda a, b: (a + b) ** 2,
    "sub": lambda a, b: (a - b) ** 2,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@FEW
@given(data=st.data(), pair=broadcastable_shapes(max_side=3))
def test_binary_ops_with_broadcasting_twice(name, data, pair):
    a = data.draw(arrays(pair[0]))
    b = away_from_zero(data.draw(arrays(pair[1])))
    assert gradgradcheck(BINARY[name], a, b)


@st.composite
def array_and_axis(draw, min_dims=0):
    x = draw(arrays(shapes(min_dims=min_dims, max_side=3)))
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)) if x.ndim else None
    return x, axis, draw(st.booleans())


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@FEW
@given(case=array_and_axis())
def test_sum_and_mean_twice(reduction, case):
    x, axis, keepdims = case
    assert gradgradcheck(lambda t: getattr(t, reduction)(dim=axis, keepdim=keepdims) ** 2, x)


@FEW
@given(case=array_and_axis(), seed=st.integers(0, 2**16))
def test_max_without_ties_twice(case, seed):
    x, axis, keepdims = case
    assert gradgradcheck(lambda t: t.amax(dim=axis, keepdim=keepdims) ** 2, distinct(x.shape, seed))


@FEW
@given(x=arrays(shapes(min_dims=1, max_side=3)))
def test_reshape_twice(x):
    assert gradgradcheck(lambda t: t.reshape(-1) ** 2, x)
    assert gradgradcheck(lambda t: t.reshape(*x.shape[::-1]) ** 2, x)


@FEW
@given(x=arrays(shapes(min_dims=1, max_side=3)), data=st.data())
def test_transpose_twice(x, data):
    axes = tuple(data.draw(st.permutations(range(x.ndim))))
    assert gradgradcheck(lambda t: t.permute(*axes) ** 2, x)
    assert gradgradcheck(lambda t: t.T**2, x)


@FEW
@given(data=st.data(), pair=broadcastable_shapes(max_side=3))
def test_expand_and_sum_to_size_twice(data, pair):
    small, other = pair
    big = np.broadcast_shapes(small, other)
    assert gradgradcheck(lambda t: t.expand(big) ** 2, data.draw(arrays(small)))
    assert gradgradcheck(lambda t: t.sum_to_size(small) ** 2, data.draw(arrays(big)))


@FEW
@given(data=st.data(), pair=matmul_shapes(max_side=3))
def test_matmul_twice(data, pair):
    a, b = data.draw(arrays(pair[0])), data.draw(arrays(pair[1]))
    assert gradgradcheck(lambda x, y: x @ y, a, b)
    assert gradgradcheck(lambda x, y: (x @ y) ** 2, a, b)


@FEW
@given(data=st.data(), m=st.integers(1, 3), features=st.integers(1, 3), outputs=st.integers(1, 3))
def test_linear_twice(data, m, features, outputs):
    x, weight = data.draw(arrays((m, features))), data.draw(arrays((outputs, features)))
    bias = data.draw(arrays((outputs,)))
    assert gradgradcheck(lambda *t: linear(*t) ** 2, x, weight, bias)
    assert gradgradcheck(lambda *t: linear(*t) ** 2, x, weight)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@FEW
@given(case=array_and_axis(min_dims=1))
def test_softmax_and_log_softmax_twice(op, case):
    x, axis, _ = case
    axis = -1 if axis is None else axis
    assert gradgradcheck(lambda t: getattr(t, op)(axis), x)


@FEW
@given(data=st.data(), m=st.integers(1, 4), classes=st.integers(2, 4), one_hot=st.booleans())
def test_cross_entropy_with_class_ids_twice(data, m, classes, one_hot):
    logits = data.draw(arrays((m, classes)))
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=m, max_size=m)))
    target = np.eye(classes)[labels] if one_hot else labels
    assert gradgradcheck(lambda t: t.cross_entropy(target), logits)
    assert gradgradcheck(lambda t: t.cross_entropy(target) ** 2, logits)


@FEW
@given(data=st.data(), m=st.integers(1, 4), classes=st.integers(2, 4))
def test_cross_entropy_with_probabilities_twice(data, m, classes):
    logits = data.draw(arrays((m, classes)))
    weights = data.draw(arrays((m, classes), low=0.1, high=1.0))
    assert gradgradcheck(lambda t: cross_entropy(t, weights / weights.sum(1, keepdims=True)), logits)
    # Rows that do not sum to 1: the gradient is softmax * sum(target) - target, and so is its second order.
    assert gradgradcheck(lambda t: cross_entropy(t, weights), logits)
    # Squared, the loss's own gradient depends on the logits: the second order goes through that path too.
    assert gradgradcheck(lambda t: cross_entropy(t, weights) ** 2, logits)


THIRD_ORDER = {
    "tanh": lambda t: t.tanh(),
    "sigmoid * exp": lambda t: t.sigmoid() * t.exp(),
    "softmax": lambda t: t.softmax(1),
    "log_softmax": lambda t: t.log_softmax(0),
    "cross_entropy": lambda t: t.cross_entropy(np.array([1, 0, 2])),
    "linear": lambda t: linear(t, t.T).tanh(),
}


@pytest.mark.parametrize("name", sorted(THIRD_ORDER))
@settings(max_examples=15)
@given(x=arrays((3, 3)))
def test_third_derivatives_by_gradgradcheck_of_a_gradient(name, x):
    """The backward of a backward is recorded too, so ``gradgradcheck`` of a gradient checks third derivatives."""
    fn = THIRD_ORDER[name]

    def gradient(t: Tensor) -> Tensor:
        out = fn(t)
        (g,) = grad(out, t, Tensor(np.linspace(-1.0, 1.0, out.numel()).reshape(out.shape)), create_graph=True)
        return g

    assert gradgradcheck(gradient, x)


# ----- custom Functions -----------------------------------------------------------------------------------------


class Cube(Function):
    """``x ** 3`` with a backward in Tensor ops: recorded under create_graph, so differentiable again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.numpy()**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class OnceOnlyCube(Function):
    """``x ** 3`` whose backward computes ``3 x^2`` in NumPy (``.numpy()``): right once, a constant to the graph."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.numpy()**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Tensor(3 * x.numpy()**2)


class OnceOnlyMul(Function):
    """``a * b`` whose backward takes the other factor's ``.numpy()``: its pure second derivatives (zero) are right,
    the mixed one (d^2/da db = 1) comes out zero."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a.numpy() * b.numpy()

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * Tensor(b.numpy()), grad * Tensor(a.numpy())


class ScaledProduct(Function):
    """``a * b * scale`` for a Python-number ``scale``, broadcasting; backward in Tensor ops, only what is needed."""

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a.numpy() * b.numpy() * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * b * ctx.scale if needs[0] else None, grad * a * ctx.scale if needs[1] else None)


def test_a_function_with_a_backward_in_tensor_ops_is_differentiable_twice():
    x = np.array([0.5, -1.0, 2.0])
    assert gradcheck(Cube.apply, x) and gradgradcheck(Cube.apply, x)
    np.testing.assert_allclose(hessian(lambda t: Cube.apply(t).sum(), Tensor(x)).numpy(), np.diag(6 * x), rtol=1e-12)
    a, b = np.array([[1.0, -2.0]]), np.array([[0.5], [3.0]])
    assert gradcheck(lambda s, t: ScaledProduct.apply(s, t, 0.5), a, b)
    assert gradgradcheck(lambda s, t: ScaledProduct.apply(s, t, 0.5), a, b)


def test_gradgradcheck_rejects_a_backward_that_leaves_the_graph():
    x = np.array([0.5, -1.0, 2.0])
    assert gradcheck(OnceOnlyCube.apply, x)  # first order it is right
    pattern = r"gradgradcheck: second-order gradient of input 0 \(shape \(3,\)\) is wrong at index \(\d+,\): "
    with pytest.raises(GradcheckError, match=pattern + r"double backward gives 0, finite differences give -?\d"):
        gradgradcheck(OnceOnlyCube.apply, x)
    assert gradcheck(OnceOnlyMul.apply, x, x[::-1])
    with pytest.raises(GradcheckError, match=r"second-order gradient of input 0 .* double backward gives 0, "):
        gradgradcheck(OnceOnlyMul.apply, x, x[::-1])


def test_gradcheck_and_gradgradcheck_take_pytorchs_tuple_of_inputs():
    a, b = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[0.5], [-2.0]])
    assert gradcheck(lambda s, t: (s @ t).tanh(), (a, b))
    assert gradgradcheck(lambda s, t: (s @ t).tanh(), (a, b))
    assert gradgradcheck(lambda s, t: (s @ t).tanh(), (Tensor(a), b))  # a Tensor that does not require grad: held
    with pytest.raises(GradcheckError, match=r"second-order gradient of input 1 \(shape \(2, 1\)\)"):
        gradgradcheck(lambda s, t: s * OnceOnlyCube.apply(t), (Tensor(a), b))


def test_gradgradcheck_takes_the_cotangent_and_checks_that_it_fits():
    x = np.array([0.5, -1.0, 2.0])
    assert gradgradcheck(lambda t: t.tanh(), x, grad_outputs=np.array([1.0, -2.0, 0.5]))
    assert gradgradcheck(lambda t: t.tanh(), x, grad_outputs=(Tensor(np.ones(3)),))
    with pytest.raises(ValueError, match=r"grad_outputs has shape \(2,\), the output \(3,\)"):
        gradgradcheck(lambda t: t.tanh(), x, grad_outputs=np.ones(2))
    with pytest.raises(ValueError, match="no input requires a gradient"):
        gradgradcheck(lambda t: t * 2, Tensor(x))


# ----- a small network against PyTorch ---------------------------------------------------------------------------


def network_inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A batch of 4 rows of 3 features, its class ids in 0..2, and the parameters of a 3-5-3 MLP."""
    rng = np.random.default_rng(seed)
    x, labels = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    parameters = [rng.standard_normal(shape) * 0.7 for shape in ((5, 3), (5,), (3, 5), (3,))]
    return x, labels, parameters


def loss_of(x, labels, library):
    """The MLP's loss as a function of its parameters, in this library or in torch (``library``)."""
    if library is None:
        return lambda w1, b1, w2, b2: cross_entropy(linear(linear(x, w1, b1).tanh(), w2, b2), labels)
    functional = library.nn.functional
    return lambda w1, b1, w2, b2: functional.cross_entropy(
        functional.linear(functional.linear(x, w1, b1).tanh(), w2, b2), labels
    )


def assert_close(mine, reference):
    if isinstance(reference, tuple):
        assert isinstance(mine, tuple) and len(mine) == len(reference)
        for a, b in zip(mine, reference, strict=True):
            assert_close(a, b)
        return
    np.testing.assert_allclose(mine.numpy(), reference.detach().numpy(), rtol=1e-8, atol=1e-8)


def test_hessian_hvp_and_double_backward_through_linear_and_cross_entropy_match_pytorch():
    torch = pytest.importorskip("torch")
    x, labels, parameters = network_inputs()
    loss = loss_of(Tensor(x), labels, None)
    reference_loss = loss_of(torch.tensor(x), torch.tensor(labels), torch)
    mine, reference = tuple(map(Tensor, parameters)), tuple(map(torch.tensor, parameters))

    expected = torch.autograd.functional.hessian(reference_loss, reference)
    assert_close(hessian(loss, mine), expected)  # all 16 blocks, mixed ones between layers included

    vectors = [np.random.default_rng(1).standard_normal(p.shape) for p in parameters]
    expected = torch.autograd.functional.hvp(reference_loss, reference, tuple(map(torch.tensor, vectors)))
    assert_close(hvp(loss, mine, tuple(map(Tensor, vectors))), expected)

    # Double backpropagation: the gradient of the squared norm of d loss / d input, with respect to the parameters.
    inputs = Tensor(x, requires_grad=True)
    weights = [Tensor(p, requires_grad=True) for p in parameters]
    (input_gradient,) = grad(loss_of(inputs, labels, None)(*weights), inputs, create_graph=True)
    reference_inputs = torch.tensor(x, requires_grad=True)
    reference_weights = [torch.tensor(p, requires_grad=True) for p in parameters]
    reference_value = loss_of(reference_inputs, torch.tensor(labels), torch)(*reference_weights)
    (reference_gradient,) = torch.autograd.grad(reference_value, reference_inputs, create_graph=True)
    assert_close(input_gradient, reference_gradient)
    expected = torch.autograd.grad((reference_gradient**2).sum(), reference_weights)
    assert_close(grad((input_gradient**2).sum(), weights), expected)


def test_the_networks_loss_passes_gradgradcheck_in_all_parameters():
    x, labels, parameters = network_inputs(seed=2)
    assert gradgradcheck(loss_of(Tensor(x), labels, None), *parameters)


class _WrongHalf(Function):
    """g / 2 whose own backward is wrong (times 3): only the derivative in the cotangent shows it."""

    @staticmethod
    def forward(ctx, g):
        return g.numpy() / 2

    @staticmethod
    def backward(ctx, gg):
        return gg * 3


class _Half(Function):
    """x / 2, right at first order, whose backward is the wrong ``_WrongHalf``."""

    @staticmethod
    def forward(ctx, x):
        return x.numpy() / 2

    @staticmethod
    def backward(ctx, grad):
        return _WrongHalf.apply(grad)


def test_gradgradcheck_checks_the_derivative_in_the_cotangent():
    x = np.array([0.5, -1.0, 2.0])
    assert gradcheck(_Half.apply, x)
    with pytest.raises(GradcheckError, match=r"gradgradcheck: second-order gradient of input 1 \(shape \(3,\)\)"):
        gradgradcheck(_Half.apply, x)
