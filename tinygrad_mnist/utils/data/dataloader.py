"""``DataLoader``: PyTorch's signature and semantics, batches served in this process.

A ``TensorDataset`` (or a ``Subset`` of one) with the default collation takes a fast path: each batch is one
fancy index per tensor (a slice when the order is sequential), not one ``__getitem__`` per sample and a stack.
``num_workers > 0`` is accepted and runs in this process too (NumPy gains nothing from worker processes here);
``worker_init_fn`` is then called with worker id 0 at the start of each epoch, as each worker would be.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any

import numpy as np

from ...random import Generator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, check_positive_int


def get_worker_info() -> None:
    """None: every batch is loaded in the main process."""
    return None


def _gatherable(dataset: Any) -> bool:
    """Whether ``dataset``'s samples are rows of tensors, untouched by a subclass's ``__getitem__``."""
    if type(dataset).__getitem__ is TensorDataset.__getitem__:
        return True
    return type(dataset).__getitem__ is Subset.__getitem__ and _gatherable(dataset.dataset)


def _tensor_rows(dataset: Any, order: np.ndarray | None) -> tuple[TensorDataset, np.ndarray | None]:
    """The TensorDataset under a gatherable dataset and ``order`` (None: sequential) as rows of it."""
    while isinstance(dataset, Subset):
        order = np.asarray(dataset.indices, dtype=np.int64)[slice(None) if order is None else order]
        dataset = dataset.dataset
    return dataset, order


class DataLoader:
    """Batches of ``dataset``: ``for x, y in DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)``.

    Argument rules are PyTorch's: ``shuffle`` with a ``sampler`` is an error, ``batch_sampler`` excludes
    ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``; ``batch_size=None`` serves samples one by one,
    unbatched (``default_convert``). ``pin_memory``, ``timeout``, ``prefetch_factor``, ``persistent_workers``,
    ``multiprocessing_context`` and ``pin_memory_device`` are checked as PyTorch checks them and have no effect.
    """

    def __init__(
        self,
        dataset: Dataset | Iterable[Any],
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable[Any] | None = None,
        batch_sampler: Sampler | Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], Any] | None = None,
        multiprocessing_context: Any = None,
        generator: Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 to enable "
                "multiprocessing, otherwise set prefetch_factor to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError(
                "multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                f"but got num_workers={num_workers}"
            )
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, but got {name}={value}"
                    )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is not None:
            check_positive_int(batch_size, "batch_size")
        elif drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        own_batches = batch_size is not None and batch_sampler is None and not self._iterable
        if own_batches:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last, self.generator = dataset, batch_size, drop_last, generator
        self.sampler, self.batch_sampler, self.num_workers = sampler, batch_sampler, num_workers
        self.collate_fn = collate_fn or (
            default_collate if batch_size is not None or batch_sampler is not None else default_convert
        )
        self.pin_memory, self.timeout, self.worker_init_fn = pin_memory, timeout, worker_init_fn
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.multiprocessing_context, self.pin_memory_device, self.in_order = (
            multiprocessing_context, pin_memory_device, in_order
        )  # fmt: skip
        self._fast = own_batches and collate_fn is None and isinstance(sampler, Sized) and _gatherable(dataset)

    def __len__(self) -> int:
        """Batches per epoch (for an IterableDataset, from its ``len``, as PyTorch estimates it)."""
        if self._iterable:
            samples = len(self.dataset)
            if self.batch_size is None:
                return samples
            return samples // self.batch_size if self.drop_last else -(-samples // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers > 0 and self.worker_init_fn is not None:
            self.worker_init_fn(0)
        if self._fast:
            return self._gathered_batches()
        if self._iterable:
            return self._stream_batches()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[index]) for index in self.sampler)
        return (self.collate_fn(self._fetched(indices)) for indices in self.batch_sampler)

    def _fetched(self, indices: list[Any]) -> list[Any]:
        """The samples at ``indices`` (through the dataset's ``__getitems__`` when it has one, as PyTorch)."""
        getitems = getattr(self.dataset, "__getitems__", None)
        return getitems(indices) if getitems else [self.dataset[index] for index in indices]

    def _stream_batches(self) -> Iterator[Any]:
        samples = iter(self.dataset)
        if self.batch_size is None:
            yield from map(self.collate_fn, samples)
            return
        while batch := list(itertools.islice(samples, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def _gathered_batches(self) -> Iterator[list[Any]]:
        """The fast path: the epoch's order drawn once, then one gather per tensor per batch."""
        size = self.batch_size
        order = None if type(self.sampler) is SequentialSampler else np.fromiter(self.sampler, dtype=np.int64)
        tensors, order = _tensor_rows(self.dataset, order)
        for batch in range(len(self)):
            start = batch * size
            yield tensors.rows(slice(start, start + size) if order is None else order[start : start + size])
