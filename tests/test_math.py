"""The math slice's semantics the registry battery cannot see: PyTorch's type promotion, gradients at
kinks, nan and inf, in-place forms, comparisons as bool tensors, and error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_mnist as tm
from tinygrad_mnist import Tensor
from tinygrad_mnist.ops.promotion import SCALAR, result_type, scalar_dtype, standing

DTYPES = ("bool", "uint8", "int32", "int64", "float32", "float64")
#: Operand kinds: a tensor with dimensions, a 0-d tensor, and the Python scalars.
KINDS = [(dtype, "tensor") for dtype in DTYPES] + [(dtype, "0-d") for dtype in DTYPES]
KINDS += [("int", "python"), ("float", "python"), ("bool", "python")]
_PYTHON = {"int": 2, "float": 2.0, "bool": True}


def _ours(dtype: str, kind: str):
    if kind == "python":
        return _PYTHON[dtype]
    value = np.ones((2,) if kind == "tensor" else (), dtype=dtype)
    return Tensor(value)


def _theirs(torch, dtype: str, kind: str):
    if kind == "python":
        return _PYTHON[dtype]
    return torch.from_numpy(np.ones((2,) if kind == "tensor" else (), dtype=dtype))


PAIRS = [(a, b) for a, b in itertools.product(KINDS, KINDS) if a[1] != "python"]
NUMERIC_PAIRS = [(a, b) for a, b in PAIRS if "bool" not in (a[0], b[0])]  # PyTorch refuses // and % on bools


# ----- promotion ---------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=lambda k: "-".join(k))
def test_addition_promotes_as_pytorch_on_either_side(first, second):
    torch = pytest.importorskip("torch")
    a, b = _ours(*first), _ours(*second)
    ta, tb = _theirs(torch, *first), _theirs(torch, *second)
    assert str((a + b).dtype) == str((ta + tb).dtype).replace("torch.", "tinygrad_mnist."), f"{first} + {second}"
    assert str((b + a).dtype) == str((tb + ta).dtype).replace("torch.", "tinygrad_mnist."), f"{second} + {first}"


@pytest.mark.parametrize(("first", "second"), NUMERIC_PAIRS, ids=lambda k: "-".join(k))
def test_true_division_floor_division_and_remainder_dtypes_match_pytorch(first, second):
    torch = pytest.importorskip("torch")
    a, b = _ours(*first), _ours(*second)
    ta, tb = _theirs(torch, *first), _theirs(torch, *second)
    for ours, theirs in ((a / b, ta / tb), (a // b, ta // tb), (a % b, ta % tb), (a * b, ta * tb)):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "tinygrad_mnist.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_the_rule_itself_on_the_issue_examples():
    f32, f64, i64, u8 = (np.dtype(n) for n in ("float32", "float64", "int64", "uint8"))
    assert result_type((f32, standing(np.ones(2))), (f64, standing(np.ones(())))) == f32
    assert result_type((f32, standing(np.ones(2))), (f64, standing(np.ones(2)))) == f64
    assert result_type((i64, standing(np.ones(2))), (scalar_dtype(2.0), SCALAR)) == tm.dtypes.default_float()
    assert result_type((u8, standing(np.ones(2))), (scalar_dtype(2), SCALAR)) == u8
    assert (Tensor(np.ones(2, np.uint8)) + 300 - 300).dtype == np.uint8


def test_mixed_float_gradients_come_back_in_each_inputs_dtype():
    a = Tensor(np.ones(3, np.float32), requires_grad=True)
    b = Tensor(np.full(3, 2.0), requires_grad=True)
    out = a * b
    out.sum().backward()
    assert out.dtype == np.float64 and a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), 2.0)


def test_a_python_float_never_widens_a_float_tensor():
    x = Tensor(np.ones(2, np.float32))
    assert (x * 0.1).dtype == (0.1 * x).dtype == (x / np.float64(3)).dtype == (x**0.5).dtype == np.float32
    assert (Tensor(np.arange(3)) ** 0.5).dtype == tm.dtypes.default_float()


# ----- gradients at kinks, against PyTorch ---------------------------------------------------

KINKS = {
    "abs": lambda x, t: x.abs(),
    "clamp": lambda x, t: x.clamp(0.0, 1.0),
    "clamp_min_only": lambda x, t: x.clamp(min=0.0),
    "maximum_ties": lambda x, t: x.maximum(t.zeros(3) if hasattr(t, "zeros") else Tensor(np.zeros(3))),
    "minimum_ties": lambda x, t: x.minimum(t.zeros(3) if hasattr(t, "zeros") else Tensor(np.zeros(3))),
    "relu": lambda x, t: x.relu(),
    "sign": lambda x, t: x.sign(),
    "floor": lambda x, t: x.floor(),
    "round": lambda x, t: x.round(),
    "frac": lambda x, t: x.frac(),
    "sqrt_square": lambda x, t: x.square().sqrt(),
    "remainder": lambda x, t: x % 1.0,
    "fmod": lambda x, t: x.fmod(1.0),
    "lerp": lambda x, t: x.lerp(x * 2, 0.5),
    "nan_to_num": lambda x, t: x.nan_to_num(),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_subgradients_at_kinks_equal_pytorchs(name):
    torch = pytest.importorskip("torch")
    values = np.array([-1.0, 0.0, 1.0])
    ours = Tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    KINKS[name](ours, tm).sum().backward()
    KINKS[name](theirs, torch).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), err_msg=name)


def test_pow_gradients_at_zero_base_and_zero_exponent_equal_pytorchs():
    torch = pytest.importorskip("torch")
    base, exponent = np.array([0.0, 0.0, 2.0, 0.0]), np.array([0.0, 3.0, 0.0, 0.5])
    b, e = Tensor(base, requires_grad=True), Tensor(exponent, requires_grad=True)
    tb, te = torch.tensor(base, requires_grad=True), torch.tensor(exponent, requires_grad=True)
    (b**e).sum().backward()
    (tb**te).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())
    np.testing.assert_allclose(e.grad.numpy(), te.grad.numpy())
    x = Tensor([0.0, 1.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_clamp_with_tensor_limits_sends_the_gradient_to_the_limit_crossed():
    torch = pytest.importorskip("torch")
    values, low, high = np.array([-2.0, 0.0, 0.5, 3.0]), np.array([-1.0, 0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0, 1.0])
    ours = [Tensor(v, requires_grad=True) for v in (values, low, high)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (values, low, high)]
    ours[0].clamp(ours[1], ours[2]).sum().backward()
    theirs[0].clamp(theirs[1], theirs[2]).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())


# ----- values, nan and inf --------------------------------------------------------------------


def test_nan_and_inf_handling_matches_pytorch():
    torch = pytest.importorskip("torch")
    values = np.array([-2.0, -0.0, np.nan, np.inf, -np.inf, 2.5], np.float32)
    x, t = Tensor(values), torch.from_numpy(values)
    pairs = {
        "pow": (x**0.5, t**0.5),
        "sign": (x.sign(), t.sign()),
        "nan_to_num": (x.nan_to_num(), t.nan_to_num()),
        "nan_to_num_args": (x.nan_to_num(1.0, 2.0, -3.0), t.nan_to_num(1.0, 2.0, -3.0)),
        "isnan": (x.isnan(), t.isnan()),
        "isinf": (x.isinf(), t.isinf()),
        "isfinite": (x.isfinite(), t.isfinite()),
        "maximum": (x.maximum(Tensor(np.zeros(6, np.float32))), t.maximum(torch.zeros(6))),
        "clamp": (x.clamp(-1, 1), t.clamp(-1, 1)),
        "round": (x.round(), t.round()),
        "sqrt": (x.sqrt(), t.sqrt()),
        "log": (x.log(), t.log()),
    }
    for name, (ours, theirs) in pairs.items():
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "tinygrad_mnist."), name
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=name)


def test_integer_rounding_division_and_remainders_match_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.array([-7, -6, 7, 5]), np.array([2, 4, -3, 3])
    x, y, tx, ty = Tensor(a), Tensor(b), torch.from_numpy(a), torch.from_numpy(b)
    for mode in ("trunc", "floor"):
        np.testing.assert_array_equal(x.div(y, rounding_mode=mode).numpy(), torch.div(tx, ty, rounding_mode=mode))
    np.testing.assert_array_equal(x.fmod(y).numpy(), tx.fmod(ty))
    np.testing.assert_array_equal((x % y).numpy(), tx % ty)
    np.testing.assert_array_equal(tm.floor_divide(x, y).numpy(), torch.floor_divide(tx, ty))
    assert x.div(y, rounding_mode="trunc").dtype == np.int64
    floats = np.array([-7.5, 2.5, 0.5])
    np.testing.assert_array_equal(Tensor(floats).round(decimals=0).numpy(), torch.from_numpy(floats).round())
    assert (Tensor(a).floor().dtype, Tensor(a).reciprocal().dtype) == (np.int64, np.float32)


def test_python_numbers_on_the_left():
    x = Tensor([1.0, 2.0, 4.0])
    np.testing.assert_allclose((2**x).numpy(), [2, 4, 16])
    np.testing.assert_allclose((7 // x).numpy(), [7, 3, 1])
    np.testing.assert_allclose((7 % x).numpy(), [0, 1, 3])
    np.testing.assert_array_equal((3 >= x).numpy(), [True, True, False])  # noqa: SIM300 - the reflected form


# ----- comparisons and logic -----------------------------------------------------------------


def test_comparisons_give_bool_tensors_that_need_no_grad():
    pred, target = Tensor([1, 2, 3]), np.array([1, 0, 3])
    x = Tensor([0.5, 1.5], requires_grad=True)
    assert (pred == target).sum().item() == 2
    assert (x > 1).dtype == np.bool_ and not (x > 1).requires_grad
    assert (x == x.detach()).numpy().all() and (x != 0.5).numpy().tolist() == [False, True]
    assert (Tensor(np.array([True, False])) & Tensor(np.array([True, True]))).numpy().tolist() == [True, False]
    assert (~Tensor(np.array([0, 5]))).numpy().tolist() == [-1, -6]
    assert (x == None) is False and (x != "x") is True  # noqa: E711 - Python's fallback for other objects


def test_tensors_stay_hashable_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1, b: 2}[b] == 2


def test_allclose_isclose_and_equal():
    a = Tensor([1.0, 2.0, np.nan])
    assert not a.allclose(a) and a.allclose(a, equal_nan=True)
    assert tm.allclose(Tensor([1.0]), Tensor([1.0 + 1e-9]))
    assert tm.equal(Tensor([1, 2]), Tensor([1, 2])) and not Tensor([1, 2]).equal(Tensor([[1, 2]]))
    assert a.isclose(Tensor([1.0, 2.1, np.nan])).numpy().tolist() == [True, False, False]


# ----- in-place forms ---------------------------------------------------------------------------


def test_in_place_forms_write_into_the_tensors_own_array():
    x = Tensor([-4.0, 9.0])
    array = x.numpy()
    x.abs_().sqrt_()
    x **= 2
    x.clamp_(max=10.0).neg_()
    assert x.numpy() is array and x.numpy().tolist() == [-4.0, -9.0] and x._version == 5
    n = Tensor(np.array([7, -7]))
    n //= 2
    n %= 3
    assert n.numpy().tolist() == [0, 2] and n.dtype == np.int64


def test_in_place_forms_follow_add_s_rules_for_graphs():
    leaf = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.pow_(2)
    y = leaf * 1
    y.pow_(2).exp_()
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 2 * leaf.numpy() * np.exp(leaf.numpy() ** 2), rtol=1e-6)


# ----- errors --------------------------------------------------------------------------------------


def test_errors_say_what_to_do():
    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one of 'min' and 'max'"):
        x.clamp()
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        x.div(2, rounding_mode="round")
    with pytest.raises(TypeError, match=r"bitwise_and: only bool and integer tensors.*float32"):
        x & x
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has 2 values.*ambiguous"):
        bool(x > 0)
    with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed"):
        Tensor(np.array([2])) ** -1
    with pytest.raises(ValueError, match=r"maximum: shapes \(2,\) and \(3,\) cannot be broadcast"):
        x.maximum(Tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"lt: shapes \(2,\) and \(3,\) cannot be broadcast"):
        _ = x < Tensor([1.0, 2.0, 3.0])
    assert bool(Tensor([3.0]) > 2)


def test_nan_to_num_passes_no_gradient_through_the_entries_it_replaces():
    torch = pytest.importorskip("torch")
    values = np.array([np.nan, np.inf, -np.inf, 1.5])
    ours, theirs = Tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours.nan_to_num().sum().backward()
    theirs.nan_to_num().sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
