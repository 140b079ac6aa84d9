"""Creation, randomness, dtypes and devices: PyTorch's names, dtype inference and errors."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import nn

# ----- dtypes -------------------------------------------------------------------------


def test_dtype_objects_interoperate_with_numpy() -> None:
    assert tm.float is tm.float32 and tm.long is tm.int64 and tm.half is tm.float16 and tm.double is tm.float64
    assert tm.float32 == np.float32 and tm.float32 == np.dtype("float32") and tm.float32 != tm.float64
    assert np.dtype(tm.int64) == np.int64 and np.zeros(2).astype(tm.float32).dtype == np.float32
    assert repr(tm.float32) == "tinygrad_mnist.float32" and pickle.loads(pickle.dumps(tm.uint8)) is tm.uint8
    assert {tm.float32: 1}[tm.float32] == 1 and hash(tm.float32) == hash(np.dtype(np.float32))
    assert tm.float16.is_floating_point and not tm.int8.is_floating_point and not tm.uint8.is_signed
    assert tm.int32.is_signed and tm.float64.itemsize == 8 and tm.bool.itemsize == 1


def test_tensor_dtype_is_the_dtype_object() -> None:
    t = tm.tensor([1.0])
    assert t.dtype is tm.float32 and t.dtype == np.float32 and t.numpy().dtype == np.float32
    wide = tm.Tensor(np.zeros(1, dtype=np.longdouble)).dtype  # a NumPy dtype PyTorch has no name for
    assert wide == np.longdouble and wide.is_floating_point and pickle.loads(pickle.dumps(wide)) is wide


def test_default_dtype() -> None:
    assert tm.get_default_dtype() is tm.float32
    tm.set_default_dtype(tm.float64)
    try:
        assert tm.tensor([1.5]).dtype is tm.float64 and tm.zeros(2).dtype is tm.float64
        assert tm.rand(2).dtype is tm.float64 and tm.arange(0.0, 1.0, 0.5).dtype is tm.float64
        assert tm.tensor([1]).dtype is tm.int64
    finally:
        tm.set_default_dtype(tm.float32)
    with pytest.raises(TypeError, match="float32 and float64"):
        tm.set_default_dtype(tm.int64)


def test_finfo_iinfo() -> None:
    assert tm.finfo(tm.float32).eps == np.finfo(np.float32).eps and tm.finfo().tiny == np.finfo(np.float32).tiny
    assert tm.finfo(tm.float16).max == 65504.0 and tm.iinfo(tm.uint8).max == 255 and tm.iinfo(tm.int8).min == -128
    with pytest.raises(TypeError, match="iinfo"):
        tm.finfo(tm.int64)
    with pytest.raises(TypeError, match="finfo"):
        tm.iinfo(tm.float32)


# ----- creation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        ([1.0, 2.0], tm.float32),
        ([1, 2], tm.int64),
        ([1, 2.5], tm.float32),
        ([True, False], tm.bool),
        ([[1, 2], [3, 4]], tm.int64),
        (3, tm.int64),
        (3.0, tm.float32),
        (np.arange(3, dtype=np.int32), tm.int32),
        (np.zeros(2), tm.float64),
        (np.float64(1.5), tm.float64),
    ],
)
def test_tensor_infers_pytorchs_dtype(data: object, dtype: tm.dtype) -> None:
    t = tm.tensor(data)
    assert t.dtype is dtype and t.shape == np.shape(data)
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_tensor_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    for data in ([1.0, 2.0], [1, 2], [True], [[1, 2.5]], 7, 2.5):
        assert str(tm.tensor(data).dtype).split(".")[1] == str(torch.tensor(data).dtype).split(".")[1]


def test_tensor_copies_and_from_numpy_shares() -> None:
    array = np.zeros(3, dtype=np.float32)
    copied, shared, as_t = tm.tensor(array), tm.from_numpy(array), tm.as_tensor(array)
    array[0] = 5
    assert copied.numpy()[0] == 0 and shared.numpy()[0] == 5 and as_t.numpy()[0] == 5
    source = tm.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="clone"):
        again = tm.tensor(source)
    assert not again.requires_grad and again.numpy() is not source.numpy()
    assert tm.as_tensor(source) is source and tm.as_tensor([1, 2], dtype=tm.float64).dtype is tm.float64
    with pytest.raises(TypeError, match=r"np\.ndarray"):
        tm.from_numpy([1, 2])
    with pytest.raises(TypeError, match="cannot be a tensor"):
        tm.from_numpy(np.array(["a"]))


def test_tensor_arguments() -> None:
    t = tm.tensor([1, 2], dtype=tm.float64, requires_grad=True, device="cpu")
    assert t.dtype is tm.float64 and t.requires_grad and t.is_leaf
    with pytest.raises(TypeError, match="floating"):
        tm.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("fn", [tm.zeros, tm.ones, tm.empty, tm.rand, tm.randn])
def test_sizes_in_three_forms(fn: object) -> None:
    for size in ((2, 3), ((2, 3),), ([2, 3],)):
        out = fn(*size)
        assert out.shape == (2, 3) and out.dtype is tm.float32
    assert fn(2, dtype=tm.float64).dtype is tm.float64 and fn(2, requires_grad=True).requires_grad


def test_zeros_ones_full() -> None:
    np.testing.assert_array_equal(tm.zeros(2).numpy(), [0, 0])
    np.testing.assert_array_equal(tm.ones(2, dtype=tm.int64).numpy(), [1, 1])
    assert tm.ones(2, dtype=tm.int64).dtype is tm.int64 and tm.zeros(()).shape == ()
    assert tm.full((2,), 3).dtype is tm.int64 and tm.full((2,), 3.0).dtype is tm.float32
    assert tm.full((2,), True).dtype is tm.bool and tm.full([2, 2], 7.0).numpy().tolist() == [[7, 7], [7, 7]]


def test_like_functions() -> None:
    x = tm.tensor([[1, 2, 3]], dtype=tm.float64)
    for fn in (tm.zeros_like, tm.ones_like, tm.empty_like, tm.rand_like, tm.randn_like):
        out = fn(x)
        assert out.shape == (1, 3) and out.dtype is tm.float64
    assert tm.zeros_like(x, dtype=tm.int64).dtype is tm.int64 and tm.ones_like(x).numpy().sum() == 3
    assert tm.full_like(x, 4).numpy().tolist() == [[4, 4, 4]] and tm.full_like(x, 4).dtype is tm.float64
    ids = tm.randint_like(tm.zeros(1000, dtype=tm.int64), 3, 7)
    assert ids.dtype is tm.int64 and ids.numpy().min() == 3 and ids.numpy().max() == 6
    assert tm.randint_like(tm.zeros(50), 2).numpy().max() <= 1
    with pytest.raises(TypeError, match="floating"):
        tm.rand_like(tm.tensor([1, 2]))


@pytest.mark.parametrize(
    "args", [(5,), (2, 7), (1, 10, 3), (10, 1, -3), (0.0, 1.0, 0.1), (1, 2.5, 0.5), (-1.5, 1), (0, 0), (5, 0, -1)]
)
def test_arange_matches_numpy_and_torch(args: tuple[float, ...]) -> None:
    out = tm.arange(*args)
    whole = all(isinstance(a, int) for a in args)
    assert out.dtype is (tm.int64 if whole else tm.float32)
    np.testing.assert_allclose(out.numpy(), np.arange(*args), rtol=1e-6, atol=1e-7)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(out.numpy(), torch.arange(*args).numpy(), rtol=1e-6, atol=1e-7)


def test_arange_errors_and_dtype() -> None:
    assert tm.arange(3, dtype=tm.float64).dtype is tm.float64
    with pytest.raises(ValueError, match="nonzero"):
        tm.arange(0, 3, 0)
    with pytest.raises(ValueError, match="step sign"):
        tm.arange(0, 3, -1)


def test_linspace_logspace_eye() -> None:
    np.testing.assert_allclose(tm.linspace(-1, 1, 5).numpy(), [-1, -0.5, 0, 0.5, 1])
    assert tm.linspace(0, 1, 5).dtype is tm.float32 and tm.linspace(0, 1, 0).shape == (0,)
    np.testing.assert_allclose(tm.logspace(0, 2, 3).numpy(), [1, 10, 100])
    np.testing.assert_allclose(tm.logspace(0, 3, 4, base=2).numpy(), [1, 2, 4, 8])
    assert tm.eye(3).numpy().trace() == 3 and tm.eye(2, 3).shape == (2, 3) and tm.eye(2).dtype is tm.float32
    with pytest.raises(ValueError, match="non-negative"):
        tm.linspace(0, 1, -1)
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(tm.linspace(-2, 3, 7).numpy(), torch.linspace(-2, 3, 7).numpy(), rtol=1e-6)
    np.testing.assert_allclose(tm.logspace(-1, 1, 4).numpy(), torch.logspace(-1, 1, 4).numpy(), rtol=1e-6)


# ----- randomness -------------------------------------------------------------------------


def _draws(generator: tm.Generator | None = None) -> list[np.ndarray]:
    return [
        tm.rand(3, generator=generator).numpy(),
        tm.randn(2, 2, generator=generator).numpy(),
        tm.randint(0, 10, (4,), generator=generator).numpy(),
        tm.randperm(5, generator=generator).numpy(),
        tm.normal(0.0, 1.0, (2,), generator=generator).numpy(),
        tm.multinomial(tm.tensor([0.2, 0.3, 0.5]), 2, generator=generator).numpy(),
        tm.bernoulli(tm.full((4,), 0.5), generator=generator).numpy(),
    ]


def test_same_seed_same_numbers() -> None:
    tm.manual_seed(123)
    first = _draws()
    tm.manual_seed(123)
    for a, b in zip(first, _draws(), strict=True):
        np.testing.assert_array_equal(a, b)
    tm.manual_seed(124)
    assert not np.array_equal(first[1], _draws()[1])


def test_generator_is_independent_of_the_default() -> None:
    g = tm.Generator().manual_seed(7)
    assert isinstance(g.manual_seed(7), tm.Generator) and g.initial_seed() == 7
    tm.manual_seed(0)
    expected = tm.rand(3).numpy()
    tm.manual_seed(0)
    mine = tm.rand(3, generator=g).numpy()
    np.testing.assert_array_equal(tm.rand(3).numpy(), expected)  # g's draw did not advance the default
    np.testing.assert_array_equal(mine, tm.rand(3, generator=tm.Generator().manual_seed(7)).numpy())


def test_generator_state_round_trip_and_seeds() -> None:
    g = tm.Generator().manual_seed(3)
    state = g.get_state()
    first = tm.randn(4, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(tm.randn(4, generator=g).numpy(), first)
    tm.manual_seed(11)
    assert tm.initial_seed() == 11 and tm.default_generator.initial_seed() == 11
    saved = tm.get_rng_state()
    a = tm.rand(2).numpy()
    tm.set_rng_state(saved)
    np.testing.assert_array_equal(tm.rand(2).numpy(), a)
    assert tm.seed() == tm.initial_seed()
    assert tm.Generator().initial_seed() == 67280421310721  # PyTorch's default seed


def test_distributions_moments() -> None:
    g = tm.Generator().manual_seed(0)
    u, n = tm.rand(20000, generator=g).numpy(), tm.randn(20000, generator=g).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    shifted = tm.normal(3.0, 2.0, size=(20000,), generator=g).numpy()
    assert abs(shifted.mean() - 3) < 0.06 and abs(shifted.std() - 2) < 0.06
    ids = tm.randint(2, 5, (20000,), generator=g).numpy()
    assert set(np.unique(ids)) == {2, 3, 4} and abs(ids.mean() - 3) < 0.03
    counts = np.bincount(tm.multinomial(tm.tensor([1.0, 3.0]), 20000, True, generator=g).numpy(), minlength=2)
    assert abs(counts[1] / 20000 - 0.75) < 0.02
    assert abs(tm.bernoulli(tm.full((20000,), 0.3), generator=g).numpy().mean() - 0.3) < 0.02
    filled = tm.zeros(20000).uniform_(-2, 2, generator=g).numpy()
    assert filled.min() >= -2 and filled.max() < 2 and abs(filled.mean()) < 0.05
    normal = tm.zeros(20000, dtype=tm.float64).normal_(1, 0.5, generator=g).numpy()
    assert abs(normal.mean() - 1) < 0.02 and abs(normal.std() - 0.5) < 0.02
    assert abs(tm.zeros(20000).bernoulli_(0.8, generator=g).numpy().mean() - 0.8) < 0.02


def test_random_dtypes_and_shapes() -> None:
    assert tm.randint(10, (2, 3)).dtype is tm.int64 and tm.randint(3, 10, size=(4,)).shape == (4,)
    assert tm.randperm(6).dtype is tm.int64 and sorted(tm.randperm(6).numpy()) == list(range(6))
    mean = tm.zeros(3, dtype=tm.float64)
    assert tm.normal(mean, 1.0).dtype is tm.float64 and tm.normal(mean, tm.ones(2, 1, dtype=tm.float64)).shape == (2, 3)
    assert tm.normal(0.0, tm.ones(4)).shape == (4,)
    picks = tm.multinomial(tm.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]), 2)
    assert (
        picks.shape == (2, 2) and picks.dtype is tm.int64 and all(len(set(row)) == 2 for row in picks.numpy().tolist())
    )
    assert 0 not in picks.numpy()[0] and 1 not in picks.numpy()[1]
    assert tm.bernoulli(tm.zeros(3, dtype=tm.float64)).dtype is tm.float64


def test_random_errors() -> None:
    with pytest.raises(ValueError, match="without replacement"):
        tm.multinomial(tm.tensor([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        tm.multinomial(tm.tensor([-1.0, 2.0]), 1)
    with pytest.raises(ValueError, match="greater than low"):
        tm.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="size"):
        tm.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="floating"):
        tm.rand(2, dtype=tm.int64)
    with pytest.raises(TypeError, match="Generator"):
        tm.rand(2, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="floating"):
        tm.zeros(2, dtype=tm.int64).uniform_()
    with pytest.raises(RuntimeError, match="leaf"):
        tm.zeros(2, requires_grad=True).normal_()


def test_manual_seed_controls_layers_and_dropout() -> None:
    tm.manual_seed(5)
    a = nn.Linear(3, 2).weight.numpy().copy()
    drop_a = nn.Dropout(0.5)(tm.ones(50)).numpy()
    tm.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.numpy(), a)
    np.testing.assert_array_equal(nn.Dropout(0.5)(tm.ones(50)).numpy(), drop_a)
    nn.init.manual_seed(5)  # the older name reseeds the same generator
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.numpy(), a)
    w = tm.zeros(2, 3)
    nn.init.normal_(w, generator=tm.Generator().manual_seed(1))
    np.testing.assert_array_equal(w.numpy(), tm.zeros(2, 3).normal_(generator=tm.Generator().manual_seed(1)).numpy())


# ----- devices -----------------------------------------------------------------------------


def test_devices() -> None:
    assert tm.device("cpu") == tm.device("cpu") and str(tm.device("cpu:0")) == "cpu:0"
    assert tm.device("cpu", 0).index == 0 and repr(tm.device("cpu")) == "device(type='cpu')"
    assert tm.zeros(2).device == tm.device("cpu") and tm.zeros(2, device=tm.device("cpu")).shape == (2,)
    assert not tm.cuda.is_available() and tm.cuda.device_count() == 0 and not tm.backends.mps.is_available()
    t = tm.ones(2)
    assert t.cpu() is t and t.to("cpu") is t and t.to(tm.device("cpu")) is t
    for ask in (lambda: tm.device("cuda"), lambda: t.cuda(), lambda: t.to("cuda:0"), lambda: tm.zeros(2, device="mps")):
        with pytest.raises(RuntimeError, match=r"CPU only.*cuda\.is_available"):
            ask()


def test_module_to_device_and_dtype() -> None:
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.cpu() is model and model.weight.dtype is tm.float32
    assert model.to(tm.device("cpu"), tm.float64).weight.dtype is tm.float64
    assert model.to(tm.zeros(1)).bias.dtype is tm.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        model.cuda()
    with pytest.raises(TypeError, match="floating"):
        model.to(tm.int64)


# ----- conversions ----------------------------------------------------------------------------


def test_conversions() -> None:
    x = tm.tensor([1.7, -2.2, 0.0])
    expected = {"float": tm.float32, "double": tm.float64, "half": tm.float16, "long": tm.int64, "int": tm.int32,
                "short": tm.int16, "byte": tm.uint8, "bool": tm.bool}  # fmt: skip
    for name, dtype in expected.items():
        assert getattr(x, name)().dtype is dtype
    assert x.long().numpy().tolist() == [1, -2, 0] and x.bool().numpy().tolist() == [True, True, False]
    assert (
        x.float() is x and x.type() == "tinygrad_mnist.FloatTensor" and x.long().type() == "tinygrad_mnist.LongTensor"
    )
    assert x.type(tm.float64).dtype is tm.float64 and x.type_as(tm.tensor([1])).dtype is tm.int64
    assert x.to(tm.tensor([1.0], dtype=tm.float64)).dtype is tm.float64 and x.to("cpu", tm.float16).dtype is tm.float16
    assert x.to(dtype=tm.int64, device="cpu").dtype is tm.int64 and x.to(tm.float32, copy=True) is not x
    assert x.is_floating_point() and not x.long().is_floating_point()
    assert x.element_size() == 4 and x.double().element_size() == 8 and x.bool().element_size() == 1
    with pytest.raises(TypeError, match="keyword"):
        x.to(tm.float64, banana=1)


def test_casts_and_gradients() -> None:
    x = tm.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad and not x.bool().requires_grad and x.long().grad_fn is None
    y = x.double()
    assert y.requires_grad and y.dtype is tm.float64
    (y * y).sum().backward()
    assert x.grad.dtype is tm.float32 and x.grad.numpy().tolist() == [3.0, 5.0]
    h = x.half()
    assert h.requires_grad and h.dtype is tm.float16
    with pytest.raises(TypeError, match="floating"):
        x.long().requires_grad_()


def test_conversions_match_torch() -> None:
    torch = pytest.importorskip("torch")
    values = [1.7, -2.2, 0.0, 300.0]
    for name in ("long", "int", "bool", "half", "double"):
        ours = getattr(tm.tensor(values), name)().numpy()
        np.testing.assert_array_equal(ours, getattr(torch.tensor(values), name)().numpy())


# ----- inference mode ----------------------------------------------------------------------------


def test_inference_mode() -> None:
    x = tm.tensor([1.0], requires_grad=True)
    assert not tm.is_inference_mode_enabled()
    with tm.inference_mode():
        assert not tm.is_grad_enabled() and tm.is_inference_mode_enabled() and not (x * 2).requires_grad
        with tm.inference_mode(False):
            assert not tm.is_inference_mode_enabled() and not tm.is_grad_enabled()
    assert tm.is_grad_enabled() and not tm.is_inference_mode_enabled()
    with tm.inference_mode(mode=False):
        assert tm.is_grad_enabled() and (x * 2).requires_grad

    @tm.inference_mode()
    def evaluate() -> bool:
        return (x * 2).requires_grad or tm.is_grad_enabled()

    assert evaluate() is False and evaluate() is False and tm.is_grad_enabled()


def test_no_warning_from_plain_creation() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tm.tensor([1.0]), tm.tensor(np.zeros(2))
