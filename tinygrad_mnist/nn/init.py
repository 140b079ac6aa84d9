"""Weight initialisation, in place, PyTorch's names: ``kaiming_normal_(layer.weight)``.

Every function takes ``generator``: a ``tinygrad_mnist.Generator``, an ``np.random.Generator``,
an int seed, or None for the package's default generator (seeded with 0 at import, reseeded by
``tinygrad_mnist.manual_seed`` or ``manual_seed`` here), so the same seed gives the same weights,
bit for bit. Values are
drawn in float64 and rounded to the tensor's dtype, so float32 and float64 models
built from one seed agree to float32 precision.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import random
from ..autograd import no_grad
from ..tensor import Tensor

if TYPE_CHECKING:
    from .module import Module

GeneratorLike = random.Generator | np.random.Generator | int | None


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the package's default generator (``tinygrad_mnist.manual_seed``); returns its NumPy generator."""
    return random.manual_seed(seed).rng


def as_generator(generator: GeneratorLike = None) -> np.random.Generator:
    """The NumPy generator to draw from: the one given, the one behind a ``Generator`` or the default
    generator (for None), or a new one seeded with an int."""
    if generator is None or isinstance(generator, random.Generator):
        return random.rng_of(generator)
    if isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(generator)


#: The gains of the nonlinearities whose gain is a constant (leaky_relu's depends on its slope).
GAINS: dict[str, float] = {
    **dict.fromkeys(
        ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"), 1.0
    ),
    "sigmoid": 1.0,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "selu": 3.0 / 4,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity`` (PyTorch's table; ``param`` is
    leaky_relu's negative slope, 0.01 by default; selu's 3/4 is PyTorch's choice for self-normalising nets)."""
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, int | float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in GAINS:
        raise ValueError(
            f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of {sorted([*GAINS, 'leaky_relu'])}"
        )
    return GAINS[nonlinearity]


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Fans of a weight laid out (out, in, *kernel), as PyTorch lays out Linear and Conv weights: each fan is
    its size times the kernel's size (a ConvTranspose weight, laid out (in, out / groups, *kernel), swaps them)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got shape "
            f"{tuple(tensor.shape)}; they need a weight with at least 2 dimensions"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def default_(weight: Tensor, bias: Tensor | None, generator: GeneratorLike = None) -> None:
    """PyTorch's default for Linear and Conv2d layers: weight and bias from U(-b, b), b = 1 / sqrt(fan_in)."""
    generator = as_generator(generator)
    bound = 1.0 / math.sqrt(_calculate_fan_in_and_fan_out(weight)[0])
    uniform_(weight, -bound, bound, generator)
    if bias is not None:
        uniform_(bias, -bound, bound, generator)


def _fill(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    """Write ``values`` into ``tensor`` in place, outside the graph (as PyTorch's init runs under no_grad)."""
    with no_grad():
        return tensor.copy_(values)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Fill with U(a, b)."""
    return _fill(tensor, as_generator(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _fill(tensor, as_generator(generator).normal(mean, std, tensor.shape))


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: GeneratorLike = None,
) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (bounds in the values' units, not in stds): draws outside
    are drawn again, so values follow the truncated distribution exactly."""
    if not a < b:
        raise ValueError(f"trunc_normal_: the lower bound a ({a}) must be below the upper bound b ({b})")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    mass = 0.5 * (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2))))
    if mass < 1e-6:
        raise ValueError(f"trunc_normal_: [{a}, {b}] holds {mass:.3g} of N({mean}, {std}^2); move the bounds nearer")
    rng, values = as_generator(generator), np.empty(tensor.shape)
    missing = np.ones(tensor.shape, dtype=bool)
    while (count := int(missing.sum())) > 0:
        draws = rng.normal(mean, std, math.ceil(count / mass) + 16)
        kept = draws[(draws >= a) & (draws <= b)][:count]
        spots = np.flatnonzero(missing)[: len(kept)]
        values.flat[spots], missing.flat[spots] = kept, False
    return _fill(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return _fill(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros (the usual bias initialisation)."""
    return _fill(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix in a 2-D tensor (ones on the diagonal of a rectangle too): a Linear layer that passes
    its input through."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta in a 3-, 4- or 5-D conv weight: the convolution passes its input channels through (per
    group: output channel ``d`` of each group copies input channel ``d``)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got {tensor.ndim}")
    if tensor.shape[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({tensor.shape[0]}) must be divisible by groups ({groups})")
    per_group = tensor.shape[0] // groups
    values, centre = np.zeros(tensor.shape), tuple(size // 2 for size in tensor.shape[2:])
    for group in range(groups):
        for channel in range(min(per_group, tensor.shape[1])):
            values[(group * per_group + channel, channel, *centre)] = 1.0
    return _fill(tensor, values)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: GeneratorLike = None,
) -> Tensor:
    """He: U(-bound, bound) with bound = gain * sqrt(3 / fan); ``a`` is leaky_relu's negative slope."""
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: GeneratorLike = None,
) -> Tensor:
    """He: N(0, std^2) with std = gain / sqrt(fan); ``nonlinearity="relu"`` gives sqrt(2 / fan_in)."""
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """A (semi-)orthogonal matrix times ``gain``: the tensor flattened to (size(0), rest) has orthonormal rows or
    columns, whichever are fewer; Q of the QR decomposition of a normal draw, signs fixed by R's diagonal."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got {tensor.ndim}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    flattened = as_generator(generator).standard_normal((rows, tensor.numel() // rows))
    wide = flattened.shape[0] < flattened.shape[1]
    q, r = np.linalg.qr(flattened.T if wide else flattened)
    q = q * np.sign(np.diag(r))
    return _fill(tensor, gain * (q.T if wide else q).reshape(tensor.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: GeneratorLike = None) -> Tensor:
    """A 2-D tensor from N(0, std^2) with ``ceil(sparsity * rows)`` zeros in every column, at random rows."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape {tuple(tensor.shape)}")
    rows, columns = tensor.shape
    rng = as_generator(generator)
    values = rng.normal(0.0, std, (rows, columns))
    zeros = math.ceil(sparsity * rows)
    for column in range(columns):
        values[rng.permutation(rows)[:zeros], column] = 0.0
    return _fill(tensor, values)


def notebook_(model: Module, seed: int = 3, scale: float = 0.01) -> Module:
    """The notebook's ``initialize_parameters_deep``, bit for bit: ``np.random.seed(3)``, then
    for each layer in order ``W = randn(out, in) * 0.01`` and ``b = 0``.

    Every module's ``weight`` is drawn in the order of ``model.modules()``, its ``bias``
    zeroed. Uses its own ``RandomState`` (the legacy generator behind ``np.random.seed``),
    so NumPy's global state is left alone. Bit-exact in float64: call
    ``model.to(np.float64)`` first, as the notebook computes in float64.
    """
    legacy = np.random.RandomState(seed)
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if name == "weight":
                _fill(param, legacy.randn(*param.shape) * scale)
            elif name == "bias":
                zeros_(param)
    return model
