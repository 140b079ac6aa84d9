"""The autograd API with PyTorch's semantics: grad, backward(create_graph, inputs), Function, grad mode."""

import numpy as np
import pytest

from tinygrad_mnist import Tensor, autograd, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinygrad_mnist.autograd import Function


def leaf(values) -> Tensor:
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_grad_returns_a_tuple_and_touches_no_grad():
    x, y = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    dx, dy = autograd.grad((x * y).sum(), (x, y))
    np.testing.assert_array_equal(dx.numpy(), y.numpy())
    np.testing.assert_array_equal(dy.numpy(), x.numpy())
    assert x.grad is None and y.grad is None and not dx.requires_grad


def test_grad_takes_a_cotangent_and_non_leaf_inputs():
    x = leaf([1.0, -2.0, 3.0])
    hidden = x * x
    out = hidden.exp()
    v = np.array([0.5, 2.0, -1.0])
    (d_hidden,) = autograd.grad(out, hidden, grad_outputs=Tensor(v))
    np.testing.assert_allclose(d_hidden.numpy(), v * np.exp(x.numpy()**2))


def test_an_unused_input_raises_unless_allowed():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(1,\)\) was not used.*allow_unused=True"):
        autograd.grad((x * 2).sum(), (x, unused), retain_graph=True)
    assert autograd.grad((x * 2).sum(), (x, unused), allow_unused=True)[1] is None


def test_create_graph_makes_gradients_differentiable_to_any_order():
    x = leaf([0.5, -1.5])
    (first,) = autograd.grad((x**4).sum(), x, create_graph=True)
    (second,) = autograd.grad(first.sum(), x, create_graph=True)
    (third,) = autograd.grad(second.sum(), x)
    np.testing.assert_allclose(first.numpy(), 4 * x.numpy()**3)
    np.testing.assert_allclose(second.numpy(), 12 * x.numpy()**2)
    np.testing.assert_allclose(third.numpy(), 24 * x.numpy())


def test_backward_with_create_graph_leaves_a_grad_that_carries_a_graph():
    x = leaf([2.0, 3.0])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    (second,) = autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())


def test_without_create_graph_backward_records_nothing():
    x = leaf([2.0])
    (x * x).sum().backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_backward_inputs_accumulates_only_into_those():
    x, y = leaf([1.0]), leaf([2.0])
    hidden = x * y
    (hidden * 3).sum().backward(inputs=[x, hidden])
    assert y.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [6.0])
    np.testing.assert_array_equal(hidden.grad.numpy(), [3.0])


def test_retain_graph_defaults_to_create_graph():
    x = leaf([1.0])
    loss = (x.exp() * x).sum()
    autograd.grad(loss, x, create_graph=True)
    autograd.grad(loss, x)  # the graph survived the first call
    with pytest.raises(RuntimeError, match="already freed"):
        autograd.grad(loss, x)


