"""PyTorch's semantics of the reductions and matrix products that the registry's battery cannot see:
named tuples, ties, corrections, dtypes, empty tensors, errors, and tables of calls compared to torch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mnist as tg
from tinygrad_mnist import Tensor, nn

X = np.array([[3.0, -1.0, 2.0, 0.5], [0.25, 4.0, -2.0, 1.0], [1.5, 2.5, -3.0, 5.0]], dtype=np.float32)

#: Calls on X (a (3, 4) float32 tensor) whose values, dtypes and gradients must equal PyTorch's.
CALLS = {
    "sum_dim_keepdim": lambda t: t.sum(dim=1, keepdim=True),
    "sum_tuple_negative": lambda t: t.sum((0, -1)),
    "mean_dim": lambda t: t.mean(-2),
    "prod_dim": lambda t: t.prod(1),
    "var_default": lambda t: t.var(),
    "var_dim_unbiased_false": lambda t: t.var(1, unbiased=False),
    "var_correction": lambda t: t.var(dim=0, correction=2, keepdim=True),
    "var_bool_overload": lambda t: t.var(False),
    "std_dim": lambda t: t.std(1),
    "norm_default": lambda t: t.norm(),
    "norm_1_dim": lambda t: t.norm(1, dim=1),
    "norm_inf": lambda t: t.norm(float("inf"), dim=0, keepdim=True),
    "norm_minus_inf": lambda t: t.norm(-float("inf")),
    "norm_3": lambda t: t.norm(p=3, dim=(0, 1)),
    "max": lambda t: t.max(),
    "max_dim_values": lambda t: t.max(1).values,
    "min_dim_values": lambda t: t.min(dim=0, keepdim=True)[0],
    "amax_tuple": lambda t: t.amax((0, 1)),
    "amin_dim": lambda t: t.amin(-1, keepdim=True),
    "logsumexp": lambda t: t.logsumexp(1),
    "logsumexp_tuple_keepdim": lambda t: t.logsumexp((0, 1), keepdim=True),
    "cumsum": lambda t: t.cumsum(1),
    "cumprod": lambda t: t.cumprod(dim=0),
    "sort": lambda t: t.sort(dim=1, descending=True).values,
    "topk": lambda t: t.topk(2).values,
    "topk_smallest_dim0": lambda t: t.topk(2, dim=0, largest=False).values,
    "softmax": lambda t: t.softmax(dim=0),
    "log_softmax": lambda t: t.log_softmax(-1),
    "matmul_vector": lambda t: t @ t.sum(0),
    "mv": lambda t: t.mv(t.sum(0)),
    "outer": lambda t: t.sum(0).outer(t.sum(1)),
    "dot": lambda t: t.sum(0).dot(t.sum(0)),
    "mm": lambda t: t.mm(t.T),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_calls_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out, expected = CALLS[name](ours), CALLS[name](theirs)
    assert out.shape == tuple(expected.shape)
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "tinygrad_mnist.")
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    cotangent = np.arange(1, out.numel() + 1, dtype=np.float32).reshape(out.shape)
    out.backward(Tensor(cotangent))
    expected.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_max_and_min_with_dim_are_named_tuples_of_values_and_indices():
    values, indices = Tensor(X).max(1)
    result = Tensor(X).min(dim=0, keepdim=True)
    assert values.numpy().tolist() == [3.0, 4.0, 5.0] and indices.numpy().tolist() == [0, 1, 3]
    assert result.values.shape == result.indices.shape == (1, 4) and result.indices.dtype == np.int64
    assert type(result).__name__ == "min" and result[1] is result.indices
    assert tg.max(Tensor(X), 1).indices.numpy().tolist() == [0, 1, 3]


def test_max_with_a_dim_sends_the_gradient_to_one_index_and_without_splits_it_among_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0]]), requires_grad=True)
    x.max(1).values.sum().backward()
    assert x.grad.numpy().tolist() == [[0.0, 1.0, 0.0]]  # PyTorch's first maximum
    x.grad = None
    x.max().backward()
    assert x.grad.numpy().tolist() == [[0.0, 0.5, 0.5]]
    x.grad = None
    x.amin(1).sum().backward()
    assert x.grad.numpy().tolist() == [[1.0, 0.0, 0.0]]


def test_max_with_a_tensor_is_maximum():
    if not hasattr(Tensor, "maximum"):
        pytest.skip("Tensor.maximum is written in another branch")
    a, b = Tensor([1.0, 5.0]), Tensor([3.0, 2.0])
    assert tg.max(a, b).numpy().tolist() == [3.0, 5.0] and a.min(b).numpy().tolist() == [1.0, 2.0]


def test_argmax_and_argmin_flatten_without_dim_and_keep_dims():
    t = Tensor(X)
    assert t.argmax().item() == 11 and t.argmin().item() == 10 and t.argmax().dtype == np.int64
    assert t.argmax(dim=1, keepdim=True).numpy().tolist() == [[0], [1], [3]]
    assert t.argmin(0).numpy().tolist() == [1, 0, 2, 0]
    assert not t.argmax(1).requires_grad


def test_prod_gradient_is_exact_with_zeros():
    torch = pytest.importorskip("torch")
    data = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 5.0]])
    for call in (lambda t: t.prod(), lambda t: t.prod(1), lambda t: t.cumprod(1), lambda t: t.cumprod(0)):
        ours, theirs = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        call(ours).sum().backward()
        call(theirs).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())


def test_var_corrections():
    t = Tensor(np.array([1.0, 2.0, 4.0]))
    assert np.isclose(t.var().item(), 7 / 3) and np.isclose(t.var(unbiased=False).item(), 14 / 9)
    assert np.isclose(t.var(correction=0).item(), 14 / 9) and np.isclose(t.std(correction=2).item(), (14 / 3) ** 0.5)
    assert np.isinf(Tensor([1.0, 2.0]).var(correction=2).item())  # PyTorch's n - correction <= 0


def test_sum_dtypes_as_pytorch():
    assert Tensor(np.array([1, 2], dtype=np.int32)).sum().dtype == np.int64
    assert Tensor(np.array([True, True, False])).sum().item() == 2
    assert Tensor(X).sum(dtype=np.float64).dtype == np.float64 and Tensor(X).sum().dtype == np.float32
    assert Tensor(np.array([1, 2], dtype=np.int32)).cumsum(0).dtype == np.int64
    with pytest.raises(TypeError, match="mean: a floating-point tensor is needed"):
        Tensor(np.array([1, 2])).mean()


def test_empty_tensors_as_pytorch():
    empty = Tensor(np.zeros((2, 0), dtype=np.float32))
    assert empty.sum().item() == 0 and empty.sum(1).numpy().tolist() == [0.0, 0.0] and empty.prod().item() == 1
    assert empty.amax(0).shape == (0,) and empty.any().item() is False and empty.all().item() is True
    with pytest.raises(IndexError, match="empty"):
        empty.max()
    with pytest.raises(IndexError, match="dim 1"):
        empty.max(1)
    with pytest.raises(IndexError, match="empty"):
        empty.argmax()


def test_all_and_any_give_bool_tensors():
    t = Tensor(np.array([[1.0, 0.0], [2.0, 3.0]]))
    assert t.all(1).numpy().tolist() == [False, True] and t.any(dim=0, keepdim=True).shape == (1, 2)
    assert t.all().dtype == np.bool_ and tg.any(t).item() is True


def test_sort_argsort_and_topk():
    t = Tensor(np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]), requires_grad=True)
    values, indices = t.sort()
    assert values.numpy().tolist() == [[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]]
    assert indices.numpy().tolist() == [[1, 2, 0], [0, 2, 1]] and indices.dtype == np.int64
    assert t.argsort(dim=0, descending=True).numpy().tolist() == [[0, 1, 1], [1, 0, 0]]
    top = t.topk(1, dim=1)
    assert type(top).__name__ == "topk" and top.indices.numpy().tolist() == [[0], [1]]
    (top.values * Tensor([[2.0], [3.0]])).sum().backward()
    assert t.grad.numpy().tolist() == [[2.0, 0.0, 0.0], [0.0, 3.0, 0.0]]
    ties = Tensor(np.array([2.0, 1.0, 2.0, 1.0]))
    assert ties.sort(stable=True).indices.numpy().tolist() == [1, 3, 0, 2]
    assert ties.sort(descending=True, stable=True).indices.numpy().tolist() == [0, 2, 1, 3]
    with pytest.raises(IndexError, match="k=4 is out of range for dim -1 of size 3"):
        t.topk(4)


def test_errors_name_the_dim():
    with pytest.raises(IndexError, match=r"dim 2 is out of range for a tensor with 2 dimensions"):
        Tensor(X).sum(2)
    with pytest.raises(IndexError, match=r"dim -3"):
        Tensor(X).max(-3)
    with pytest.raises(IndexError, match=r"dim \(0, 5\)"):
        Tensor(X).amax((0, 5))


def test_zero_dim_tensors_reduce_over_dim_0():
    torch = pytest.importorskip("torch")
    calls = [lambda t: t.sum(0), lambda t: t.max(0).values, lambda t: t.argmax(0), lambda t: t.cumsum(-1)]
    calls += [lambda t: t.argmin(-1, keepdim=True), lambda t: t.max(0, keepdim=True).indices, lambda t: t.sort().values]
    for call in calls:
        ours, theirs = call(Tensor(np.float32(2.5))), call(torch.tensor(2.5))
        assert ours.shape == tuple(theirs.shape) and ours.item() == theirs.item()


def test_logsumexp_is_stable():
    t = Tensor(np.array([[1000.0, 1000.0], [-1000.0, -np.inf]], dtype=np.float32))
    np.testing.assert_allclose(t.logsumexp(1).numpy(), [1000 + np.log(2), -1000], rtol=1e-6)
    assert Tensor(np.full(2, -np.inf)).logsumexp(0).item() == -np.inf


@pytest.mark.parametrize(
    ("a", "b"),
    [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((3,), (2, 3, 4)),
     ((5, 1, 2, 3), (4, 3, 2)), ((4, 2, 3), (3,))],
)  # fmt: skip
def test_matmul_shapes_and_gradients_match_torch(a, b):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(a).astype(np.float32), rng.standard_normal(b).astype(np.float32)
    ours = [Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)]
    out, expected = tg.matmul(*ours), torch.matmul(*theirs)
    assert out.shape == tuple(expected.shape) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    out.sum().backward()
    expected.sum().backward()
    for t, e in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(t.grad.numpy(), e.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_matmul_refuses_mixed_dtypes_and_bad_shapes():
    with pytest.raises(TypeError, match="float32 and float64"):
        Tensor(X) @ Tensor(X.T.astype(np.float64))
    with pytest.raises(ValueError, match="inner dimensions 4 and 3 differ"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match="batch dimensions do not broadcast"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 2)))
    with pytest.raises(ValueError, match="at least one dimension"):
        Tensor(np.float32(1)) @ Tensor(X)


def test_the_products_with_fixed_dims_say_what_they_expect():
    with pytest.raises(ValueError, match=r"mm: expected two 2-D matrices, got shapes \(3,\) and \(3, 4\)"):
        Tensor(X[0, :3]).mm(Tensor(X))
    with pytest.raises(ValueError, match="bmm: expected two 3-D batches"):
        Tensor(X).bmm(Tensor(X.T))
    with pytest.raises(ValueError, match="bmm: batch sizes differ"):
        Tensor(np.ones((2, 3, 4))).bmm(Tensor(np.ones((3, 4, 2))))
    with pytest.raises(ValueError, match="dot: expected two 1-D tensors"):
        Tensor(X).dot(Tensor(X))
    with pytest.raises(ValueError, match="mv: expected a 2-D matrix and a 1-D vector"):
        Tensor(X).mv(Tensor(X))
    with pytest.raises(ValueError, match="outer: expected two 1-D tensors"):
        Tensor(X).outer(Tensor(X[0]))


def test_the_two_dimensional_product_stays_the_fused_op():
    out = Tensor(X, requires_grad=True) @ Tensor(X.T)
    assert type(out.grad_fn).__name__ == "MatMul"


@pytest.mark.parametrize("equation", ["ij,jk->ik", "bij,bjk->bik", "i,i->", "i,j->ij", "ij->ji", "ij->", "bi,bi->b"])
def test_einsum_matches_torch(equation):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    sizes = {"i": 2, "j": 3, "k": 4, "b": 5}
    arrays = [rng.standard_normal([sizes[c] for c in s]).astype(np.float32) for s in equation.split("->")[0].split(",")]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = tg.einsum(equation, *ours), torch.einsum(equation, *theirs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    for t, e in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(t.grad.numpy(), e.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert np.allclose(tg.einsum(equation, ours).numpy(), out.numpy())  # the operands as one list


def test_einsum_errors():
    with pytest.raises(ValueError, match="one subscript per operand"):
        tg.einsum("ij,jk", Tensor(X), Tensor(X.T))
    with pytest.raises(TypeError, match="float32 and float64"):
        tg.einsum("ij,jk->ik", Tensor(X), Tensor(X.T.astype(np.float64)))
    with pytest.raises(NotImplementedError, match="diagonal"):
        tg.einsum("ii->i", Tensor(np.eye(3), requires_grad=True))
    assert tg.einsum("ii->", Tensor(np.eye(3))).item() == 3  # forward only, without a gradient


def test_softmax_dims():
    t = Tensor(X)
    np.testing.assert_allclose(nn.functional.softmax(t).numpy().sum(1), 1, rtol=1e-6)  # PyTorch's implicit dim 1
    np.testing.assert_allclose(tg.softmax(t, 0).numpy().sum(0), 1, rtol=1e-6)
    with pytest.raises(TypeError):
        t.softmax()  # PyTorch's Tensor.softmax has no default dim
