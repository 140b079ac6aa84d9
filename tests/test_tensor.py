"""Tensor semantics: dtypes, accumulation, graph lifetime, no_grad/detach, errors."""

import gc
import inspect
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_mnist
from tinygrad_mnist import Tensor, nn, no_grad
from tinygrad_mnist.ops import MatMul
from tinygrad_mnist.testing import arrays, broadcastable_shapes, shapes

# ----- dtypes ------------------------------------------------------------------------


def test_arrays_keep_their_float_dtype_and_python_data_becomes_float32():
    assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64
    assert Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([[1, 2], [3, 4]]).dtype == np.float32


FLOAT32_PROGRAMS = {
    "arithmetic": lambda t: ((t + 1) * 2.5 - np.float64(0.5) / (t * t + 1) + 3 - t) ** 2,
    "unary": lambda t: t.exp() + t.sigmoid() + t.tanh() + t.relu() + (t * t + 1).log(),
    "reductions": lambda t: t.sum(dim=0, keepdim=True) + t.mean() + t.amax(dim=-1, keepdim=True),
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
    np.testing.assert_allclose(t.grad.numpy(), 4 * x)


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
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    assert isinstance(x.grad, Tensor)


def test_retain_graph_allows_a_second_pass_and_release_forbids_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(x.numpy()) * (x.numpy() + 1)))
    with pytest.raises(RuntimeError, match=r"already freed.*retain_graph=True"):
        y.backward()


def test_backward_frees_saved_arrays():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    y = (x * x).exp()
    y.sum().backward()
    assert y.grad_fn.released
    with pytest.raises(RuntimeError, match="already freed"):
        _ = y.grad_fn.saved_tensors


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\); pass gradient="):
        (x * 2).backward()
    (x * 2).backward(gradient=np.full((2, 3), 0.5))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


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
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 3), 2.0))


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    hidden = x * 3
    hidden.retain_grad()
    (hidden * hidden).sum().backward()
    np.testing.assert_array_equal(hidden.grad.numpy(), 2 * hidden.numpy())


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
    np.testing.assert_array_equal(x.grad.numpy(), x.numpy())  # not 2x
    assert x.detach().numpy() is x.numpy()


def test_requires_grad_underscore_returns_self():
    t = Tensor(np.ones(2))
    assert t.requires_grad_() is t and t.requires_grad


# ----- plain-array views and errors ----------------------------------------------------


def test_array_views():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert (t.shape, t.ndim, len(t), t.numel()) == ((2, 3), 2, 2, 6)
    assert t.numpy() is t.numpy()
    assert Tensor(np.array([[7.0]])).item() == 7.0
    with pytest.raises(ValueError, match=r"single-element.*\(2, 3\)"):
        t.item()


def test_repr_shows_values_dtype_and_origin():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2.5) == "tensor([2.5000, 5.0000], grad_fn=<MulBackward0>)"
    assert str(Tensor(np.array([1, 2], np.int32))) == "tensor([1, 2], dtype=tinygrad_mnist.int32)"


PRINTED = [
    np.array([1.0, 2.0], np.float32), np.array([1.5, 2.25, -3.0]), np.array([1e-5, 1.0]), np.array([[1, 2], [3, 4]]),
    np.array(3.5, np.float32), np.array([True, False]), np.array([np.nan, 1.0, -np.inf]), np.zeros((2, 0)),
    np.array([1e9, 2.0]), np.array([-0.5, 100.25], np.float32), np.arange(12, dtype=np.uint8).reshape(3, 4),
    np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32),
]  # fmt: skip


@pytest.mark.parametrize("values", PRINTED, ids=lambda a: f"{a.dtype}{a.shape}")
def test_a_tensor_prints_as_pytorchs_does(values):
    torch = pytest.importorskip("torch")
    assert repr(Tensor(values)) == repr(torch.from_numpy(values)).replace("torch.", "tinygrad_mnist.")


def test_grad_fn_has_pytorchs_name_and_next_functions():
    torch = pytest.importorskip("torch")
    rows = []
    for lib in (tinygrad_mnist, torch):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        out = (w * lib.tensor([3.0, 4.0])).sum()
        mul, _ = out.grad_fn.next_functions[0]
        leaf, constant = mul.next_functions
        rows.append((out.grad_fn.name(), mul.name(), leaf[0].variable is w, constant[0], leaf[1]))
    assert rows[0] == rows[1] == ("SumBackward0", "MulBackward0", True, None, 0)


