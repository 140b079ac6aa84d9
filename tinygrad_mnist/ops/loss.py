"""Softmax, log-softmax and the fused softmax-cross-entropy loss.

All three subtract the (constant) maximum before exponentiating, so logits of
any size give finite results: softmax(x) = softmax(x - max(x)).
"""

from __future__ import annotations

import numpy as np

from .op import Op


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


class Softmax(Op):
    returns_new_arrays = True

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        shifted = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
        out = shifted / np.sum(shifted, axis=self.axis, keepdims=True)
        self.save(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (out * (grad - np.sum(grad * out, axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    returns_new_arrays = True

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x):
        out = _log_softmax(x, self.axis)
        self.save(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad - np.exp(out) * np.sum(grad, axis=self.axis, keepdims=True),)


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


class CrossEntropy(Op):
    """Mean over the batch of -sum(target * log_softmax(logits)), classes on axis 1.

    Backward is the notebook's ``dZ = AL - Y``, divided by the batch size m
    (for targets whose rows sum to 1; in general softmax * sum(target) - target).
    Class ids are used as indices, never expanded to an (m, C) one-hot array.
    """

    returns_new_arrays = True

    def __init__(self, target: np.ndarray) -> None:
        super().__init__()
        self.target = target

    def forward(self, logits):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be 2-D (batch, classes), got shape {logits.shape}")
        ids = class_ids(self.target, logits.shape)
        target = probability_targets(self.target, logits.shape, logits.dtype) if ids is None else ids
        del self.target
        log_probs = _log_softmax(logits, axis=1)
        # Per-row terms first, so one-hot rows give bit for bit the class ids' result.
        per_row = (target * log_probs).sum(axis=1) if ids is None else log_probs[np.arange(len(ids)), ids]
        loss = -np.sum(per_row) / logits.shape[0]
        if any(self.needs_input_grad):
            self.save(log_probs, target)
        return np.asarray(loss, dtype=logits.dtype)

    def backward(self, grad):
        log_probs, target = self.saved
        m = log_probs.shape[0]
        probs = np.exp(log_probs)
        if target.ndim == 1:  # class ids: subtract the one-hot rows in place
            probs[np.arange(m), target] -= 1
        else:
            probs = probs * target.sum(axis=1, keepdims=True) - target
        probs *= grad / m
        return (probs,)
