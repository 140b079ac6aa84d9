"""nn.init against PyTorch: exact values for the deterministic initialisers, the same distributions for the rest.

Random initialisers cannot match PyTorch's numbers (its random stream is its own), so each is compared by the
statistics of a large draw: the bounds, the mean and the standard deviation, with tolerances from the sample size.
"""

import math

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import nn

torch = pytest.importorskip("torch")

#: Draws per random test: the sample std of n normal draws is off by 1/sqrt(2n) = 0.18% (one sd) of itself.
BIG = (256, 64, 3, 3)
SHAPES = [(3, 4), (8, 3, 5, 5), (2, 6, 3), (4, 2, 1, 2, 3), (1, 1)]


def pair(shape, dtype=np.float32):
    return tm.Tensor(np.zeros(shape, dtype=dtype)), torch.zeros(shape, dtype=getattr(torch, np.dtype(dtype).name))


@pytest.mark.parametrize(
    "nonlinearity",
    ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid",
     "tanh", "relu", "selu"],
)  # fmt: skip
def test_gains_are_pytorchs(nonlinearity):
    assert nn.init.calculate_gain(nonlinearity) == torch.nn.init.calculate_gain(nonlinearity)


@pytest.mark.parametrize("slope", [None, 0, 0.2, 1, 3.5])
def test_leaky_relu_gain_uses_the_slope_as_pytorch(slope):
    assert nn.init.calculate_gain("leaky_relu", slope) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-15
    )


def test_bad_gains_are_refused():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        nn.init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True is not a valid number"):
        nn.init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_are_pytorchs_for_linear_and_conv_weights(shape):
    ours, theirs = pair(shape)
    assert nn.init._calculate_fan_in_and_fan_out(ours) == torch.nn.init._calculate_fan_in_and_fan_out(theirs)


@pytest.mark.parametrize(
    "name, args",
    [("constant_", (0.25,)), ("ones_", ()), ("zeros_", ())],
)
@pytest.mark.parametrize("shape", SHAPES)
def test_constant_fills_are_pytorchs(name, args, shape):
    ours, theirs = pair(shape)
    assert getattr(nn.init, name)(ours, *args) is ours
    getattr(torch.nn.init, name)(theirs, *args)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_is_pytorchs(shape):
    ours, theirs = pair(shape, np.float64)
    nn.init.eye_(ours)
    np.testing.assert_array_equal(ours.numpy(), torch.nn.init.eye_(theirs).numpy())


@pytest.mark.parametrize("shape, groups", [((4, 3, 3), 1), ((6, 2, 3, 4), 2), ((4, 4, 3, 3, 3), 1), ((2, 5, 2, 2), 1)])
def test_dirac_is_pytorchs(shape, groups):
    ours, theirs = pair(shape)
    nn.init.dirac_(ours, groups)
    np.testing.assert_array_equal(ours.numpy(), torch.nn.init.dirac_(theirs, groups).numpy())


def test_deterministic_initialisers_refuse_the_wrong_shapes():
    with pytest.raises(ValueError, match="only tensors with 2 dimensions"):
        nn.init.eye_(tm.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"dim 0 \(3\) must be divisible by groups \(2\)"):
        nn.init.dirac_(tm.zeros(3, 2, 3), groups=2)
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        nn.init.dirac_(tm.zeros(3, 2))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tm.zeros(5))
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        nn.init.kaiming_normal_(tm.zeros(3, 3), mode="fan_avg")


def assert_same_distribution(ours, theirs, uniform):
    """Same mean and std (and the same bound, for uniform draws) up to several sds of the sample statistics."""
    a, b = ours.numpy().astype(np.float64).ravel(), theirs.numpy().astype(np.float64).ravel()
    std = b.std()
    assert abs(a.mean() - b.mean()) < 6 * std / math.sqrt(len(a))
    assert abs(a.std() / std - 1) < 6 * math.sqrt(2) / math.sqrt(2 * len(a))
    if uniform:
        assert abs(np.abs(a).max() / np.abs(b).max() - 1) < 1e-3 and np.abs(a).max() <= np.abs(b).max() * 1.0001


RANDOM_CASES = [
    ("uniform_", {"a": -0.5, "b": 2.0}, True),
    ("normal_", {"mean": 0.5, "std": 2.0}, False),
    ("xavier_uniform_", {"gain": 1.5}, True),
    ("xavier_normal_", {"gain": 0.5}, False),
    ("kaiming_uniform_", {}, True),
    ("kaiming_uniform_", {"a": 0.3, "mode": "fan_out"}, True),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, True),
    ("kaiming_normal_", {}, False),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "tanh"}, False),
    ("kaiming_normal_", {"a": 2.0, "mode": "fan_in", "nonlinearity": "leaky_relu"}, False),
]


