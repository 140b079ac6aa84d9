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
from typing import TYPE_CHECKING

import numpy as np

from .. import random
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


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Fans of a weight laid out (out, in, *kernel), as PyTorch lays out Linear and Conv weights."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, got shape {tensor.shape}")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def default_(weight: Tensor, bias: Tensor | None, generator: GeneratorLike = None) -> None:
    """PyTorch's default for Linear and Conv2d layers: weight and bias from U(-b, b), b = 1 / sqrt(fan_in)."""
    generator = as_generator(generator)
    bound = 1.0 / math.sqrt(_calculate_fan_in_and_fan_out(weight)[0])
    uniform_(weight, -bound, bound, generator)
    if bias is not None:
        uniform_(bias, -bound, bound, generator)


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.numpy()[...] = values
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Fill with U(a, b)."""
    return _fill(tensor, as_generator(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: GeneratorLike = None) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _fill(tensor, as_generator(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros (the usual bias initialisation)."""
    return _fill(tensor, 0.0)


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
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: GeneratorLike = None,
) -> Tensor:
    """He: U(-bound, bound) with bound = gain * sqrt(3 / fan)."""
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
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


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
