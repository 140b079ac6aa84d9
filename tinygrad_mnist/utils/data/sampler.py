"""Samplers, PyTorch's names: which indices a DataLoader fetches, in which order.

Random samplers draw from the ``generator`` given (a ``tinygrad_mnist.Generator``) or from the default generator,
so ``generator=torch.Generator().manual_seed(s)`` makes the order reproducible (not PyTorch's order: its random
stream is its own).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from ...random import Generator, rng_of
from ...tensor import Tensor


class Sampler:
    """Yields indices (or lists of them, for a batch sampler); subclasses define ``__iter__`` and ``__len__``."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__ to yield indices")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def check_positive_int(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")


def check_bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be a boolean value, but got {name}={value!r}")


class RandomSampler(Sampler):
    """A random permutation each epoch (``num_samples`` indices, repeating permutations if it is larger than
    the dataset), or ``num_samples`` independent draws with ``replacement=True``."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ) -> None:
        check_bool(replacement, "replacement")
        self.data_source, self.replacement, self._num_samples, self.generator = (
            data_source, replacement, num_samples, generator
        )  # fmt: skip
        check_positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        """Indices per epoch: ``num_samples`` if given, else the dataset's length (which may change)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        rng, size, count = rng_of(self.generator), len(self.data_source), self.num_samples
        if self.replacement:
            return iter(rng.integers(0, size, count).tolist())
        permutations = [rng.permutation(size) for _ in range(-(-count // size))]
        return iter(np.concatenate(permutations)[:count].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        for position in rng_of(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[position]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(
        self,
        weights: Sequence[float] | Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ) -> None:
        check_positive_int(num_samples, "num_samples")
        check_bool(replacement, "replacement")
        values = np.asarray(weights.numpy() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"weights should be a 1-D sequence, but got weights of shape {values.shape}")
        if np.any(values < 0) or not np.all(np.isfinite(values)) or values.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative, with a positive sum")
        if not replacement and num_samples > np.count_nonzero(values):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement from "
                f"{np.count_nonzero(values)} non-zero weights; pass replacement=True or draw fewer"
            )
        self.weights, self.num_samples, self.replacement, self.generator = values, num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        probabilities = self.weights / self.weights.sum()
        picks = rng_of(self.generator).choice(len(probabilities), self.num_samples, self.replacement, probabilities)
        return iter(picks.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless ``drop_last``)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        check_positive_int(batch_size, "batch_size")
        check_bool(drop_last, "drop_last")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)