@pytest.mark.parametrize("name, options, uniform", RANDOM_CASES)
def test_random_initialisers_draw_pytorchs_distribution(name, options, uniform):
    ours, theirs = pair(BIG)
    assert getattr(nn.init, name)(ours, **options, generator=tm.Generator().manual_seed(0)) is ours
    getattr(torch.nn.init, name)(theirs, **options, generator=torch.Generator().manual_seed(0))
    assert ours.dtype == tm.float32
    assert_same_distribution(ours, theirs, uniform)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0), (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal_keeps_to_its_bounds_and_matches_pytorch(mean, std, a, b):
    ours, theirs = pair(BIG)
    nn.init.trunc_normal_(ours, mean, std, a, b, generator=tm.Generator().manual_seed(0))
    torch.nn.init.trunc_normal_(theirs, mean, std, a, b, generator=torch.Generator().manual_seed(0))
    values = ours.numpy()
    assert values.min() >= a and values.max() <= b
    assert values.min() < a + 0.01 * (b - a) and values.max() > b - 0.01 * (b - a)
    assert_same_distribution(ours, theirs, uniform=False)


def test_trunc_normal_refuses_bounds_holding_nothing():
    with pytest.raises(ValueError, match=r"a \(1.0\) must be below the upper bound b"):
        nn.init.trunc_normal_(tm.zeros(3), a=1.0, b=0.0)
    with pytest.warns(UserWarning, match="more than 2 std"), pytest.raises(ValueError, match="move the bounds"):
        nn.init.trunc_normal_(tm.zeros(3), mean=0.0, std=1.0, a=8.0, b=9.0)


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 2, 3, 3), (5, 5)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape):
    ours, theirs = pair(shape, np.float64)
    nn.init.orthogonal_(ours, gain=2.0, generator=tm.Generator().manual_seed(1))
    torch.nn.init.orthogonal_(theirs, gain=2.0)
    for weight in (ours.numpy(), theirs.numpy()):
        flat = weight.reshape(shape[0], -1)
        np.testing.assert_allclose(np.linalg.svd(flat, compute_uv=False), 2.0, rtol=1e-12)


def test_sparse_zeros_as_many_rows_per_column_as_pytorch():
    ours, theirs = pair((200, 300))
    nn.init.sparse_(ours, 0.3, std=0.5, generator=tm.Generator().manual_seed(0))
    torch.nn.init.sparse_(theirs, 0.3, std=0.5)
    np.testing.assert_array_equal((ours.numpy() == 0).sum(axis=0), (theirs.numpy() == 0).sum(axis=0))
    kept = ours.numpy()[ours.numpy() != 0]
    assert abs(kept.std() / 0.5 - 1) < 6 / math.sqrt(2 * kept.size)


def test_kaiming_defaults_are_leaky_relu_with_slope_zero_and_fan_in():
    weight = tm.zeros(4000, 40)
    nn.init.kaiming_uniform_(weight, generator=0)
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 40)
    assert weight.numpy().max() <= bound and weight.numpy().max() > 0.999 * bound


@pytest.mark.parametrize("name, options", [(name, options) for name, options, _ in RANDOM_CASES])
def test_the_same_generator_seed_gives_the_same_weights(name, options):
    def drawn(seed):
        weight = tm.zeros(6, 5)
        getattr(nn.init, name)(weight, **options, generator=tm.Generator().manual_seed(seed))
        return weight.numpy()

    assert np.array_equal(drawn(3), drawn(3)) and not np.array_equal(drawn(3), drawn(4))


def test_initialisers_write_in_place_outside_the_graph():
    weight = nn.Parameter(tm.zeros(4, 3))
    version = weight._version
    for initialise in (nn.init.xavier_normal_, nn.init.eye_, nn.init.orthogonal_, nn.init.trunc_normal_):
        assert initialise(weight) is weight
    assert weight.is_leaf and weight.grad_fn is None and weight.requires_grad
    assert weight._version > version  # in-place writes are seen, as PyTorch's version counter sees them


def test_zero_element_kaiming_is_a_no_op_with_pytorchs_warning():
    empty = tm.zeros(0, 3)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert nn.init.kaiming_normal_(empty) is empty
