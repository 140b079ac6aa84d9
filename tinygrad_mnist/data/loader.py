"""DataLoader: mini-batches of Tensors over in-memory arrays, shuffled reproducibly.

The order of epoch ``e`` depends on ``(seed, e)`` alone, drawn from
``np.random.default_rng([seed, e])``, so a run resumed at epoch ``e`` sees exactly
the batches the uninterrupted run saw.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..tensor import Tensor


class DataLoader:
    """``for x, y in DataLoader(images, labels, batch_size=128, shuffle=True, seed=0)``.

    Takes one or more arrays with the same number of rows and yields a tuple of
    Tensors, one per array, per batch. ``batch_size=None`` yields the full batch
    each epoch, as the notebook trains. Dtypes are kept as given. Each ``iter()``
    starts the next epoch; ``set_epoch`` chooses it (for resuming).
    """

    def __init__(
        self,
        *arrays: np.ndarray,
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        if not arrays:
            raise ValueError("DataLoader needs at least one array, e.g. DataLoader(images, labels, batch_size=128)")
        self.arrays = tuple(a.numpy() if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        rows = len(self.arrays[0]) if self.arrays[0].ndim else 0
        if rows == 0:
            raise ValueError(f"DataLoader: array 0 has shape {self.arrays[0].shape}, with no examples to serve")
        for index, array in enumerate(self.arrays):
            if array.ndim == 0 or len(array) != rows:
                raise ValueError(
                    f"DataLoader: array {index} has shape {array.shape}, but array 0 has {rows} rows; "
                    "every array needs one row per example"
                )
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None (full batch), got {batch_size!r}")
        self.batch_size = rows if batch_size is None else batch_size
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.epoch = 0

    @property
    def num_rows(self) -> int:
        return len(self.arrays[0])

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` produce epoch ``epoch``'s order."""
        self.epoch = epoch

    def order(self, epoch: int) -> np.ndarray | None:
        """Row indices for ``epoch`` in the order they are served; None when not shuffling (rows in order)."""
        if not self.shuffle:
            return None
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_rows)

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.drop_last:
            return self.num_rows // self.batch_size
        return math.ceil(self.num_rows / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = self.order(self.epoch)
        self.epoch += 1
        for batch in range(len(self)):
            start = batch * self.batch_size
            rows = slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]
            yield tuple(Tensor(array[rows]) for array in self.arrays)
