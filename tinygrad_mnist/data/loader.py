"""The recipes' DataLoader: arrays in, the epoch's order from ``(seed, epoch)`` alone.

``DataLoader(images, labels, batch_size=128, shuffle=True, seed=0)`` is ``utils.data.DataLoader`` over a
``TensorDataset`` of the arrays with an ``EpochSampler``: epoch ``e``'s order is
``np.random.default_rng([seed, e]).permutation(rows)``, so a run resumed at epoch ``e`` (``set_epoch``) sees
exactly the batches the uninterrupted run saw, which checkpoints rely on.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..tensor import Tensor
from ..utils import data


class EpochSampler(data.Sampler):
    """Rows ``0 .. rows-1`` shuffled by ``(seed, epoch)``; each ``iter()`` serves one epoch and moves to the next."""

    def __init__(self, rows: int, seed: int) -> None:
        self.rows, self.seed, self.epoch = rows, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` serve epoch ``epoch``'s order."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        self.epoch += 1
        return iter(np.random.default_rng([self.seed, self.epoch - 1]).permutation(self.rows).tolist())

    def __len__(self) -> int:
        return self.rows


class DataLoader(data.DataLoader):
    """``for x, y in DataLoader(images, labels, batch_size=128, shuffle=True, seed=0)``.

    Takes one or more arrays with the same number of rows and yields a list of Tensors, one per array, per
    batch. ``batch_size=None`` yields the full batch each epoch, as the notebook trains (not PyTorch's
    "unbatched"). Dtypes are kept as given. Each ``iter()`` starts the next epoch; ``set_epoch`` chooses it.
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
        tensors = [a if isinstance(a, Tensor) else Tensor(np.asarray(a)) for a in arrays]
        rows = len(tensors[0]) if tensors[0].ndim else 0
        if rows == 0:
            raise ValueError(f"DataLoader: array 0 has shape {tuple(tensors[0].shape)}, with no examples to serve")
        for index, tensor in enumerate(tensors):
            if tensor.ndim == 0 or len(tensor) != rows:
                raise ValueError(
                    f"DataLoader: array {index} has shape {tuple(tensor.shape)}, but array 0 has {rows} rows; "
                    "every array needs one row per example"
                )
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None (full batch), got {batch_size!r}")
        super().__init__(
            data.TensorDataset(*tensors),
            batch_size=rows if batch_size is None else batch_size,
            sampler=EpochSampler(rows, seed) if shuffle else data.SequentialSampler(range(rows)),
            drop_last=drop_last,
        )

    @property
    def num_rows(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` serve epoch ``epoch``'s order (the order depends on nothing else)."""
        if isinstance(self.sampler, EpochSampler):
            self.sampler.set_epoch(epoch)
