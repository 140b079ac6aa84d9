"""Randomness, PyTorch's names: ``manual_seed``, ``Generator``, ``rand``, ``randn``, ``randint``, ``normal``...

Every draw comes from a ``Generator`` (NumPy's PCG64 behind it): the one passed as ``generator=``,
or the default generator, which ``manual_seed`` reseeds and which nn.init and Dropout also use.
The same seed gives the same numbers, always (not PyTorch's numbers: its stream is its own).
Values are drawn in float64 and rounded to the tensor's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes
from .device import check_device
from .tensor import Tensor, _shape_argument

#: The seed of a ``Generator()`` nobody seeded (PyTorch's default seed).
DEFAULT_SEED = 67280421310721


class Generator:
    """A seeded source of random numbers: ``g = Generator().manual_seed(0)``, then ``randn(3, generator=g)``."""

    def __init__(self, device: Any = "cpu") -> None:
        check_device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Restart from ``seed``; returns self, so ``Generator().manual_seed(0)`` reads as in PyTorch."""
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)  # the NumPy generator that draws
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % 2**63)
        return self._seed

    def initial_seed(self) -> int:
        """The seed last given to ``manual_seed`` (or picked by ``seed``)."""
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """A snapshot of the generator's state (a dict, not PyTorch's byte tensor), for ``set_state``."""
        return self.rng.bit_generator.state  # NumPy hands out a new dict each time

    def set_state(self, state: dict[str, Any]) -> Generator:
        """Go back to a state from ``get_state``; returns self."""
        self.rng.bit_generator.state = state
        return self


#: What draws when no ``generator=`` is given; seeded with 0 at import.
default_generator = Generator().manual_seed(0)


def rng_of(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator``, or behind the default generator for None."""
    if generator is None:
        return default_generator.rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tinygrad_mnist.Generator, got {type(generator).__name__}")
    return generator.rng


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Reseed the default generator nondeterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return default_generator.initial_seed()


def get_rng_state() -> dict[str, Any]:
    """The default generator's state (see ``Generator.get_state``)."""
    return default_generator.get_state()


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the default generator's state from ``get_rng_state``."""
    default_generator.set_state(state)


def _float_dtype(dtype: Any, name: str) -> np.dtype:
    found = dtypes.default_float() if dtype is None else np.dtype(dtype)
    if found.kind != "f":
        raise TypeError(f"{name}: draws floating-point values, not {found}; give a floating dtype")
    return found


def _made(values: np.ndarray, dtype: np.dtype, requires_grad: bool, device: Any) -> Tensor:
    check_device(device)
    return Tensor(np.asarray(values).astype(dtype, copy=False), requires_grad=requires_grad)


def uniform(
    shape: tuple[int, ...], low: float, high: float, dtype: np.dtype, generator: Generator | None
) -> np.ndarray:
    """Uniform values in [low, high) of ``dtype``: drawn in float64, kept below ``high`` after rounding."""
    dtype = _float_dtype(dtype, "uniform")
    values = (low + (high - low) * rng_of(generator).random(shape)).astype(dtype)
    return np.minimum(values, np.nextafter(dtype.type(high), dtype.type(low))) if high > low else values


def rand(
    *size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform values in [0, 1): ``rand(2, 3)`` or ``rand((2, 3))``."""
    found = _float_dtype(dtype, "rand")
    return _made(uniform(_shape_argument(size), 0.0, 1.0, found, generator), found, requires_grad, device)


def randn(
    *size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal values: ``randn(2, 3)`` or ``randn((2, 3))``."""
    found = _float_dtype(dtype, "randn")
    return _made(rng_of(generator).standard_normal(_shape_argument(size)), found, requires_grad, device)


def randint(
    *args: Any,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``; int64 unless ``dtype``."""
    if size is None:
        if len(args) < 2:
            raise TypeError("randint: give randint(high, size) or randint(low, high, size), size a tuple")
        *args, size = args
    if len(args) not in (1, 2):
        raise TypeError(f"randint: takes high or low, high before size, got {len(args)} numbers")
    low, high = (0, *args) if len(args) == 1 else args
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = tuple(size) if isinstance(size, tuple | list) else (size,)
    values = rng_of(generator).integers(low, high, shape)
    return _made(values, np.dtype(np.int64 if dtype is None else dtype), requires_grad, device)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal values with ``mean`` and ``std``: tensors (broadcast together) or floats with ``size``."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if tensors and size is not None:
        raise TypeError("normal: give size only when mean and std are both numbers")
    if not tensors and size is None:
        raise TypeError("normal: with a number mean and std, give size, e.g. normal(0.0, 1.0, size=(3,))")
    m, s = (v.numpy() if isinstance(v, Tensor) else v for v in (mean, std))
    if np.any(np.asarray(s) < 0):
        raise ValueError("normal: std must be non-negative")
    shape = np.broadcast_shapes(np.shape(m), np.shape(s)) if tensors else _shape_argument((size,))
    given = dtype if dtype is not None or not tensors else np.result_type(*[t.numpy() for t in tensors])
    found = _float_dtype(given, "normal")
    values = m + s * rng_of(generator).standard_normal(shape)
    return _made(values, found, requires_grad, device)


def randperm(
    n: int, *, generator: Generator | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype``)."""
    values = rng_of(generator).permutation(int(n))
    return _made(values, np.dtype(np.int64 if dtype is None else dtype), requires_grad, device)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Generator | None = None
) -> Tensor:
    """Draw ``num_samples`` category ids per row of the non-negative weights ``input`` (1-D or 2-D); int64."""
    weights = np.asarray(input.numpy(), dtype=np.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D weights, got shape {weights.shape}")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValueError("multinomial: weights must be finite and non-negative")
    rows = weights.reshape(-1, weights.shape[-1])
    if np.any(rows.sum(axis=1) <= 0):
        raise ValueError("multinomial: every row of weights needs a positive sum")
    if not replacement and num_samples > np.count_nonzero(rows, axis=1).min():
        raise ValueError(
            f"multinomial: cannot draw {num_samples} samples without replacement from a row with fewer "
            "non-zero weights; pass replacement=True or draw fewer"
        )
    rng = rng_of(generator)
    picks = [rng.choice(len(row), num_samples, replace=replacement, p=row / row.sum()) for row in rows]
    return Tensor(np.array(picks, dtype=np.int64).reshape(*weights.shape[:-1], num_samples))


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """0/1 draws, 1 with probability ``input`` (elementwise) or ``p``, in ``input``'s shape and dtype."""
    probability = input.numpy() if p is None else p
    if np.any((np.asarray(probability) < 0) | (np.asarray(probability) > 1)):
        raise ValueError("bernoulli: probabilities must lie in [0, 1]")
    return Tensor(rng_of(generator).random(input.shape) < probability, dtype=input.numpy().dtype)


RANDOM_NAMES: tuple[str, ...] = (
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "rand", "randn", "randint", "normal", "randperm", "multinomial", "bernoulli",
)  # fmt: skip
