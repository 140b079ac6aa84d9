"""Tensor semantics: dtypes, accumulation, graph lifetime, no_grad/detach, errors."""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given

from tinygrad_mnist import Tensor, no_grad
from tinygrad_mnist.ops import MatMul
from tinygrad_mnist.testing import arrays, shapes

# ----- dtypes ------------------------------------------------------------------------


def test_arrays_keep_their_float_dtype_and_python_data_becomes_float32():
    assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64
    assert Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([[1, 2], [3, 4]]).dtype == np.float32


FLOAT32_PROGRAMS = {
    "arithmetic": lambda t: ((t + 1) * 2.5 - np.float64(0.5) / (t * t + 1) + 3 - t) ** 2,
    "unary": lambda t: t.exp() + t.sigmoid() + t.tanh() + t.relu() + (t * t + 1).log(),
    "reductions": lambda t: t.sum(axis=0, keepdims=True) + t.mean() + t.max(axis=-1, keepdims=True),
    "movement": lambda t: t.reshape(-1).reshape(*t.shape).T.T,
    "softmax": lambda t: t.softmax(-1) + t.log_softmax(-1) * np.float64(2.0),
    "matmul": lambda t: t @ t.T,
    "loss": lambda t: t.reshape(t.shape[0], -1).cross_entropy(np.zeros(t.shape[0], dtype=np.int64)),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_PROGRAMS))
@given(x=arrays(shapes(min_dims=2, max_dims=2), dtype=np.float32))
def test_float32_stays_float32_forward_and_backward(name, x):
    t = Tensor(x, requires_grad=True)
    out = FLOAT32_PROGRAMS[name](t)
    assert out.dtype == np.float32
    out.sum().backward()
    assert t.grad.dtype == np.float32


def test_grads_take_each_inputs_dtype_when_dtypes_mix():
    a = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones(3, dtype=np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert (a.grad.dtype, b.grad.dtype) == (np.float32, np.float64)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)


# ----- accumulation ------------------------------------------------------------------


def test_reused_values_accumulate():
    a = Tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


@given(x=arrays(shapes(min_dims=1)))
def test_x_plus_x_times_x(x):
    t = Tensor(x, requires_grad=True)
    ((t + t) * t).sum().backward()
    np.testing.assert_allclose(t.grad.data, 4 * x)


def test_diamond_graph():
    x = Tensor(2.0, requires_grad=True)
    left, right = x * 3, x * x
    (left * right).backward()  # d/dx 3x^3 = 9x^2
    assert x.grad.item() == pytest.approx(36.0)


def test_two_backward_calls_accumulate_and_grad_starts_as_none():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert x.grad is None
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    assert isinstance(x.grad, Tensor)


def test_retain_graph_allows_a_second_pass_and_release_forbids_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * (np.exp(x.data) * (x.data + 1)))
    with pytest.raises(RuntimeError, match=r"already freed.*retain_graph=True"):
        y.backward()


def test_backward_frees_saved_arrays():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    y = (x * x).exp()
    y.sum().backward()
    assert y.grad_fn.released and y.grad_fn.saved is None


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\); pass gradient="):
        (x * 2).backward()
    (x * 2).backward(gradient=np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_backward_without_a_graph_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(1.0).backward()


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


# ----- what gets computed and what stays alive ---------------------------------------


def test_the_input_batch_gets_no_gradient(monkeypatch):
    """In an MLP the notebook's dA0 (a full matmul) is never computed."""
    returned = []
    original = MatMul.backward

    def spy(self, grad):
        result = original(self, grad)
        returned.append(result)
        return result

    monkeypatch.setattr(MatMul, "backward", spy)
    x = Tensor(np.random.default_rng(0).standard_normal((8, 5)))
    w1 = Tensor(np.ones((5, 4)), requires_grad=True)
    w2 = Tensor(np.ones((4, 3)), requires_grad=True)
    (x @ w1).relu().__matmul__(w2).cross_entropy(np.zeros(8, dtype=np.int64)).backward()
    first_layer = returned[-1]
    assert first_layer[0] is None and first_layer[1].shape == (5, 4)
    assert x.grad is None


def test_the_graph_does_not_keep_intermediate_tensors_alive():
    x = Tensor(np.ones((3, 3)), requires_grad=True)
    hidden = x * 2
    alive = weakref.ref(hidden)
    loss = (hidden + 1).sum()
    del hidden
    gc.collect()
    assert alive() is None
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, np.full((3, 3), 2.0))


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    hidden = x * 3
    hidden.retain_grad()
    (hidden * hidden).sum().backward()
    np.testing.assert_array_equal(hidden.grad.data, 2 * hidden.data)


# ----- no_grad, detach -----------------------------------------------------------------


def test_no_grad_records_no_graph_as_context_and_decorator():
    x = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @no_grad()
    def double(t):
        return t * 2

    assert double(x).grad_fn is None
    assert (x * 2).grad_fn is not None  # recording is back on after both


def test_detach_stops_gradients():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x.detach()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, x.data)  # not 2x
    assert x.detach().data is x.data


def test_requires_grad_underscore_returns_self():
    t = Tensor(np.ones(2))
    assert t.requires_grad_() is t and t.requires_grad


# ----- plain-array views and errors ----------------------------------------------------


def test_array_views():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert (t.shape, t.ndim, len(t), t.size) == ((2, 3), 2, 2, 6)
    assert t.numpy() is t.data
    assert Tensor(np.array([[7.0]])).item() == 7.0
    with pytest.raises(ValueError, match=r"single-element.*\(2, 3\)"):
        t.item()


def test_repr_shows_values_dtype_and_origin():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "Tensor([1., 2.], dtype=float32, requires_grad=True)"
    assert repr(x * 2).endswith("dtype=float32, grad_fn=Mul)")


@pytest.mark.parametrize(
    "program, message",
    [
        (
            lambda: Tensor(np.ones((5, 784))) @ Tensor(np.ones((785, 10))),
            r"matmul: \(5, 784\) @ \(785, 10\): inner dimensions 784 and 785 differ",
        ),
        (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones(4)), r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
        (lambda: Tensor(np.ones(3)) @ Tensor(np.ones(3)), r"matmul: \(3,\) @ \(3,\): only 2-D"),
        (lambda: Tensor(np.ones(6)).reshape(4), r"reshape: cannot reshape \(6,\) \(6 elements\) into \(4,\)"),
        (lambda: Tensor(np.ones((2, 3))).sum(axis=2), "axis 2 is out of range for a tensor with 2 dimensions"),
        (
            lambda: Tensor(np.ones((2, 3))).cross_entropy(np.array([0, 3])),
            r"target 3 at row 1 is not a class id in 0\.\.2",
        ),
        (lambda: Tensor(np.ones((2, 3))).cross_entropy(np.array([0])), "2 rows of logits but 1 targets"),
    ],
)
def test_shape_errors_name_the_op_and_shapes(program, message):
    with pytest.raises(ValueError, match=message):
        program()


def test_pow_takes_only_number_exponents():
    with pytest.raises(TypeError, match="exponent must be a Python number"):
        Tensor(np.ones(2)) ** Tensor(np.ones(2))
