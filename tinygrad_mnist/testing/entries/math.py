"""Registry entries of the math slice: arithmetic beyond + - * /, elementwise functions, comparisons and logic.

Domains keep finite differences away from kinks: square roots and logs of x > 0, tan near 0,
limits and maxima offset from the grid by 1/16 (no ties), divisors offset by 1/pi so that no
quotient lands on an integer. Comparisons, rounding and integer division have no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..graphs import broadcastable_shapes, shapes
from ..registry import Sample, register_op
from .samples import binary, grid_arrays, positive, unary


def _offset(x: np.ndarray) -> np.ndarray:
    """Grid values moved by 1/16: never equal to a grid value, at least 1/16 from one."""
    return x + 1 / 16


def _divisor(x: np.ndarray) -> np.ndarray:
    """Positive divisors off the grid, so that no quotient of grid values is an integer."""
    return np.abs(x) + 1 / np.pi


def _small(x: np.ndarray) -> np.ndarray:
    return x / 4


@st.composite
def _ternary(draw: st.DrawFn, second: Any = None, third: Any = None) -> Sample:
    """Three arrays: two that broadcast together, and a third of the first's shape."""
    a, b = draw(broadcastable_shapes())
    return Sample((draw(grid_arrays(a)), draw(grid_arrays(b, second)), draw(grid_arrays(a, third))))


@st.composite
def _limits(draw: st.DrawFn) -> Sample:
    """An array and tensor limits ``low < high`` off its grid."""
    shape = draw(shapes())
    low = draw(grid_arrays(shape, _offset))
    return Sample((draw(grid_arrays(shape)), low, low + np.abs(draw(grid_arrays(shape))) + 0.5))


def _unary(name: str, reference: Any, domain: Any = None, **options: Any) -> None:
    """An entry for ``x.name()``, compared with NumPy's ``reference`` and PyTorch's method of the same name."""
    register_op(
        name,
        lambda x: getattr(x, name)(),
        unary(domain),
        reference,
        lambda t, x: getattr(x, name)(),
        covers=[f"Tensor.{name}"],
        **options,
    )


def _sign(x: np.ndarray) -> np.ndarray:
    return np.sign(x)


# ----- arithmetic ------------------------------------------------------------------------

register_op(
    "add_sub_methods",
    lambda a, b: a.add(b, alpha=2) - a.sub(b) + a.sub(b, alpha=0.5),
    binary(),
    lambda a, b: (a + 2 * b) - (a - b) + (a - 0.5 * b),
    lambda t, a, b: a.add(b, alpha=2) - a.sub(b) + a.sub(b, alpha=0.5),
    covers=["Tensor.add", "Tensor.sub"],
)
register_op(
    "mul_div_methods",
    lambda a, b: a.mul(b) + a.div(b) + a.true_divide(b),
    binary(second=positive),
    lambda a, b: a * b + 2 * a / b,
    lambda t, a, b: a.mul(b) + a.div(b) + a.true_divide(b),
    covers=["Tensor.mul", "Tensor.div", "Tensor.true_divide"],
)
register_op(
    "neg_method",
    lambda x: x.neg(),
    unary(),
    np.negative,
    lambda t, x: x.neg(),
    covers=["Tensor.neg"],
)
register_op(
    "reciprocal",
    lambda x: x.reciprocal(),
    unary(),
    np.reciprocal,
    lambda t, x: x.reciprocal(),
    covers=["Tensor.reciprocal"],
)
register_op(
    "pow_tensor_exponent",
    lambda a, b: a**b + a.pow(b),
    st.builds(lambda s: Sample((positive(s.inputs[0]), s.inputs[1])), binary()),
    lambda a, b: 2 * np.power(a, b),
    lambda t, a, b: a**b + a.pow(b),
    covers=["Tensor.pow"],
)
register_op(
    "rpow",
    lambda x: 2**x + 0.5**x,
    unary(),
    lambda x: 2**x + 0.5**x,
    lambda t, x: 2**x + 0.5**x,
    covers=["Tensor.__rpow__"],
)
register_op(
    "remainder",
    lambda a, b: a % b + a.remainder(b) + 2.5 % b,
    binary(second=_divisor),
    lambda a, b: 2 * np.remainder(a, b) + np.remainder(2.5, b),
    lambda t, a, b: a % b + a.remainder(b) + 2.5 % b,
    covers=["Tensor.__mod__", "Tensor.__rmod__", "Tensor.remainder"],
)
register_op(
    "fmod",
    lambda a, b: a.fmod(b),
    binary(second=_divisor),
    np.fmod,
    lambda t, a, b: a.fmod(b),
    covers=["Tensor.fmod"],
)
register_op(
    "floor_divide",
    lambda a, b: a // b + a.floor_divide(b) + 3 // b,
    binary(second=_divisor),
    lambda a, b: 2 * np.floor_divide(a, b) + np.floor_divide(3, b),
    lambda t, a, b: a // b + a.floor_divide(b) + 3 // b,
    differentiable=False,
    covers=["Tensor.__floordiv__", "Tensor.__rfloordiv__", "Tensor.floor_divide"],
)
register_op(
    "div_rounding_modes",
    lambda a, b: a.div(b, rounding_mode="trunc") * 10 + a.div(b, rounding_mode="floor"),
    binary(second=_divisor),
    lambda a, b: np.trunc(a / b) * 10 + np.floor_divide(a, b),
    lambda t, a, b: a.div(b, rounding_mode="trunc") * 10 + a.div(b, rounding_mode="floor"),
    differentiable=False,
)