@pytest.mark.parametrize(
    "program, message",
    [
        (
            lambda: Tensor(np.ones((5, 784))) @ Tensor(np.ones((785, 10))),
            r"matmul: \(5, 784\) @ \(785, 10\): inner dimensions 784 and 785 differ",
        ),
        (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones(4)), r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
        (lambda: Tensor(np.ones(())) @ Tensor(np.ones(3)), r"matmul: both operands need at least one dimension"),
        (lambda: Tensor(np.ones(6)).reshape(4), r"reshape: cannot reshape \(6,\) \(6 elements\) into \(4,\)"),
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


def test_pow_takes_tensor_exponents_with_gradients_for_both():
    base, exponent = Tensor([2.0, 3.0], requires_grad=True), Tensor([3.0, 2.0], requires_grad=True)
    (base**exponent).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), [12.0, 6.0])
    np.testing.assert_allclose(exponent.grad.numpy(), [8 * np.log(2), 9 * np.log(3)], rtol=1e-6)


# ----- in-place arithmetic and version counters -----------------------------------------

IN_PLACE = {
    "+=": (lambda t, v: t.__iadd__(v), np.add),
    "-=": (lambda t, v: t.__isub__(v), np.subtract),
    "*=": (lambda t, v: t.__imul__(v), np.multiply),
    "/=": (lambda t, v: t.__itruediv__(v), np.divide),
    "add_": (lambda t, v: t.add_(v), np.add),
    "sub_": (lambda t, v: t.sub_(v), np.subtract),
    "mul_": (lambda t, v: t.mul_(v), np.multiply),
    "div_": (lambda t, v: t.div_(v), np.divide),
}


@pytest.mark.parametrize("name", IN_PLACE)
@given(pair=broadcastable_shapes(), data=st.data())
def test_in_place_arithmetic_writes_the_tensors_own_array(name, pair, data):
    update, ufunc = IN_PLACE[name]
    shape = np.broadcast_shapes(*pair)
    x = data.draw(arrays(shape, 0.5, 3.0))
    other = data.draw(arrays(pair[1], 0.5, 3.0))
    t = Tensor(x.copy())
    array = t.numpy()
    assert update(t, Tensor(other)) is t
    assert t.numpy() is array and t._version == 1
    np.testing.assert_array_equal(t.numpy(), ufunc(x, other))


def test_add_and_sub_take_alpha_like_pytorch():
    t = Tensor(np.ones(3))
    t.add_(Tensor(np.full(3, 2.0)), alpha=3).sub_(1, alpha=0.5)
    np.testing.assert_array_equal(t.numpy(), np.full(3, 6.5))


def test_the_tutorial_update_changes_module_parameters_in_place():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    rng = np.random.default_rng(0)
    model(Tensor(rng.standard_normal((5, 3)).astype(np.float32))).sum().backward()
    params = list(model.parameters())
    expected = [p.numpy() - np.float32(0.1) * p.grad.numpy() for p in params]
    with no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for p, want in zip(model.parameters(), expected, strict=True):
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-6)
        assert p.is_leaf and p.requires_grad and p.dtype == np.float32
    model(Tensor(np.ones((1, 3), dtype=np.float32))).sum().backward()  # still trainable


