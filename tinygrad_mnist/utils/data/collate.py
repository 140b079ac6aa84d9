"""``default_collate`` and ``default_convert``: samples into batches as PyTorch builds them.

Tensors are stacked; NumPy arrays become Tensors and are stacked; NumPy scalars become a Tensor of them; Python
ints an int64 Tensor (bools a bool Tensor), floats a float64 Tensor; strings stay a list; dicts are collated key
by key, namedtuples field by field, and other sequences position by position (a tuple gives a list, as PyTorch).
"""

from __future__ import annotations

import collections.abc
import copy
from typing import Any

import numpy as np

from ... import creation, dtypes
from ...tensor import Tensor, stack

COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_text_array(array: np.ndarray) -> bool:
    """Arrays of strings or objects, which PyTorch leaves alone (no Tensor holds them)."""
    return array.dtype.kind in "SaUO"


def _rebuilt(template: Any, values: list[Any]) -> Any:
    """``values`` in a container of ``template``'s kind: a copy of a mutable one, its type, else a list."""
    if isinstance(template, tuple):
        return list(values)  # PyTorch's backwards compatibility: tuples come back as lists
    try:
        if isinstance(template, collections.abc.MutableSequence):
            clone = copy.copy(template)
            clone[:] = values
            return clone
        return type(template)(values)
    except TypeError:
        return list(values)


def _rebuilt_mapping(template: collections.abc.Mapping, values: dict[Any, Any]) -> Any:
    try:
        if isinstance(template, collections.abc.MutableMapping):
            clone = copy.copy(template)
            clone.update(values)
            return clone
        return type(template)(values)
    except TypeError:
        return values


def default_convert(data: Any) -> Any:
    """One sample as ``batch_size=None`` serves it: NumPy arrays and scalars become Tensors, inside containers too."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray | np.generic) and not isinstance(data, np.str_ | np.bytes_):
        return data if isinstance(data, np.ndarray) and _is_text_array(data) else creation.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuilt_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(value) for value in data))
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        return _rebuilt(data, [default_convert(value) for value in data])
    return data


def default_collate(batch: list[Any]) -> Any:
    """A list of samples as one batch (see the module's docstring for what each kind of sample becomes)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if _is_text_array(elem):
            raise TypeError(COLLATE_ERROR.format(elem.dtype))
        return stack([creation.as_tensor(sample) for sample in batch], 0)
    if isinstance(elem, np.generic) and not isinstance(elem, np.str_ | np.bytes_):
        return creation.as_tensor(np.array(batch))
    if isinstance(elem, float):
        return creation.tensor(batch, dtype=dtypes.float64)
    if isinstance(elem, int):
        return creation.tensor(batch)
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuilt_mapping(elem, {key: default_collate([sample[key] for sample in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return _rebuilt(elem, [default_collate(list(position)) for position in zip(*batch, strict=True)])
    raise TypeError(COLLATE_ERROR.format(type(elem)))