# ----- elementwise functions ---------------------------------------------------------------

_unary("abs", np.abs)
_unary("sign", _sign, differentiable=False)
_unary("sqrt", np.sqrt, positive)
_unary("rsqrt", lambda x: 1 / np.sqrt(x), positive)
_unary("square", np.square)
_unary("expm1", np.expm1)
_unary("log1p", np.log1p, positive)
_unary("log2", np.log2, positive)
_unary("log10", np.log10, positive)
_unary("sin", np.sin)
_unary("cos", np.cos)
_unary("tan", np.tan, _small)
_unary("floor", np.floor, differentiable=False)
_unary("ceil", np.ceil, differentiable=False)
_unary("trunc", np.trunc, differentiable=False)
_unary("frac", lambda x: x - np.trunc(x), _offset)
_unary("nan_to_num", np.nan_to_num)
_unary("isnan", np.isnan, differentiable=False)
_unary("isinf", np.isinf, differentiable=False)
_unary("isfinite", np.isfinite, differentiable=False)
register_op(
    "round",
    lambda x, decimals: x.round(decimals=decimals),
    st.sampled_from([0, 1, -1]).flatmap(lambda d: unary(decimals=d)),
    lambda x, decimals: np.round(x, decimals),
    lambda t, x, decimals: x.round(decimals=decimals),
    differentiable=False,
    covers=["Tensor.round"],
)
register_op(
    "clamp_numbers",
    lambda x: x.clamp(-1.0625, 1.0625) + x.clip(min=-0.5625) + x.clamp(max=0.4375)
    + x.clamp_min(0.3125) + x.clamp_max(-0.1875),
    unary(),
    lambda x: np.clip(x, -1.0625, 1.0625) + np.maximum(x, -0.5625) + np.minimum(x, 0.4375)
    + np.maximum(x, 0.3125) + np.minimum(x, -0.1875),
    lambda t, x: x.clamp(-1.0625, 1.0625) + x.clip(min=-0.5625) + x.clamp(max=0.4375)
    + x.clamp_min(0.3125) + x.clamp_max(-0.1875),
    covers=["Tensor.clamp", "Tensor.clip", "Tensor.clamp_min", "Tensor.clamp_max"],
)  # fmt: skip
register_op(
    "clamp_tensors",
    lambda x, low, high: x.clamp(low, high) + x.clamp(min=low) + x.clamp(max=high),
    _limits(),
    lambda x, low, high: np.clip(x, low, high) + np.maximum(x, low) + np.minimum(x, high),
    lambda t, x, low, high: x.clamp(low, high) + x.clamp(min=low) + x.clamp(max=high),
)
register_op(
    "maximum",
    lambda a, b: a.maximum(b),
    binary(second=_offset),
    np.maximum,
    lambda t, a, b: a.maximum(b),
    covers=["Tensor.maximum"],
)
register_op(
    "minimum",
    lambda a, b: a.minimum(b),
    binary(second=_offset),
    np.minimum,
    lambda t, a, b: a.minimum(b),
    covers=["Tensor.minimum"],
)
register_op(
    "lerp",
    lambda start, end, weight: start.lerp(end, weight) + start.lerp(end, 0.25),
    _ternary(),
    lambda start, end, weight: start + weight * (end - start) + start + 0.25 * (end - start),
    lambda t, start, end, weight: start.lerp(end, weight) + start.lerp(end, 0.25),
    covers=["Tensor.lerp"],
)

