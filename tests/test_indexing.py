"""Indexing semantics the registry battery cannot see: PyTorch's placement rules, views and version
counters, ``x[key] = v`` outside and inside a graph, dtypes, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import Tensor, nn

X = np.arange(24.0).reshape(2, 3, 4)

#: Index expressions, built from a function of the module that makes index tensors (ours or torch).
KEYS = {
    "int": lambda make: 1,
    "negative int": lambda make: -1,
    "two ints": lambda make: (1, -2),
    "slice": lambda make: slice(1, None),
    "slice with step": lambda make: (slice(None), slice(None, None, 2)),
    "slice out of range": lambda make: slice(-10, 10),
    "empty slice": lambda make: slice(2, 1),
    "ellipsis": lambda make: (Ellipsis, 1),
    "None": lambda make: (None, 0, None),
    "ellipsis and None": lambda make: (1, Ellipsis, None),
    "int list": lambda make: [1, 0, 1],
    "empty list": lambda make: [],
    "int tensor": lambda make: make([[1, 0], [0, 0]]),
    "0-d int tensor": lambda make: make(1),
    "two arrays": lambda make: (slice(None), make([0, 2, 2]), make([1, 1, -1])),
    "broadcast arrays": lambda make: (make([[0], [1]]), make([0, 2])),
    "arrays split by a slice": lambda make: (make([0, 1]), slice(None), make([1, 3])),
    "int then array (PyTorch applies the int first)": lambda make: (0, slice(None), make([1, 2])),
    "int, None, array, int": lambda make: (0, None, make([1, 2]), 1),
    "bool mask": lambda make: make(X > 5),
    "bool mask of the first dim": lambda make: make([True, False]),
    "int and a bool mask": lambda make: (0, make(X[0] > 3)),
    "python bool": lambda make: True,
    "range and an array": lambda make: (range(2), make([2, 0])),
}


def _ours(values):
    array = np.asarray(values)
    return Tensor(array.astype(np.int64) if array.dtype.kind == "i" else array)


@pytest.mark.parametrize("name", sorted(KEYS))
def test_getitem_matches_torch_values_and_gradients(name):
    torch = pytest.importorskip("torch")
    x = Tensor(X, requires_grad=True)
    theirs_x = torch.tensor(X, requires_grad=True)
    ours = x[KEYS[name](_ours)]
    theirs = theirs_x[KEYS[name](lambda v: torch.as_tensor(np.asarray(v)))]
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    cotangent = np.random.default_rng(0).standard_normal(ours.shape)
    ours.backward(Tensor(cotangent))
    theirs.backward(torch.from_numpy(cotangent))
    np.testing.assert_allclose(x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)


def test_repeated_indices_accumulate_and_second_order_matches_torch():
    torch = pytest.importorskip("torch")
    index = [0, 2, 2, 2, -1]
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = (x[index] ** 3).sum()
    (g,) = tm.autograd.grad(y, [x], create_graph=True)
    (gg,) = tm.autograd.grad((g * g).sum(), [x])
    tx = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad((tx[index] ** 3).sum(), [tx], create_graph=True)
    (tgg,) = torch.autograd.grad((tg * tg).sum(), [tx])
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy())
    np.testing.assert_allclose(gg.numpy(), tgg.numpy())
    assert g.numpy()[2] == 4 * 3 * 3.0**2  # four picks of x[2]: 2, 2, 2 and -1


def test_scatter_add_and_index_add_accumulate_repeats_like_torch():
    torch = pytest.importorskip("torch")
    x, src = np.zeros((3, 2)), np.arange(8.0).reshape(4, 2)
    index = np.array([[0, 1], [0, 0], [2, 0], [0, 1]])
    ours = Tensor(x).scatter_add(0, index, Tensor(src))
    theirs = torch.tensor(x).scatter_add(0, torch.from_numpy(index), torch.tensor(src))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = Tensor(x).index_add(0, [2, 2, 0, 2], Tensor(src), alpha=2)
    theirs = torch.tensor(x).index_add(0, torch.tensor([2, 2, 0, 2]), torch.tensor(src), alpha=2)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_basic_indexing_is_a_view_sharing_the_version_counter():
    x = Tensor(X.copy())
    row, picked = x[0], x[[0]]
    x.add_(1)
    assert row.numpy()[0, 0] == 1 and picked.numpy()[0, 0, 0] == 0  # advanced indexing copies
    assert row._version == x._version == 1 and picked._version == 0
    x[0, 0, 0].fill_(-5)  # a 0-d view writes through
    assert x.numpy()[0, 0, 0] == -5 and x._version == 2


def test_a_view_changed_in_place_breaks_a_backward_that_saved_it():
    x = Tensor(X.copy(), requires_grad=True)
    h = x * 1
    y = (h * h).sum()
    h[0].mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_setitem_outside_a_graph_writes_in_place_with_broadcast_and_cast():
    x = Tensor(np.zeros((2, 3), np.float32))
    array = x.numpy()
    x[0] = 5
    x[1, [0, 2]] = Tensor(np.array([1.5, 2.5]))
    x[:, 1] = [7, 8]
    assert x.numpy() is array and x.dtype == np.float32 and x._version == 3
    np.testing.assert_array_equal(x.numpy(), [[5, 7, 5], [1.5, 8, 2.5]])
    ints = Tensor(np.zeros(3, np.int64))
    ints[ints.numpy() == 0] = 2.7  # cast to the tensor's dtype, as PyTorch
    assert ints.dtype == np.int64 and ints.numpy().tolist() == [2, 2, 2]
    with tm.no_grad():
        leaf = Tensor(np.zeros(2), requires_grad=True)
        leaf[0] = 1.0
    assert leaf.numpy().tolist() == [1.0, 0.0]


def test_setitem_in_a_graph_sends_gradients_to_the_untouched_part_and_the_value_like_torch():
    torch = pytest.importorskip("torch")
    x, v = np.arange(6.0).reshape(2, 3), np.array([10.0, 20.0])

    def run(module, tensor):
        a, b = tensor(x, requires_grad=True), tensor(v, requires_grad=True)
        y = a * 2
        y[:, 1] = b * b
        y[0, 0] = 0
        (y * y).sum().backward()
        return y, a.grad, b.grad

    ours = run(tm, Tensor)
    theirs = run(torch, lambda d, requires_grad: torch.tensor(d, requires_grad=requires_grad))
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy())
    assert ours[0].grad_fn is not None


def test_setitem_of_a_value_that_requires_grad_into_a_plain_buffer_records_it():
    w = Tensor(np.array([2.0, 3.0]), requires_grad=True)
    buf = Tensor(np.zeros((2, 2)))
    buf[1] = w * w
    assert not buf.is_leaf and buf.requires_grad and buf._version == 1
    (buf * Tensor(np.array([[5.0, 5.0], [1.0, 10.0]]))).sum().backward()
    assert w.grad.numpy().tolist() == [4.0, 60.0]


def test_setitem_on_a_leaf_that_requires_grad_is_pytorchs_error():
    x = Tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x[0] = 1.0
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.masked_fill_(np.array([True, False, True]), 0.0)


def test_in_place_index_ops_write_into_their_own_array_and_bump_the_version():
    x = Tensor(np.zeros(4))
    array = x.numpy()
    x.index_add_(0, [1, 1], Tensor(np.array([2.0, 3.0])))
    x.masked_fill_(np.array([True, False, False, False]), -1)
    x.scatter_(0, np.array([3]), value=9.0)
    assert x.numpy() is array and x._version == 3
    assert x.numpy().tolist() == [-1.0, 5.0, 0.0, 9.0]


@pytest.mark.parametrize(
    "key, error, message",
    [
        (slice(None, None, -1), ValueError, "step must be greater than zero"),
        ((0, slice(None, None, 0)), ValueError, "step must be greater than zero"),
        (5, IndexError, "index 5 is out of bounds for dimension 0 with size 2"),
        ((slice(None), [0, 7]), IndexError, "index 7 is out of bounds for dimension 1 with size 3"),
        ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
        (np.array([0.0]), IndexError, "must be long, int, byte or bool tensors"),
        (np.array([True, False, True]), IndexError, r"mask \[3\] at index 0 does not match .* \[2, 3, 4\]"),
        (1.5, IndexError, "only integers, slices"),
    ],
)
def test_indexing_errors_say_what_pytorch_says(key, error, message):
    with pytest.raises(error, match=message):
        Tensor(X)[key]


def test_op_errors_name_the_index_dim_and_size():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        x.index_select(1, [0, 3])
    with pytest.raises(IndexError, match="index -1 is out of bounds for dimension 0"):  # PyTorch: no negatives here
        x.index_select(0, [-1])
    with pytest.raises(RuntimeError, match="index 2 is out of bounds for dimension 0 with size 2"):
        x.gather(0, np.array([[2, 0, 0]]))
    with pytest.raises(RuntimeError, match="as many dimensions"):
        x.gather(0, np.array([0]))
    with pytest.raises(TypeError, match="integer"):
        x.gather(0, np.array([[0.0]]))
    with pytest.raises(TypeError, match=r"float64.*float32"):
        x.scatter_add(0, np.array([[0]]), Tensor(np.zeros((1, 1), np.float32)))
    with pytest.raises(TypeError, match="bool mask"):
        x.masked_fill(np.zeros((2, 3)), 1.0)
    with pytest.raises(IndexError, match="dimension out of range"):
        x.index_select(2, [0])
    assert x.take_along_dim(np.array([[-1]]), 1).numpy().shape == (2, 1)  # negatives allowed here, as PyTorch


def test_where_promotes_like_torch_and_keeps_gradients_finite():
    torch = pytest.importorskip("torch")
    cases = [
        (np.float32, 0.5), (np.float32, 2), (np.int64, 0.5), (np.int64, 2), (np.int32, 5), (np.bool_, 3),
        (np.float32, np.float64), (np.int64, np.float32), (np.int32, np.int64),
    ]  # fmt: skip
    condition = np.array([True, False])
    for first, second in cases:
        a = np.array([1, 0], dtype=first)
        b = np.array([2, 3], dtype=second) if isinstance(second, type) else second
        ours = tm.where(condition, Tensor(a), Tensor(b) if isinstance(b, np.ndarray) else b)
        tb = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
        theirs = torch.where(torch.from_numpy(condition), torch.from_numpy(a), tb)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "tinygrad_mnist."), (first, second)
    assert tm.where(condition, 1.0, 0).dtype == np.float32 and tm.where(condition, 1, 0).dtype == np.int64
    x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    out = tm.where(Tensor(np.array([True, False])), x, float("inf"))  # an infinite branch: no nan anywhere
    out.sum().backward()
    assert out.numpy().tolist() == [1.0, np.inf] and x.grad.numpy().tolist() == [1.0, 0.0]


def test_where_with_the_condition_alone_is_nonzero_as_tuple():
    x = Tensor(np.array([[0.0, 2.0], [3.0, 0.0]]))
    rows, cols = tm.where(x.numpy() != 0)
    assert rows.dtype == np.int64 and rows.numpy().tolist() == [0, 1] and cols.numpy().tolist() == [1, 0]
    assert x.nonzero().dtype == np.int64 and x.nonzero().numpy().tolist() == [[0, 1], [1, 0]]
    assert x.argwhere().numpy().tolist() == [[0, 1], [1, 0]]
    assert tm.nonzero(Tensor(np.zeros((0, 3)))).shape == (0, 2)
    assert Tensor(np.array(3.0)).nonzero().shape == (1, 0)
    assert [t.numpy().tolist() for t in Tensor(np.array(3.0)).nonzero(as_tuple=True)] == [[0]]
    assert not x.nonzero().requires_grad


def test_masked_fill_keeps_the_dtype_and_a_tensor_value_gets_its_gradient():
    x = Tensor(np.ones(3, np.float32))
    assert x.masked_fill(np.array([True, False, True]), 0.5).dtype == np.float32
    value = Tensor(np.array(2.0), requires_grad=True)
    out = Tensor(np.ones(3)).masked_fill(np.array([True, False, True]), value)
    out.sum().backward()
    assert out.numpy().tolist() == [2.0, 1.0, 2.0] and value.grad.item() == 2.0
    with pytest.raises(RuntimeError, match="0-dimensional"):
        x.masked_fill(np.array([True, False, True]), Tensor(np.ones(3)))


def test_one_hot_is_int64_as_torch_and_refuses_bad_classes():
    labels = Tensor(np.array([[0, 2], [1, 2]]))
    out = nn.functional.one_hot(labels)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3)
    assert out.numpy()[0, 1].tolist() == [0, 0, 1] and nn.functional.one_hot(labels, num_classes=5).shape == (2, 2, 5)
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        nn.functional.one_hot(labels, 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        nn.functional.one_hot(Tensor(np.array([-1])))
    with pytest.raises(RuntimeError, match="empty"):
        nn.functional.one_hot(Tensor(np.zeros(0, np.int64)))
    with pytest.raises(TypeError, match="index tensors"):
        nn.functional.one_hot(Tensor(np.array([1.0])))


def test_top_level_functions_are_the_methods():
    x, index = Tensor(np.arange(6.0).reshape(2, 3)), np.array([[2, 0, 1]])
    assert tm.gather(x, 1, index).numpy().tolist() == [[2.0, 0.0, 1.0]]
    assert tm.index_select(x, 1, [2]).numpy().tolist() == [[2.0], [5.0]]
    assert tm.take_along_dim(x, np.array([[5]])).numpy().tolist() == [5.0]  # dim=None: both flattened
    assert tm.masked_select(x, x.numpy() > 3).numpy().tolist() == [4.0, 5.0]
    assert tm.scatter(x, 0, np.array([[1]]), value=-1.0).numpy()[1, 0] == -1.0
    with pytest.raises(TypeError, match="must be a Tensor"):
        tm.gather(np.zeros(3), 0, [0])
