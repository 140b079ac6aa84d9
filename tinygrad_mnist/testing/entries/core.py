"""Registry entries of the ops that came first: arithmetic, the MNIST network's ops, reshape/permute/expand.

Strategies keep inputs where finite differences are meaningful: logs of x > 0, relu, max
and pooling away from their kinks and ties, denominators away from zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from ... import nn, ops
from ..graphs import shapes
from ..registry import Sample, register_op
from .samples import (
    binary,
    convolutions,
    expands,
    grid_arrays,
    images,
    linears,
    logits_and_classes,
    matmuls,
    permutations,
    positive,
    reshapes,
    sum_to_sizes,
    unary,
)

# ----- NumPy references ----------------------------------------------------------------


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _windows(x: np.ndarray, kernel_size: int, stride: int, padding: int, fill: float) -> np.ndarray:
    """(N, C, out_h, out_w, k, k) windows of padded images."""
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(padded, (kernel_size, kernel_size), axis=(2, 3))
    return view[:, :, ::stride, ::stride]


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> np.ndarray:
    kh, kw = weight.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    view = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,ocij->nohw", view, weight) + bias[:, None, None]


def _sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` summed over its leading axes and the axes ``shape`` has as 1: undoing a broadcast."""
    x = x.sum(axis=tuple(range(x.ndim - len(shape))))
    return x.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


