"""2-D convolution and pooling over NCHW image batches.

``Conv2d`` is im2col plus one matrix product: every kernel window of the padded
input becomes one row of a matrix (its values in (kh, kw, channel) order), so a
whole layer is a single BLAS call. The (pixel, out-channel) product is handed back
as an NCHW view of channels-last memory, like PyTorch's ``channels_last`` tensors:
no transposing copy, and the next layer reads each pixel's channels as one
contiguous run.

Backward reuses the two matrices: the weight gradient is ``grad_rows.T @ cols``;
the window gradients ``grad_rows @ kernel`` go back onto the pixels they came from
with one strided add per kernel offset (kh * kw adds, never a loop over pixels).
Pooling visits the kernel offsets the same way, each offset one strided slice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .op import Op

Pair = tuple[int, int]


def _pair(value: int | tuple[int, int], op: str, what: str, minimum: int) -> Pair:
    """An int or a pair of ints as a (height, width) pair, each at least ``minimum``."""
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and v >= minimum for v in pair):
        raise ValueError(f"{op}: {what} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_images(op: str, x: np.ndarray) -> None:
    """Raise unless ``x`` is a 4-D floating-point (batch, channels, height, width) array."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (batch, channels, height, width), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{op}: input must be floating-point, got {x.dtype}")


def _channels_last_zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Zeros of NCHW ``shape`` laid out channels-last in memory, the layout conv2d produces."""
    n, c, h, w = shape
    return np.zeros((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def _channels_last_copy(a: np.ndarray) -> np.ndarray:
    """A fresh copy of NCHW ``a`` laid out channels-last, so elementwise work with the others runs contiguous."""
    return a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)


@dataclass(frozen=True)
class _Windows:
    """Where one call's kernel windows sit on its padded input, and the slices each kernel offset sees."""

    kernel: Pair
    stride: Pair
    padding: Pair
    padded_shape: tuple[int, int, int, int]
    out_size: Pair

    @classmethod
    def over(cls, op: str, x_shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> _Windows:
        """The windows over an input of ``x_shape``; a clear error when the kernel does not fit."""
        n, c, h, w = x_shape
        hp, wp = h + 2 * padding[0], w + 2 * padding[1]
        if kernel[0] > hp or kernel[1] > wp:
            raise ValueError(
                f"{op}: kernel {kernel[0]}x{kernel[1]} is larger than the padded input {hp}x{wp} "
                f"(input {x_shape}, padding {padding}); use a smaller kernel or more padding"
            )
        out_size = (hp - kernel[0]) // stride[0] + 1, (wp - kernel[1]) // stride[1] + 1
        return cls(kernel, stride, padding, (n, c, hp, wp), out_size)

    def pad(self, x: np.ndarray, fill: float) -> np.ndarray:
        """``x`` inside a border of ``fill``, in ``x``'s own memory layout (``x`` itself if no padding)."""
        ph, pw = self.padding
        if ph == pw == 0:
            return x
        padded = np.full_like(x, fill, shape=self.padded_shape)
        padded[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]] = x
        return padded

    def offsets(self) -> Iterator[tuple[slice, slice]]:
        """For each kernel offset (i, j), row-major, the (rows, cols) slices of the padded input it sees.

        Offset (i, j) of all windows at once is ``padded[:, :, i::stride_h, j::stride_w]``
        cut to the output size: an (N, C, out_h, out_w) view.
        """
        (kh, kw), (sh, sw), (oh, ow) = self.kernel, self.stride, self.out_size
        for i in range(kh):
            for j in range(kw):
                yield slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)

    def add_back(self, offset_grads: Iterable[np.ndarray], dtype: np.dtype) -> np.ndarray:
        """The input gradient: each kernel offset's (N, C, out_h, out_w) gradient added onto the pixels it saw.

        ``offset_grads`` come in the order of ``offsets()``. Where windows overlap they add up;
        where they do not (stride >= kernel), each pixel is written once, without the add.
        """
        grad_padded = _channels_last_zeros(self.padded_shape, dtype)
        overlapping = self.stride[0] < self.kernel[0] or self.stride[1] < self.kernel[1]
        for (rows, cols), offset_grad in zip(self.offsets(), offset_grads, strict=True):
            if overlapping:
                grad_padded[:, :, rows, cols] += offset_grad
            else:
                grad_padded[:, :, rows, cols] = offset_grad
        (ph, pw), (_, _, hp, wp) = self.padding, self.padded_shape
        return grad_padded[:, :, ph : hp - ph, pw : wp - pw]


