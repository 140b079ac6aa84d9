"""Softmax, log-softmax and the fused softmax-cross-entropy loss.

All three subtract the (constant) maximum before exponentiating, so logits of any size
give finite results: softmax(x) = softmax(x - max(x)). Their backward rules are Tensor
operations on saved tensors, so each can be differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def implicit_dim(x: Any, dim: int | None) -> int:
    """PyTorch's (deprecated) softmax dim when none is given: 0 for 0-, 1- and 3-d inputs, else 1."""
    return dim if dim is not None else (0 if x.ndim in (0, 1, 3) else 1)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = np.exp(x._data - np.max(x._data, axis=axis, keepdims=True))
        out = shifted / np.sum(shifted, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(ctx.axis, keepdim=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        out = log_softmax_array(x._data, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - out.exp() * grad.sum(ctx.axis, keepdim=True)


def class_ids(target: np.ndarray, logits_shape: tuple[int, ...]) -> np.ndarray | None:
    """``target`` checked as one class id per row, or None when it is not 1-D integers (so: probabilities).

    Raises a ValueError naming the counts or the first bad class id.
    """
    if target.ndim != 1 or not np.issubdtype(target.dtype, np.integer):
        return None
    m, classes = logits_shape
    if target.shape[0] != m:
        raise ValueError(f"cross_entropy: {m} rows of logits but {target.shape[0]} targets")
    bad = np.flatnonzero((target < 0) | (target >= classes))
    if bad.size:
        row = bad[0]
        raise ValueError(f"cross_entropy: target {target[row]} at row {row} is not a class id in 0..{classes - 1}")
    return target


def probability_targets(target: np.ndarray, logits_shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``target`` checked as one row of class probabilities (e.g. one-hot) per row of logits."""
    if target.shape != logits_shape:
        m = logits_shape[0]
        raise ValueError(
            f"cross_entropy: logits {logits_shape} need class ids of shape ({m},) "
            f"or one-hot targets of shape {logits_shape}, got {target.shape}"
        )
    return target.astype(dtype, copy=False)


class CrossEntropy(Function):
    """Mean over the batch of -sum(target * log_softmax(logits)), classes on axis 1.

    Backward is the notebook's ``dZ = AL - Y``, divided by the batch size m (for targets
    whose rows sum to 1; in general softmax * sum(target) - target): one op of its own,
    ``CrossEntropyBackward``, NumPy kernels for the first order and Tensor ops for the next.
    Class ids are used as indices, never expanded to an (m, C) one-hot array in forward.
    """

    @staticmethod
    def forward(ctx, logits, target):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be 2-D (batch, classes), got shape {logits.shape}")
        ids = class_ids(target, logits.shape)
        target = probability_targets(target, logits.shape, logits.dtype) if ids is None else ids
        log_probs = log_softmax_array(logits._data, axis=1)
        # Per-row terms first, so one-hot rows give bit for bit the class ids' result.
        per_row = (target * log_probs).sum(axis=1) if ids is None else log_probs[np.arange(len(ids)), ids]
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(logits, log_probs, target)
        return np.asarray(-np.sum(per_row) / logits.shape[0], dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        logits, log_probs, target = ctx.saved_tensors
        return CrossEntropyBackward.apply(logits, grad, log_probs, target), None


class CrossEntropyBackward(Function):
    """The gradient of ``CrossEntropy`` with respect to its logits, ``(softmax * sum(target) - target) * grad / m``.

    Inputs: the logits, the (0-d) gradient of the loss, and two constants from forward,
    its log-probabilities and the target. Its own backward is written in Tensor ops (the
    softmax recomputed from the logits), so the loss is differentiable to any order.
    """

    @staticmethod
    def forward(ctx, logits, grad, log_probs, target):
        m = log_probs.shape[0]
        probs = np.exp(log_probs._data)
        if target.ndim == 1:  # class ids: subtract the one-hot rows in place
            probs[np.arange(m), target._data] -= 1
        else:
            probs = probs * target._data.sum(axis=1, keepdims=True) - target._data
        if True in ctx.needs_input_grad:
            ctx.save_for_backward(logits, grad, target)
        probs *= grad._data / m
        return probs

    @staticmethod
    def backward(ctx, upstream):
        logits, grad, target = ctx.saved_tensors
        m = logits.shape[0]
        probs = logits.softmax(1)
        if target.ndim == 1:
            onehot = np.zeros(logits.shape, dtype=logits.dtype)
            onehot[np.arange(m), target._data] = 1
            weight, residual = 1, probs - onehot
        else:
            weight = target.sum(dim=1, keepdim=True)
            residual = probs * weight - target
        grad_logits = grad_grad = None
        if ctx.needs_input_grad[0]:  # the softmax's vector-Jacobian product, scaled
            scaled = upstream * weight
            grad_logits = probs * (scaled - (scaled * probs).sum(1, keepdim=True)) * (grad / m)
        if ctx.needs_input_grad[1]:
            grad_grad = (upstream * residual).sum() / m
        return grad_logits, grad_grad
