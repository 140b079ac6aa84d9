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


def one_hot_targets(target: np.ndarray, logits_shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Targets as an (m, C) array of probabilities: class ids are one-hot encoded.

    Raises a ValueError naming the shapes or the first bad class id.
    """
    m, classes = logits_shape
    if target.ndim == 1 and np.issubdtype(target.dtype, np.integer):
        if target.shape[0] != m:
            raise ValueError(f"cross_entropy: {m} rows of logits but {target.shape[0]} targets")
        bad = np.flatnonzero((target < 0) | (target >= classes))
        if bad.size:
            raise ValueError(
                f"cross_entropy: target {target[bad[0]]} at row {bad[0]} is not a class id in 0..{classes - 1}"
            )
        onehot = np.zeros(logits_shape, dtype=dtype)
        onehot[np.arange(m), target] = 1
        return onehot
    if target.shape != logits_shape:
        raise ValueError(
            f"cross_entropy: logits {logits_shape} need class ids of shape ({m},) "
            f"or one-hot targets of shape {logits_shape}, got {target.shape}"
        )
    return target.astype(dtype, copy=False)


class CrossEntropy(Op):
    """Mean over the batch of -sum(target * log_softmax(logits)), classes on axis 1.

    Backward is the notebook's ``dZ = AL - Y``, divided by the batch size m
    (for targets whose rows sum to 1; in general softmax * sum(target) - target).
    """

    def __init__(self, target: np.ndarray) -> None:
        super().__init__()
        self.target = target

    def forward(self, logits):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be 2-D (batch, classes), got shape {logits.shape}")
        target = one_hot_targets(self.target, logits.shape, logits.dtype)
        del self.target
        log_probs = _log_softmax(logits, axis=1)
        m = logits.shape[0]
        loss = -np.sum(target * log_probs) / m
        if any(self.needs_input_grad):
            self.save(log_probs, target)
        return np.asarray(loss, dtype=logits.dtype)

    def backward(self, grad):
        log_probs, target = self.saved
        m = log_probs.shape[0]
        probs = np.exp(log_probs)
        total = target.sum(axis=1, keepdims=True)
        return ((probs * total - target) * (grad / m),)
