"""Shapes and tensor basics against PyTorch's semantics: tables of calls, errors, views, Size, conversions."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import Size, Tensor
from tinygrad_mnist.nn import functional

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

#: (description, call) run on both libraries; ``lib`` is tinygrad_mnist or torch.
CALLS = [
    ("transpose", lambda lib, t: t.transpose(0, -1)),
    ("swapaxes", lambda lib, t: t.swapaxes(-2, 1)),
    ("permute", lambda lib, t: t.permute(2, 0, 1)),
    ("permute tuple", lambda lib, t: t.permute((-1, 0, 1))),
    ("mT", lambda lib, t: t.mT),
    ("flatten", lambda lib, t: t.flatten()),
    ("flatten 1", lambda lib, t: t.flatten(1)),
    ("flatten 0 1", lambda lib, t: t.flatten(0, 1)),
    ("unflatten", lambda lib, t: t.unflatten(-1, (2, -1))),
    ("squeeze", lambda lib, t: t.unsqueeze(0).unsqueeze(-1).squeeze()),
    ("squeeze dim", lambda lib, t: t.unsqueeze(1).squeeze(1)),
    ("squeeze non-1 dim", lambda lib, t: t.squeeze(0)),
    ("squeeze keeps other 1s", lambda lib, t: t.unsqueeze(0).unsqueeze(-1).squeeze(0)),
    ("squeeze tuple", lambda lib, t: t.unsqueeze(0).unsqueeze(-1).squeeze((0, -1))),
    ("unsqueeze end", lambda lib, t: t.unsqueeze(3)),
    ("unsqueeze negative", lambda lib, t: t.unsqueeze(-4)),
    ("movedim", lambda lib, t: t.movedim(0, -1)),
    ("narrow", lambda lib, t: t.narrow(-1, 1, 2)),
    ("narrow negative start", lambda lib, t: t.narrow(1, -2, 2)),
    ("split", lambda lib, t: t.split(3, -1)[1]),
    ("split sections", lambda lib, t: t.split([1, 2], 1)[1]),
    ("chunk", lambda lib, t: t.chunk(3, -1)[-1]),
    ("unbind", lambda lib, t: t.unbind(1)[2]),
    ("flip", lambda lib, t: t.flip(0, -1)),
    ("flip list", lambda lib, t: t.flip([1])),
    ("roll", lambda lib, t: t.roll(1, -1)),
    ("roll several", lambda lib, t: t.roll((1, -5), (0, 2))),
    ("roll flat", lambda lib, t: t.roll(7)),
    ("repeat", lambda lib, t: t.repeat(2, 1, 1, 2)),
    ("tile", lambda lib, t: t.tile((2,))),
    ("tril", lambda lib, t: t.tril()),
    ("triu", lambda lib, t: t.triu(1)),
    ("tril negative", lambda lib, t: t.tril(-1)),
    ("view", lambda lib, t: t.view(4, -1)),
    ("view_as", lambda lib, t: t.view_as(t.reshape(6, 4))),
    ("expand_as", lambda lib, t: t[:1].expand_as(t) if lib is not tm else t.narrow(0, 0, 1).expand_as(t)),
    ("cat", lambda lib, t: lib.cat([t, t * 2], -2)),
    ("concat", lambda lib, t: lib.concat([t, t * 2])),
    ("stack", lambda lib, t: lib.stack([t, t * 3], -1)),
    ("hstack", lambda lib, t: lib.hstack([t, t])),
    ("vstack", lambda lib, t: lib.vstack([t.flatten(), t.flatten()])),
    ("pad", lambda lib, t: (functional if lib is tm else lib.nn.functional).pad(t, (1, 2))),
    ("pad crop", lambda lib, t: (functional if lib is tm else lib.nn.functional).pad(t, (-1, 1, 2, -1), value=-1.0)),
    ("function transpose", lambda lib, t: lib.transpose(t, 1, 2)),
    ("function squeeze", lambda lib, t: lib.squeeze(lib.unsqueeze(t, 0))),
]


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[name for name, _ in CALLS])
def test_values_and_gradients_match_pytorch(call):
    torch = pytest.importorskip("torch")
    ours, theirs = Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out, expected = call(tm, ours), call(torch, theirs)
    assert out.shape == tuple(expected.shape) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    seed = np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    out.backward(Tensor(seed))
    expected.backward(torch.tensor(seed))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_transpose_swaps_two_dims_and_t_reverses_all():
    t = Tensor(X)
    assert t.transpose(0, 2).shape == (4, 3, 2) and t.transpose(1, -1).shape == (2, 4, 3)
    assert t.T.shape == (4, 3, 2) and Tensor(np.zeros((2, 3))).t().shape == (3, 2)
    assert Tensor(np.zeros(3)).t().shape == (3,) and Tensor(1.0).transpose(0, -1).shape == ()


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda t: t.transpose(0, 3), IndexError, "[-3, 2], but got 3"),
        (lambda t: t.permute(0, 1), ValueError, "(2, 3, 4)"),
        (lambda t: t.permute(0, 0, 1), ValueError, "not a permutation"),
        (lambda t: t.t(), RuntimeError, "<= 2 dimensions"),
        (lambda t: t.unsqueeze(4), IndexError, "[-4, 3], but got 4"),
        (lambda t: t.squeeze(-4), IndexError, "got -4"),
        (lambda t: t.flatten(2, 1), ValueError, "start_dim 2 comes after end_dim 1"),
        (lambda t: t.narrow(1, 2, 2), IndexError, "size 3"),
        (lambda t: t.split([1, 1], 1), RuntimeError, "sum to 2, not to dim 1 of size 3"),
        (lambda t: t.flip(0, 0), RuntimeError, "multiple times"),
        (lambda t: t.repeat(2, 2), RuntimeError, "(2, 3, 4)"),
        (lambda t: t.transpose(0, 1).view(-1), RuntimeError, "use .reshape"),
        (lambda t: tm.cat([t, t.flatten()]), RuntimeError, "tensor 1 has (24,)"),
        (lambda t: tm.cat([t, t.transpose(0, 1)], 2), RuntimeError, "except in dimension 2"),
        (lambda t: tm.stack([t, t.flatten()]), RuntimeError, "equal size"),
        (lambda t: tm.cat([]), ValueError, "non-empty"),
        (lambda t: t.size(3), IndexError, "got 3"),
        (lambda t: functional.pad(t, (1,)), ValueError, "pairs"),
    ],
)
def test_errors_name_the_shape_and_dims(call, error, words):
    with pytest.raises(error, match=None) as caught:
        call(Tensor(X))
    assert words in str(caught.value)


def test_views_share_memory_and_the_version_counter():
    t = Tensor(X.copy())
    for view in (t.view(-1), t.transpose(0, 1), t.permute(2, 1, 0), t.narrow(2, 1, 2), t.unsqueeze(0), t.squeeze()):
        assert np.shares_memory(view.numpy(), t.numpy())
        before = t._version
        view.mul_(1.0)
        assert t._version == before + 1 == view._version
    assert not np.shares_memory(t.flip(0).numpy(), t.numpy())  # flip copies, as PyTorch


def test_contiguous():
    t = Tensor(X)
    assert t.is_contiguous() and t.contiguous() is t
    moved = t.transpose(0, 2)
    assert not moved.is_contiguous() and moved.contiguous().is_contiguous()
    np.testing.assert_array_equal(moved.contiguous().view(-1).numpy(), X.transpose(2, 1, 0).reshape(-1))


def test_size_is_pytorchs():
    t = Tensor(X)
    assert isinstance(t.shape, Size) and isinstance(t.size(), Size) and t.size() == (2, 3, 4)
    assert t.size(1) == 3 and t.size(-1) == 4 and isinstance(t.size(0), int)
    assert repr(t.shape) == "tinygrad_mnist.Size([2, 3, 4])" and t.shape.numel() == 24 == t.numel() == t.nelement()
    assert Size([]).numel() == 1 and repr(Tensor(1.0).shape) == "tinygrad_mnist.Size([])"
    assert t.dim() == t.ndimension() == 3 and tm.numel(t) == 24
    assert t.shape[1:] == (3, 4) and tm.Size is Size


def test_size_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    for shape in [(), (0,), (2, 3)]:
        ours = repr(Tensor(np.zeros(shape)).shape).replace("tinygrad_mnist.", "")
        assert ours == repr(torch.zeros(shape).shape).replace("torch.", "")


def test_conversions_of_one_element_tensors():
    one = Tensor(np.array([2.5], dtype=np.float32))
    assert float(one) == 2.5 and int(one) == 2 and bool(one) and not bool(Tensor(0.0))
    assert int(Tensor(-2.7)) == -2 and int(Tensor(np.array([3.7]))) == 3  # truncated, as int(float)
    assert [10, 20, 30][Tensor(np.array(1))] == 20 and range(Tensor(np.array([3])))[-1] == 2
    assert Tensor(X).tolist() == X.tolist() and Tensor(3.0).tolist() == 3.0
    for convert in (float, int, bool):
        with pytest.raises(RuntimeError, match="2 "):
            convert(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer tensors of a single element"):
        [1, 2][Tensor(1.0)]


def test_format_like_the_number():
    loss = Tensor(np.float32(0.123456))
    assert f"{loss:.4f}" == "0.1235" and f"{Tensor(np.array(7)):3d}" == "  7"
    assert f"{Tensor([1.0, 2.0])}" == str(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        format(Tensor([1.0, 2.0]), ".2f")


def test_iteration_gives_tensors_connected_to_the_graph():
    t = Tensor(X, requires_grad=True)
    rows = list(t)
    assert len(rows) == 2 and all(r.shape == (3, 4) and r.grad_fn is not None for r in rows)
    (rows[0] * 2 + rows[1]).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.stack([np.full((3, 4), 2.0), np.ones((3, 4))]))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(Tensor(1.0))
    assert list(Tensor(np.zeros((0, 2)))) == []


def test_detach_in_place():
    t = Tensor(X, requires_grad=True) * 2
    assert t.detach_() is t and t.grad_fn is None and not t.requires_grad


def test_cat_promotes_and_skips_empty_vectors():
    ints = Tensor(np.array([[1, 2]], dtype=np.int64))
    assert tm.cat([ints, Tensor(np.zeros((1, 2), dtype=np.float32))]).dtype == np.float32
    assert tm.cat([Tensor(X), Tensor(np.zeros(0, dtype=np.float32))]).shape == (2, 3, 4)


def test_split_and_chunk_sizes_as_pytorch():
    torch = pytest.importorskip("torch")
    for n, arg in [(7, 3), (6, 4), (5, 1), (1, 5)]:
        ours, theirs = Tensor(np.zeros(n)), torch.zeros(n)
        assert [p.shape[0] for p in ours.split(arg)] == [p.shape[0] for p in theirs.split(arg)]
        assert [p.shape[0] for p in ours.chunk(arg)] == [p.shape[0] for p in theirs.chunk(arg)]


def test_nn_flatten_keeps_start_dim_1():
    images = Tensor(np.zeros((5, 1, 28, 28)))
    assert tm.nn.Flatten()(images).shape == (5, 784) and functional.flatten(images).shape == (5, 784)
    assert images.flatten().shape == (5 * 784,) and tm.flatten(images, 1).shape == (5, 784)