# ----- comparisons and logic ---------------------------------------------------------------

_COMPARISONS = {
    "eq": (lambda a, b: a == b, np.equal),
    "ne": (lambda a, b: a != b, np.not_equal),
    "lt": (lambda a, b: a < b, np.less),
    "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater),
    "ge": (lambda a, b: a >= b, np.greater_equal),
}
for _name, (_fn, _reference) in _COMPARISONS.items():
    register_op(
        f"compare_{_name}",
        lambda a, b, fn=_fn, name=_name: fn(a, b) | getattr(a, name)(b + 0.125),
        binary(),
        lambda a, b, reference=_reference: reference(a, b) | reference(a, b + 0.125),
        lambda t, a, b, fn=_fn, name=_name: fn(a, b) | getattr(a, name)(b + 0.125),
        differentiable=False,
        covers=[f"Tensor.__{_name}__", f"Tensor.{_name}"],
    )
register_op(
    "comparison_aliases",
    lambda a, b: (a.greater(b) & a.less_equal(b)) | (a.less(b) & a.greater_equal(b)) | a.not_equal(b),
    binary(),
    np.not_equal,
    differentiable=False,
    covers=["Tensor.greater", "Tensor.greater_equal", "Tensor.less", "Tensor.less_equal", "Tensor.not_equal"],
)
register_op(
    "bitwise_bool",
    lambda a, b: ((a > 0) & (b > 0)) | ((a > 1) ^ (b < 0)) | ~(a > -1) | (True & (a > 2)) | (False | (b > 2))
    ^ (True ^ (a < 0)),
    binary(),
    lambda a, b: ((a > 0) & (b > 0)) | ((a > 1) ^ (b < 0)) | ~(a > -1) | (a > 2) | ((b > 2) ^ ~(a < 0)),
    lambda t, a, b: ((a > 0) & (b > 0)) | ((a > 1) ^ (b < 0)) | ~(a > -1) | (True & (a > 2)) | (False | (b > 2))
    ^ (True ^ (a < 0)),
    differentiable=False,
    covers=[f"Tensor.{n}" for n in ("__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__invert__")],
)  # fmt: skip
register_op(
    "bitwise_methods",
    lambda a, b: (a > 0).bitwise_and(b > 0).bitwise_or((a > 1).bitwise_xor(b < 0)).bitwise_xor((a > 2).bitwise_not()),
    binary(),
    lambda a, b: (((a > 0) & (b > 0)) | ((a > 1) ^ (b < 0))) ^ ~(a > 2),
    differentiable=False,
    covers=["Tensor.bitwise_and", "Tensor.bitwise_or", "Tensor.bitwise_xor", "Tensor.bitwise_not"],
)
register_op(
    "logical",
    lambda a, b: a.logical_and(b > 0).logical_or(a.logical_xor(b)).logical_xor(b.logical_not()),
    binary(),
    lambda a, b: np.logical_xor(np.logical_or(np.logical_and(a, b > 0), np.logical_xor(a, b)), np.logical_not(b)),
    lambda t, a, b: a.logical_and(b > 0).logical_or(a.logical_xor(b)).logical_xor(b.logical_not()),
    differentiable=False,
    covers=["Tensor.logical_and", "Tensor.logical_or", "Tensor.logical_xor", "Tensor.logical_not"],
)
register_op(
    "isclose",
    lambda a, b: a.isclose(b) | a.isclose(b * 1.01, rtol=0.02),
    binary(),
    lambda a, b: np.isclose(a, b) | np.isclose(a, b * 1.01, rtol=0.02),
    lambda t, a, b: a.isclose(b) | a.isclose(b * 1.01, rtol=0.02),
    differentiable=False,
    covers=["Tensor.isclose"],
)

#: Public names of this area that are not ops: they answer a Python bool, or write in place.
NOT_OPS = frozenset({"allclose", "equal", "pow_", "clamp_", "abs_", "neg_", "sqrt_", "exp_"})
