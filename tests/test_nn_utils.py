"""nn.utils against PyTorch: the same gradients clipped the same way, the same returned norms."""

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import nn

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 2, 3)]


def parameters(scale, dtype=np.float64, without_grad=True):
    """The same parameters with the same gradients in both frameworks (the last one without a gradient)."""
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [scale * rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours = [nn.Parameter(tm.tensor(v)) for v in values] + [nn.Parameter(tm.ones(2))] * without_grad
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values] + [torch.nn.Parameter(torch.ones(2))] * without_grad
    for a, b, g in zip(ours, theirs, grads):  # noqa: B905 (the parameter without a gradient is left out)
        a.grad, b.grad = tm.tensor(g), torch.tensor(g)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), 3.0, "inf"])
@pytest.mark.parametrize("scale, max_norm", [(1.0, 0.5), (0.01, 5.0), (1.0, 1e-9)])
def test_clip_grad_norm_clips_and_returns_the_norm_as_pytorch(norm_type, scale, max_norm):
    ours, theirs = parameters(scale)
    norm = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(norm, tm.Tensor) and norm.shape == ()
    np.testing.assert_allclose(norm.numpy(), expected.numpy(), rtol=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        if b.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_in_float32_and_on_a_single_tensor():
    ours, theirs = parameters(3.0, np.float32, without_grad=False)
    norm = nn.utils.clip_grad_norm_(ours[0], 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs[0], 1.0)
    assert norm.dtype == tm.float32
    np.testing.assert_allclose(norm.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ours[1].grad.numpy(), theirs[1].grad.numpy())  # not passed, not clipped


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf * 0, as in PyTorch
def test_non_finite_norms_raise_only_when_asked():
    ours, _ = parameters(1.0)
    ours[0].grad.numpy()[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite, so it cannot be clipped"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert np.isinf(nn.utils.clip_grad_norm_(ours, 1.0).numpy())


def test_no_gradients_give_a_zero_norm_and_an_empty_generator_warns():
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(tm.ones(2))], 1.0)) == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        nn.utils.clip_grad_norm_((p for p in []), 1.0)


def test_clip_grad_value_is_pytorchs():
    ours, theirs = parameters(2.0)
    assert nn.utils.clip_grad_value_(ours, 0.7) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for a, b in zip(ours[:-1], theirs[:-1], strict=True):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_parameters_to_vector_and_back_are_pytorchs():
    ours, theirs = parameters(1.0, without_grad=False)
    vector = nn.utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(vector.numpy(), torch.nn.utils.parameters_to_vector(theirs).detach().numpy())
    cotangent = np.random.default_rng(1).standard_normal(vector.shape)
    vector.backward(tm.tensor(cotangent))
    torch.nn.utils.parameters_to_vector(theirs).backward(torch.tensor(cotangent))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    new = np.arange(vector.numel(), dtype=np.float64)
    nn.utils.vector_to_parameters(tm.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(TypeError, match="expected torch\\.Tensor, but got: ndarray"):
        nn.utils.vector_to_parameters(new, ours)
    with pytest.raises(ValueError, match=r"vec has shape \(3,\), but the parameters hold 28 numbers"):
        nn.utils.vector_to_parameters(tm.zeros(3), ours)