def test_data_is_a_tensor_outside_the_graph_that_shares_memory():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad.data  # PyTorch's old-style update: no error, no graph, in place
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    assert w.is_leaf and w.requires_grad and w._version == 0  # autograd does not see .data changes
    assert not w.data.requires_grad and w.data.grad_fn is None
    w.data = np.array([3.0, 4.0])
    np.testing.assert_array_equal(w.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(np.asarray(w), [3.0, 4.0])


def test_a_bare_leaf_stays_a_leaf_that_requires_grad():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    with no_grad():
        w -= 0.5 * w.grad
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    assert w.is_leaf and w.requires_grad
    w.grad = None
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize(
    "update",
    [
        *IN_PLACE.values(),
        (lambda t, v: t.zero_(), None),
        (lambda t, v: t.fill_(v), None),
        (lambda t, v: t.copy_(v), None),
    ],
)
def test_in_place_on_a_leaf_that_requires_grad_raises_pytorchs_error(update):
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        update[0](w, 2.0)
    np.testing.assert_array_equal(w.numpy(), np.ones(3))
    assert w._version == 0


def test_in_place_on_a_graph_tensor_is_recorded():
    w = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    h = w * 2
    h += w  # 3w
    h *= w  # 3w^2
    h -= 1
    h /= 2  # (3w^2 - 1) / 2
    assert h.grad_fn is not None and not h.is_leaf
    cotangent = np.array([0.5, -1.0, 2.0])
    h.backward(cotangent)
    np.testing.assert_allclose(w.grad.numpy(), cotangent * 3 * w.numpy())


def test_a_plain_buffer_takes_the_graph_of_what_is_added_into_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    total = Tensor(np.zeros(2))
    total += x * x
    assert total.requires_grad and total.grad_fn is not None
    total.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_changing_a_saved_tensor_in_place_makes_backward_raise():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x.exp()  # Exp saves its output
    loss = (y * 2).sum()
    y += 1
    with pytest.raises(
        RuntimeError, match=r"in-place operation: Exp saved its output of shape \(2,\) at version 0.*version 1"
    ):
        loss.backward()


def test_changing_a_constant_an_op_saved_makes_backward_raise():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    scale = Tensor(np.array([2.0, 3.0]))
    loss = (x * scale).sum()
    with no_grad():  # no_grad does not make it safe: the saved array itself changed
        scale *= 10
    with pytest.raises(RuntimeError, match=r"Mul saved its input 1 of shape \(2,\) at version 0"):
        loss.backward()


def test_changing_what_no_op_needs_is_no_error():
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x * 1.0
    loss = (y * 2).sum()  # the gradient with respect to y needs only the 2
    y += 1
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_views_share_the_version_counter():
    base = Tensor(np.arange(4.0))
    view = base.reshape(2, 2)
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    loss = (x * view).sum()
    with no_grad():
        base += 1  # changes view's array too
    assert view._version == base._version == 1 and base.detach()._version == 1
    with pytest.raises(RuntimeError, match="Mul saved its input 1"):
        loss.backward()


def test_in_place_errors_name_the_problem():
    ints = Tensor(np.arange(3))
    ints += 1
    np.testing.assert_array_equal(ints.numpy(), [1, 2, 3])
    with pytest.raises(TypeError, match=r"add_: the result \(float64\) cannot be written in place into this int64"):
        ints += 1.5
    with pytest.raises(ValueError, match=r"does not fit in place into this tensor of shape \(3,\)"):
        Tensor(np.ones(3)).add_(Tensor(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="copy_: this tensor is part of a recorded graph"):
        (Tensor(np.ones(2), requires_grad=True) * 2).copy_(np.zeros(2))


def test_fill_zero_and_copy_overwrite_and_cast():
    t = Tensor(np.arange(4.0).reshape(2, 2))
    assert t.fill_(7).numpy().tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert t.copy_(Tensor(np.array([1, 2]))).numpy().tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert t.zero_().numpy().tolist() == [[0.0, 0.0], [0.0, 0.0]] and t._version == 3
    w = Tensor(np.ones(2), requires_grad=True)
    (w * 3).sum().backward()
    w.grad.zero_()  # the tutorials' gradient reset
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_top_level_functions_are_the_tensor_methods_called_on_the_first_argument():
    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]))
    v, batch, flags = Tensor(np.array([1.5, -2.0])), Tensor(np.ones((2, 2, 2))), x > 0
    arguments = {"matmul": (x, x), "mm": (x, x), "bmm": (batch, batch), "dot": (v, v), "mv": (x, v), "outer": (v, v)}
    arguments |= {name: (x, 0) for name in ("logsumexp", "cumsum", "cumprod", "softmax", "log_softmax", "topk")}
    arguments |= {"topk": (x, 1), "reshape": (x, -1), "clamp": (x, 0.0, 1.0), "clip": (x, 0.0), "lerp": (x, x * 2, 0.5)}
    arguments |= {name: (x, 0.0) for name in ("clamp_min", "clamp_max")}
    binary = {name for name in tinygrad_mnist.functions.METHOD_FUNCTIONS  # those taking a second tensor
              if {"other", "exponent"} & set(inspect.signature(getattr(Tensor, name)).parameters)}  # fmt: skip
    index, mask = np.array([[1, 0], [1, 1]]), x.numpy() > 0.3
    arguments |= {
        "index_select": (x, 1, [1, 0]), "gather": (x, 1, index), "scatter": (x, 0, index[:1], 9.0),
        "scatter_add": (x, 0, index, x), "index_add": (x, 0, [1, 1], x), "index_copy": (x, 0, [1, 0], x),
        "index_fill": (x, 1, [0], 3.0), "masked_fill": (x, mask, -1.0), "masked_select": (x, mask),
        "take_along_dim": (x, index, 1),
    }  # fmt: skip
    arguments |= {"unflatten": (x, 1, (2, 1)), "transpose": (x, 0, 1), "swapaxes": (x, 0, 1), "swapdims": (x, 0, 1)}
    arguments |= {"movedim": (x, 0, 1), "narrow": (x, 1, 0, 1), "split": (x, 1), "chunk": (x, 2), "flip": (x, 0)}
    arguments |= {"roll": (x, 1), "tile": (x, (2,)), "unsqueeze": (x, 0), "permute": (x, 1, 0)}
    for name in tinygrad_mnist.functions.METHOD_FUNCTIONS:
        first = flags if name.startswith("bitwise") else x
        first, *args = arguments.get(name, (first, first) if name in binary else (first,))
        found, expected = getattr(tinygrad_mnist, name)(first, *args), getattr(first, name)(*args)
        pairs = zip(found, expected, strict=True) if isinstance(found, tuple) else [(found, expected)]
        for a, b in pairs:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=name)
    with pytest.raises(TypeError, match="argument 'input' must be a Tensor, not list"):
        tinygrad_mnist.exp([1.0])
