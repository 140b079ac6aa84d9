"""The layers as functions (``import tinygrad_mnist.nn.functional as F``), PyTorch's names."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.indexing import one_hot as _one_hot
from ..ops.loss import implicit_dim as _implicit_dim
from ..tensor import Tensor
from ..tensor import cross_entropy as _cross_entropy
from ..tensor import linear as _linear
from .init import GeneratorLike, as_generator


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with PyTorch's layout: input (m, in), weight (out, in), bias (out,).

    One fused op (``ops.Linear``); refuses an input whose dtype differs from the weight's,
    as PyTorch does, instead of silently computing in the wider type.
    """
    if input.dtype != weight.dtype:
        raise TypeError(
            f"linear: the input is {input.numpy().dtype} but the weight is {weight.numpy().dtype}; convert the input "
            f"(x.to({weight.dtype})) or the model (model.to({input.dtype}))"
        )
    return _linear(input, weight, bias)


def relu(input: Tensor) -> Tensor:
    return input.relu()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """Probabilities along ``dim``, computed from max-shifted logits (no overflow)."""
    return input.softmax(_implicit_dim(input, dim))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``log(softmax(input))`` by log-sum-exp: finite where the naive form gives log(0)."""
    return input.log_softmax(_implicit_dim(input, dim))


def cross_entropy(input: Tensor, target: Any) -> Tensor:
    """Mean softmax cross-entropy of (m, C) logits against class ids (m,) or one-hot rows (m, C)."""
    return _cross_entropy(input, target)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, generator: GeneratorLike = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p); identity unless training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p}")
    if not training or p == 0.0:
        return input
    keep = as_generator(generator).random(input.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return input * Tensor(np.multiply(keep, scale, dtype=input.dtype))


def flatten(input: Tensor, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one: (m, 1, 28, 28) -> (m, 784)."""
    start, end = start_dim % input.ndim, end_dim % input.ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {input.shape}")
    shape = input.shape
    return input.reshape(*shape[:start], int(np.prod(shape[start : end + 1])), *shape[end + 1 :])


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows, shape (*tensor.shape, num_classes); ``num_classes=-1`` infers max + 1."""
    return _one_hot(tensor, num_classes)