def test_grad_mode_switches_nest_like_pytorchs():
    x = leaf([1.0])
    with no_grad():
        assert not is_grad_enabled()
        with enable_grad():
            assert is_grad_enabled() and (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with set_grad_enabled(False):
        assert not is_grad_enabled()
    assert is_grad_enabled()
    set_grad_enabled(False)
    assert not is_grad_enabled()
    set_grad_enabled(True)


class Cube(Function):
    """x ** 3 with its backward in Tensor ops: differentiable again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.numpy()**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class ScaledExp(Function):
    """scale * exp(x), saving its own output; ``scale`` is a non-tensor argument."""

    @staticmethod
    def forward(ctx, x, scale):
        out = scale * np.exp(x.numpy())
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out, None


def test_a_custom_function_has_first_and_second_order_gradients():
    x = leaf([0.5, -2.0])
    y = Cube.apply(x)
    assert y.grad_fn.op_name == "Cube" and y.grad_fn.needs_input_grad == (True,)
    (first,) = autograd.grad(y.sum(), x, create_graph=True)
    (second,) = autograd.grad(first.sum(), x)
    np.testing.assert_allclose(first.numpy(), 3 * x.numpy()**2)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy())


def test_a_custom_function_that_saves_its_output_is_differentiable_again():
    x = leaf([0.5, 1.0])
    y = ScaledExp.apply(x, 2.0)
    assert y.grad_fn.needs_input_grad == (True, False)
    (first,) = autograd.grad(y.sum(), x, create_graph=True)
    (second,) = autograd.grad(first.sum(), x)
    np.testing.assert_allclose(first.numpy(), 2 * np.exp(x.numpy()))
    np.testing.assert_allclose(second.numpy(), 2 * np.exp(x.numpy()))


def test_a_function_forward_runs_without_recording_and_may_use_tensor_ops():
    class Softplus(Function):
        @staticmethod
        def forward(ctx, x):
            assert not is_grad_enabled()
            ctx.save_for_backward(x)
            return (x.exp() + 1).log()

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.sigmoid()

    x = leaf([-1.0, 0.0, 2.0])
    out = Softplus.apply(x)
    assert out.grad_fn.op_name == "Softplus" and [p is x for p in out.grad_fn.parents] == [True]
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (1 + np.exp(-x.numpy())))


def test_save_for_backward_refuses_what_is_not_a_tensor():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward("not a tensor")
            return x.numpy()

    with pytest.raises(TypeError, match=r"Bad\.save_for_backward takes tensors and arrays, got str"):
        Bad.apply(leaf([1.0]))


def test_a_function_that_returns_no_array_says_so():
    class Named(Function):
        @staticmethod
        def forward(ctx, x):
            return "x"

    with pytest.raises(TypeError, match=r"Named\.forward must return Tensors or arrays.*got str"):
        Named.apply(leaf([1.0]))


class SinCos(Function):
    """Two outputs that save themselves: sin x and cos x, with d sin = cos, d cos = -sin."""

    @staticmethod
    def forward(ctx, x):
        sin, cos = np.sin(x.numpy()), np.cos(x.numpy())
        ctx.save_for_backward(sin, cos)
        return sin, cos

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        sin, cos = ctx.saved_tensors
        return grad_sin * cos - grad_cos * sin


def test_a_function_with_several_outputs_gets_one_gradient_per_output():
    rng = np.random.default_rng(3)
    x = leaf(rng.normal(size=(2, 3)))
    sin, cos = SinCos.apply(x)
    assert sin.grad_fn is not cos.grad_fn and sin.grad_fn.parents == cos.grad_fn.parents
    u, v = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    # Each output used twice (fan-out through the edges), at random cotangents.
    out = (sin * Tensor(u)).sum() + (cos * Tensor(v)).sum() + (sin * cos).sum()
    out.backward()
    s, c = np.sin(x.numpy()), np.cos(x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), u * c - v * s + c * c - s * s, rtol=1e-12)


def test_an_output_with_no_gradient_gets_zeros_or_none_when_asked():
    seen = []

    class Split(Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x.numpy()[:1].copy(), x.numpy()[1:].copy()

        @staticmethod
        def backward(ctx, first, rest):
            seen.append(rest)
            fill = [np.zeros(1) if first is None else first.numpy(), np.zeros(2) if rest is None else rest.numpy()]
            return Tensor(np.concatenate(fill))

    for materialize in (True, False):
        x = leaf([1.0, 2.0, 3.0])
        first, _ = Split.apply(x, materialize)
        (first * 5).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [5.0, 0.0, 0.0])
    np.testing.assert_array_equal(seen[0].numpy(), [0.0, 0.0])
    assert seen[1] is None


def test_several_outputs_go_to_second_order_and_integer_outputs_need_no_gradient():
    class MaxWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            index = x.numpy().argmax(1)
            ctx.index = index
            ctx.save_for_backward(x)
            return np.take_along_axis(x.numpy(), index[:, None], 1)[:, 0] ** 2, index

        @staticmethod
        def backward(ctx, grad, grad_index):
            (x,) = ctx.saved_tensors
            hot = Tensor((np.arange(x.shape[1]) == ctx.index[:, None]).astype(x.dtype))
            return (grad.reshape(-1, 1) * hot) * (x * 2)

    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4))
    values, index = MaxWithIndex.apply(leaf(x))
    assert not index.requires_grad and index.dtype == np.int64 and values.requires_grad
    assert autograd.gradcheck(lambda t: MaxWithIndex.apply(t)[0], x)
    assert autograd.gradgradcheck(lambda t: MaxWithIndex.apply(t)[0], x)
    assert autograd.gradgradcheck(lambda t: SinCos.apply(t)[0] * SinCos.apply(t)[1], rng.normal(size=(2, 2)))


def test_several_outputs_match_pytorch():
    torch = pytest.importorskip("torch")

    class TorchSinCos(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, grad_sin, grad_cos):
            (x,) = ctx.saved_tensors
            return grad_sin * x.cos() - grad_cos * x.sin()

    rng = np.random.default_rng(7)
    x, u = rng.normal(size=4), rng.normal(size=4)
    ours = leaf(x)
    sin, cos = SinCos.apply(ours)
    (first,) = autograd.grad((sin * Tensor(u)).sum() + (cos**3).sum(), ours, create_graph=True)
    (second,) = autograd.grad((first * Tensor(u)).sum(), ours)
    theirs = torch.tensor(x, requires_grad=True)
    tsin, tcos = TorchSinCos.apply(theirs)
    (tfirst,) = torch.autograd.grad((tsin * torch.tensor(u)).sum() + (tcos**3).sum(), theirs, create_graph=True)
    (tsecond,) = torch.autograd.grad((tfirst * torch.tensor(u)).sum(), theirs)
    np.testing.assert_allclose(first.numpy(), tfirst.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(second.numpy(), tsecond.numpy(), rtol=1e-12)


def test_a_gradient_of_the_wrong_shape_is_named():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x.numpy() * 2

        @staticmethod
        def backward(ctx, grad):
            return Tensor(np.ones(5))

    with pytest.raises(
        ValueError, match=r"Wrong.backward returned a gradient of shape \(5,\) for an input of shape \(2,\)"
    ):
        Wrong.apply(leaf([1.0, 2.0])).sum().backward()


def test_a_reused_node_sums_three_contributions_without_aliasing():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    out = (h * 2 + h * 3 + h * 4).sum()  # three consumers of h: the third is added in place
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 9.0])


def test_grads_left_by_create_graph_share_nothing_and_accumulate_apart():
    a, b = leaf([1.0]), leaf([2.0])
    (a + b).sum().backward(create_graph=True)  # add sends one gradient to both leaves
    assert a.grad is not b.grad and a.grad.numpy() is not b.grad.numpy()
    (a + b * 3).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [4.0])


class SharedGradient(Function):
    """``a + b`` whose backward returns one new tensor for both inputs."""

    @staticmethod
    def forward(ctx, a, b):
        return a.numpy() + b.numpy()

    @staticmethod
    def backward(ctx, grad):
        shared = grad * 1.0
        return shared, shared


def test_one_gradient_returned_for_two_leaves_gives_each_its_own_array():
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    SharedGradient.apply(a, b).sum().backward()
    a.grad.add_(1.0)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(3))
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
