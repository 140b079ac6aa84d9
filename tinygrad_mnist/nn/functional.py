"""The layers as functions (``import tinygrad_mnist.nn.functional as F``), PyTorch's names."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
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
    if input.numpy().dtype != weight.numpy().dtype:
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
    """Merge axes ``start_dim..end_dim`` into one: (m, 1, 28, 28) -> (m, 784), as ``nn.Flatten``."""
    return input.flatten(start_dim, end_dim)


def pad(input: Tensor, pad: tuple[int, ...], mode: str = "constant", value: float = 0) -> Tensor:
    """``pad`` = (before, after) pairs for the last dim first, then the one before...; negative widths crop."""
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: {pad} must be (before, after) pairs for at most the {input.ndim} dims of {input.shape}")
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported, only 'constant'")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)][::-1]
    first = input.ndim - len(pairs)
    out = input
    for dim, (before, after) in enumerate(pairs, first):
        if before < 0 or after < 0:
            out = out.narrow(dim, max(-before, 0), out.shape[dim] - max(-before, 0) - max(-after, 0))
    widths = ((0, 0),) * first + tuple((max(b, 0), max(a, 0)) for b, a in pairs)
    return ops.Pad.apply(out, widths, value) if any(b or a for b, a in widths) else out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows, shape (*tensor.shape, num_classes); ``num_classes=-1`` infers max + 1."""
    return _one_hot(tensor, num_classes)