def _cross_entropy(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    return -_log_softmax(x, 1)[np.arange(len(target)), target].mean()


def _dropout_mask(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(7).random(shape) >= 0.3


def _torch_target(torch: Any, target: np.ndarray) -> Any:
    return torch.from_numpy(target)


# ----- the entries ---------------------------------------------------------------------

F = nn.functional
register_op("add", lambda a, b: a + b, binary(), np.add, lambda t, a, b: a + b, covers=["Tensor.__add__"])
register_op("sub", lambda a, b: a - b, binary(), np.subtract, lambda t, a, b: a - b, covers=["Tensor.__sub__"])
register_op("mul", lambda a, b: a * b, binary(), np.multiply, lambda t, a, b: a * b, covers=["Tensor.__mul__"])
register_op(
    "div", lambda a, b: a / b, binary(second=positive), np.divide, lambda t, a, b: a / b, covers=["Tensor.__truediv__"]
)
register_op(
    "scalar_on_the_left",
    lambda x: 2.5 - x * 1.5 + 0.5 / x + 3 * x,
    unary(positive),
    lambda x: 2.5 - x * 1.5 + 0.5 / x + 3 * x,
    lambda t, x: 2.5 - x * 1.5 + 0.5 / x + 3 * x,
    covers=["Tensor.__radd__", "Tensor.__rsub__", "Tensor.__rmul__", "Tensor.__rtruediv__"],
)
register_op("neg", lambda x: -x, unary(), np.negative, lambda t, x: -x, covers=["Tensor.__neg__"])
register_op("exp", lambda x: x.exp(), unary(), np.exp, lambda t, x: x.exp(), covers=["Tensor.exp"])
register_op("log", lambda x: x.log(), unary(positive), np.log, lambda t, x: x.log(), covers=["Tensor.log"])
register_op(
    "relu",
    lambda x: x.relu(),
    unary(),
    lambda x: np.maximum(x, 0),
    lambda t, x: x.relu(),
    covers=["Tensor.relu", "nn.functional.relu"],
)
register_op(
    "sigmoid",
    lambda x: F.sigmoid(x),
    unary(),
    lambda x: 1 / (1 + np.exp(-x)),
    lambda t, x: x.sigmoid(),
    covers=["Tensor.sigmoid", "nn.functional.sigmoid"],
)
register_op(
    "tanh", lambda x: F.tanh(x), unary(), np.tanh, lambda t, x: x.tanh(), covers=["Tensor.tanh", "nn.functional.tanh"]
)
register_op(
    "pow",
    lambda x, exponent: x**exponent,
    st.sampled_from([2, 3, -1, 0.5, 1.5]).flatmap(lambda e: unary(positive, exponent=e)),
    lambda x, exponent: np.power(x, exponent),
    lambda t, x, exponent: x**exponent,
    covers=["Tensor.__pow__"],
)
register_op(
    "matmul_transposed",
    lambda a, b: ops.MatMul.apply(a, b, True, True),
    matmuls().map(lambda s: Sample((s.inputs[0].T.copy(), s.inputs[1].T.copy()))),
    lambda a, b: a.T @ b.T,
    lambda t, a, b: a.T @ b.T,
)
register_op(
    "linear",
    F.linear,
    linears(),
    lambda x, w, b: x @ w.T + b,
    lambda t, x, w, b: t.nn.functional.linear(x, w, b),
    mixes_dtypes=False,
    covers=["nn.functional.linear"],
)
register_op(
    "linear_without_bias",
    F.linear,
    linears(bias=False),
    lambda x, w: x @ w.T,
    lambda t, x, w: x @ w.T,
    mixes_dtypes=False,
)
register_op(
    "expand",
    lambda x, shape: x.expand(shape),
    expands(),
    lambda x, shape: np.broadcast_to(x, shape),
    lambda t, x, shape: x.expand(shape),
    covers=["Tensor.expand"],
)
register_op(
    "sum_to_size",
    lambda x, shape: x.sum_to_size(shape),
    sum_to_sizes(),
    lambda x, shape: _sum_to(x, shape),
    covers=["Tensor.sum_to_size"],
)
register_op(
    "reshape",
    lambda x, shape: x.reshape(shape),
    reshapes(),
    np.reshape,
    lambda t, x, shape: x.reshape(shape),
    covers=["Tensor.reshape"],
)
register_op(
    "permute",
    lambda x, axes: x.permute(*axes),
    permutations(),
    np.transpose,
    lambda t, x, axes: x.permute(*axes),
    covers=["Tensor.permute"],
)
register_op(
    "T",
    lambda x: x.T,
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_dims=2, max_dims=2))),
    np.transpose,
    lambda t, x: x.T,
    covers=["Tensor.T"],
)
register_op(
    "flatten",
    lambda x: F.flatten(x),
    st.builds(lambda s: Sample((s,)), grid_arrays(shapes(min_dims=2))),
    lambda x: x.reshape(x.shape[0], -1),
    lambda t, x: x.flatten(1),
    covers=["Tensor.flatten", "nn.functional.flatten"],
)
register_op("clone", lambda x: x.clone(), unary(), np.copy, lambda t, x: x.clone(), covers=["Tensor.clone"])
register_op(
    "to",
    lambda x: x.to(np.float64) * x.double(),
    unary(),
    np.square,
    keeps_float32=False,
    covers=["Tensor.to", "Tensor.double"],
)
register_op(
    "cross_entropy",
    lambda x, target: F.cross_entropy(x, target),
    logits_and_classes(),
    _cross_entropy,
    lambda t, x, target: t.nn.functional.cross_entropy(x, _torch_target(t, target)),
    covers=["Tensor.cross_entropy", "nn.functional.cross_entropy"],
)
register_op(
    "dropout",
    lambda x: F.dropout(x, 0.3, generator=7),
    unary(),
    lambda x: x * _dropout_mask(x.shape) / 0.7,
    covers=["nn.functional.dropout"],
)
register_op(
    "conv2d",
    lambda x, w, b, stride, padding: x.conv2d(w, b, stride, padding),
    convolutions(),
    _conv2d,
    lambda t, x, w, b, stride, padding: t.nn.functional.conv2d(x, w, b, stride=stride, padding=padding),
    mixes_dtypes=False,
    covers=["ops.conv2d", "Tensor.conv2d"],
    examples=6,
)
register_op(
    "max_pool2d",
    lambda x, kernel_size, stride, padding: x.max_pool2d(kernel_size, stride, padding),
    images(unique=True),
    lambda x, kernel_size, stride, padding: _windows(x, kernel_size, stride, padding, -np.inf).max(axis=(-1, -2)),
    lambda t, x, kernel_size, stride, padding: t.nn.functional.max_pool2d(x, kernel_size, stride, padding),
    covers=["ops.max_pool2d", "Tensor.max_pool2d"],
    examples=6,
)
register_op(
    "avg_pool2d",
    lambda x, kernel_size, stride, padding: x.avg_pool2d(kernel_size, stride, padding),
    images(),
    lambda x, kernel_size, stride, padding: _windows(x, kernel_size, stride, padding, 0.0).mean(axis=(-1, -2)),
    lambda t, x, kernel_size, stride, padding: t.nn.functional.avg_pool2d(x, kernel_size, stride, padding),
    covers=["ops.avg_pool2d", "Tensor.avg_pool2d"],
    examples=6,
)

#: Tensor's public methods that need no entry: no gradient (in-place writes on leaves,
#: attributes), or a cast to float32, whose derivative float64 finite differences cannot see.
NOT_OPS = frozenset(
    {
        "backward", "retain_grad", "requires_grad_", "detach", "is_leaf", "grad_fn", "grad", "requires_grad",
        "add_", "sub_", "mul_", "div_", "fill_", "zero_", "copy_",
        "shape", "dtype", "ndim", "size", "item", "numpy", "float", "data",
    }
)  # fmt: skip