class Conv2d(Op):
    """Cross-correlation of (N, C_in, H, W) images with (C_out, C_in, kh, kw) kernels, plus a (C_out,) bias.

    PyTorch's ``conv2d``: same layouts, output size ``(H + 2 * padding - kh) // stride + 1``.
    Inputs: ``x, weight`` or ``x, weight, bias``.
    """

    returns_new_arrays = True

    def __init__(self, stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.stride = _pair(stride, "conv2d", "stride", minimum=1)
        self.padding = _pair(padding, "conv2d", "padding", minimum=0)

    def forward(self, x, weight, bias=None):
        _check_conv_inputs(x, weight, bias)
        out_channels, in_channels, kh, kw = self.weight_shape = weight.shape
        self.has_bias = bias is not None
        self.windows = _Windows.over("conv2d", x.shape, (kh, kw), self.stride, self.padding)
        n, (oh, ow) = x.shape[0], self.windows.out_size
        windows = sliding_window_view(self.windows.pad(x, 0), (kh, kw), axis=(2, 3))
        windows = windows[:, :, :: self.stride[0], :: self.stride[1]]  # (n, c, oh, ow, kh, kw), a view
        cols = windows.transpose(0, 2, 3, 4, 5, 1).reshape(n * oh * ow, kh * kw * in_channels)
        kernel = weight.transpose(0, 2, 3, 1).reshape(out_channels, kh * kw * in_channels)
        out = cols @ kernel.T
        if bias is not None:
            out += bias
        self.save(cols if self.needs_input_grad[1] else None, kernel if self.needs_input_grad[0] else None)
        return out.reshape(n, oh, ow, out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad):
        cols, kernel = self.saved
        out_channels, in_channels, _, _ = self.weight_shape
        grad_rows = grad.transpose(0, 2, 3, 1).reshape(-1, out_channels)
        grad_x = self._input_grad(grad_rows, kernel) if self.needs_input_grad[0] else None
        grad_weight = None
        if self.needs_input_grad[1]:
            per_offset = (grad_rows.T @ cols).reshape(out_channels, -1, in_channels)
            grad_weight = np.ascontiguousarray(per_offset.transpose(0, 2, 1)).reshape(self.weight_shape)
        if not self.has_bias:
            return grad_x, grad_weight
        return grad_x, grad_weight, (grad_rows.sum(axis=0) if self.needs_input_grad[2] else None)

    def _input_grad(self, grad_rows: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """col2im: each window's gradient added back onto the pixels it covered.

        One batched product gives the window gradients offset by offset, (kh * kw, rows, C_in),
        so each strided add reads one contiguous block.
        """
        out_channels, in_channels, kh, kw = self.weight_shape
        n, (oh, ow) = self.windows.padded_shape[0], self.windows.out_size
        per_offset_kernel = kernel.reshape(out_channels, kh * kw, in_channels).transpose(1, 0, 2)
        window_grads = np.matmul(grad_rows, per_offset_kernel).reshape(kh * kw, n, oh, ow, in_channels)
        return self.windows.add_back((g.transpose(0, 3, 1, 2) for g in window_grads), grad_rows.dtype)


def _check_conv_inputs(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> None:
    """One clear message for each way conv2d's inputs can disagree."""
    _check_images("conv2d", x)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got shape {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: input {x.shape} has {x.shape[1]} channels but weight {weight.shape} "
            f"expects {weight.shape[1]} (weight is (out_channels, in_channels, kh, kw))"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"conv2d: bias must have shape ({weight.shape[0]},) for weight {weight.shape}, got {bias.shape}"
        )
    for name, other in (("weight", weight), ("bias", bias)):
        if other is not None and other.dtype != x.dtype:
            raise TypeError(
                f"conv2d: input is {x.dtype} but {name} is {other.dtype}; give them the same dtype (no silent casts)"
            )


class _Pool2d(Op):
    """What max and average pooling share: the window arguments, their checks, the offset views."""

    returns_new_arrays = True
    function_name = ""  #: PyTorch's functional name, used in messages
    pad_value = 0.0

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        name = self.function_name
        self.kernel = _pair(kernel_size, name, "kernel_size", minimum=1)
        self.stride = self.kernel if stride is None else _pair(stride, name, "stride", minimum=1)
        self.padding = _pair(padding, name, "padding", minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel, strict=True)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half the kernel size {self.kernel}")

    def _offset_views(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Check ``x``, then yield each kernel offset's (N, C, out_h, out_w) view of the padded input."""
        _check_images(self.function_name, x)
        self.windows = _Windows.over(self.function_name, x.shape, self.kernel, self.stride, self.padding)
        padded = self.windows.pad(x, self.pad_value)
        return (padded[:, :, rows, cols] for rows, cols in self.windows.offsets())


class MaxPool2d(_Pool2d):
    """Maximum over each kernel window; the gradient goes to the window's first maximum.

    ``stride`` defaults to ``kernel_size``; padding (at most half the kernel) counts as -inf.
    """

    function_name = "max_pool2d"
    pad_value = -np.inf

    def forward(self, x):
        candidates = self._offset_views(x)
        out = _channels_last_copy(next(candidates))
        if not any(self.needs_input_grad):
            for candidate in candidates:
                np.maximum(out, candidate, out=out)
            return out
        # The winning kernel offset. A candidate beats the running maximum where taking it changes
        # the maximum; offsets only grow, so max(winner, k * changed) keeps the last change: the
        # window's first maximum in row-major order, the one PyTorch's gradient goes to.
        winner = np.zeros_like(out, dtype=np.min_scalar_type(self.kernel[0] * self.kernel[1] - 1))
        previous = np.empty_like(out)  # two buffers, swapped each step: both stay channels-last
        for k, candidate in enumerate(candidates, start=1):
            previous, out = out, np.maximum(out, candidate, out=previous)
            np.maximum(winner, np.not_equal(out, previous) * winner.dtype.type(k), out=winner)
        self.save(winner)
        return out

    def backward(self, grad):
        (winner,) = self.saved
        grad = _channels_last_copy(grad)
        offsets = range(self.kernel[0] * self.kernel[1])
        return (self.windows.add_back((grad * (winner == k) for k in offsets), grad.dtype),)


class AvgPool2d(_Pool2d):
    """Mean over each kernel window; ``stride`` defaults to ``kernel_size``.

    Zero padding counts towards the mean (PyTorch's default ``count_include_pad=True``).
    """

    function_name = "avg_pool2d"

    def forward(self, x):
        candidates = self._offset_views(x)
        out = _channels_last_copy(next(candidates))
        for candidate in candidates:
            out += candidate
        out /= self.kernel[0] * self.kernel[1]
        return out

    def backward(self, grad):
        share = _channels_last_copy(grad)
        share /= self.kernel[0] * self.kernel[1]
        return (self.windows.add_back(repeat(share, self.kernel[0] * self.kernel[1]), grad.dtype),)
