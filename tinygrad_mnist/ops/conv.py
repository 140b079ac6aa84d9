"""2-D convolution and pooling over NCHW image batches, differentiable to any order.

``conv2d`` is im2col plus one matrix product: ``Im2Col`` makes every kernel window of
the padded input one row of a matrix (its values in (kh, kw, channel) order), and
``ConvMatmul`` multiplies it by the weight in that order, (C_out, kh * kw * C_in), and
adds the bias in place, so a whole layer is a single BLAS call. The (pixel, out-channel)
product is handed back as an NCHW view of channels-last memory, like PyTorch's
``channels_last`` tensors: no transposing copy, and the next layer reads each pixel's
channels as one contiguous run.

Backward reuses the two matrices: the kernel's gradient is ``grad_rows.T @ cols``; the
window gradients come from one batched product, kernel offset by kernel offset
(``ConvMatmulAdjoint``), so that ``Col2Im`` adds each offset's contiguous block back onto
the pixels it came from with one strided add (kh * kw adds, never a loop over pixels).
Pooling visits the kernel offsets the same way, each offset one strided slice.

Every backward rule is a Tensor operation, so a gradient carries a graph of its own
under ``create_graph=True``. The rules come in adjoint pairs, each the other's backward,
so any order of derivative is two ops taking turns:

- ``Im2Col`` (windows out of the pixels) and ``Col2Im`` (windows added back onto them);
- ``ConvMatmul`` (windows times kernel) and ``ConvMatmulAdjoint`` (gradient times kernel,
  the windows' gradient), bilinear, with the kernel's gradient ``grad.T @ windows`` in both;
- ``AvgPool2d`` (each window's mean) and ``AvgUnpool2d`` (each value spread evenly over its window);
- ``MaxUnpool2d`` (each value onto its window's winning pixel: max pooling's backward) and
  ``GatherWinners`` (each window's value read at its winner). The winners are constants,
  so max pooling's second derivative in its input is zero, as PyTorch's.

PyTorch's semantics throughout: output size ``(size + 2 * padding - kernel) // stride + 1``,
max pooling's gradient to each window's first maximum in row-major order, padding as -inf
for max and as zeros counted in the mean for average pooling.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd.function import Function
from .matmul import MatMul

if TYPE_CHECKING:
    from ..tensor import Tensor

Pair = tuple[int, int]
IntOrPair = int | tuple[int, int]


def as_pair(value: IntOrPair, op: str, what: str, minimum: int) -> Pair:
    """An int or a pair of ints as a (height, width) pair, each at least ``minimum``; ``op`` names the caller."""
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and v >= minimum for v in pair):
        raise ValueError(f"{op}: {what} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def pool_arguments(
    op: str, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> tuple[Pair, Pair, Pair]:
    """A pooling call's (kernel, stride, padding) as pairs, checked; ``stride`` defaults to the kernel.

    Public so that pooling layers can refuse bad arguments when they are built, with the op's messages.
    """
    kernel = as_pair(kernel_size, op, "kernel_size", minimum=1)
    stride_pair = kernel if stride is None else as_pair(stride, op, "stride", minimum=1)
    padding_pair = as_pair(padding, op, "padding", minimum=0)
    if any(2 * p > k for p, k in zip(padding_pair, kernel, strict=True)):
        raise ValueError(f"{op}: padding {padding_pair} must be at most half the kernel size {kernel}")
    return kernel, stride_pair, padding_pair


def _check_images(op: str, x: np.ndarray) -> None:
    """Raise unless ``x`` is a 4-D floating-point (batch, channels, height, width) array."""
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (batch, channels, height, width), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{op}: input must be floating-point, got {x._data.dtype}")


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


def _channels_last_zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Zeros of NCHW ``shape`` laid out channels-last in memory, the layout conv2d produces."""
    n, c, h, w = shape
    return np.zeros((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def _channels_last_copy(a: np.ndarray) -> np.ndarray:
    """A fresh copy of NCHW ``a`` laid out channels-last, so elementwise work with the others runs contiguous."""
    return a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)


@dataclass(frozen=True)
class _Windows:
    """Where one call's kernel windows sit on its padded input, and the slices each kernel offset sees.

    The same windows serve an op and every derivative of it, so each op keeps them on its ctx.
    """

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

    @property
    def area(self) -> int:
        """Pixels per window, kh * kw: also the number of kernel offsets."""
        return self.kernel[0] * self.kernel[1]

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

    def offset_views(self, x: np.ndarray, fill: float) -> Iterator[np.ndarray]:
        """Each kernel offset's (N, C, out_h, out_w) view of ``x`` padded with ``fill``, in ``offsets()`` order."""
        padded = self.pad(x, fill)
        return (padded[:, :, rows, cols] for rows, cols in self.offsets())

    def add_back(self, offset_grads: Iterable[np.ndarray], dtype: np.dtype) -> np.ndarray:
        """Each kernel offset's (N, C, out_h, out_w) values added onto the pixels it saw: the adjoint of
        ``offset_views``, returned as an (N, C, H, W) view of channels-last memory.

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


# ----- convolution -----------------------------------------------------------------------


class Im2Col(Function):
    """The (N * out_h * out_w, kh * kw, C) windows of an (N, C, H, W) input, zero-padded.

    Row ``(n, r, s)`` is the window under output pixel (r, s) of image n, its values in
    (kh, kw, channel) order, so that the kernel is the weight in channels-last order.
    Linear in the input; its backward is ``Col2Im``, the adjoint.
    """

    @staticmethod
    def forward(ctx, x, windows):
        ctx.windows = windows
        (kh, kw), (sh, sw), (oh, ow) = windows.kernel, windows.stride, windows.out_size
        n, c = windows.padded_shape[:2]
        cells = sliding_window_view(windows.pad(x._data, 0), (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        return cells.transpose(0, 2, 3, 4, 5, 1).reshape(n * oh * ow, kh * kw, c)  # the one copy

    @staticmethod
    def backward(ctx, grad):
        return Col2Im.apply(grad, ctx.windows)


class Col2Im(Function):
    """Windows (``Im2Col``'s shape) summed back onto the (N, C, H, W) pixels, padding cut off.

    Each kernel offset's (rows, C) slice is one strided add onto the padded image: one
    contiguous block when the windows come from ``ConvMatmulAdjoint``. Linear; its
    backward is ``Im2Col``, the adjoint.
    """

    @staticmethod
    def forward(ctx, cols, windows):
        ctx.windows = windows
        n, c = windows.padded_shape[:2]
        (oh, ow), area = windows.out_size, windows.area
        per_offset = cols._data.reshape(n, oh, ow, area, c)  # a view, whatever the memory order of offsets
        return windows.add_back((per_offset[:, :, :, k].transpose(0, 3, 1, 2) for k in range(area)), cols.dtype)

    @staticmethod
    def backward(ctx, grad):
        return Im2Col.apply(grad, ctx.windows)


def _kernel_grad(grad: Tensor, windows: Tensor, kernel_shape: tuple[int, ...]) -> Tensor:
    """``grad.T @ windows``: the (C_out, kh * kw, C_in) kernel's gradient, in Tensor ops (so recorded when asked)."""
    return MatMul.apply(grad, windows.reshape(windows.shape[0], -1), True).reshape(kernel_shape)


class ConvMatmul(Function):
    """Windows (rows, kh * kw, C_in) times a kernel (C_out, kh * kw, C_in), summed over both last axes,
    plus a (C_out,) bias: the (rows, C_out) product, one BLAS call with the bias added in place.

    ``Linear`` on the flattened windows, but for the windows' gradient: ``ConvMatmulAdjoint``
    makes it offset by offset, one contiguous (rows, C_in) block per kernel offset, which
    ``Col2Im`` adds back at a speed a row-major (rows, kh * kw * C_in) product would not
    give. The kernel's gradient ``grad.T @ windows`` reuses the saved windows; the bias's
    is the column sums as a BLAS product, ``grad.T @ ones``, a quarter of the time of
    NumPy's ``sum(axis=0)`` over a tall gradient.
    """

    @staticmethod
    def forward(ctx, cols, kernel, bias=None):
        needs = ctx.needs_input_grad
        if True in needs:  # the windows' gradient needs the kernel, the kernel's the windows
            ctx.save_for_backward(kernel if needs[0] else None, cols if needs[1] else None)
            ctx.kernel_shape = kernel.shape
        rows, out_channels = cols.shape[0], kernel.shape[0]
        out = cols._data.reshape(rows, -1) @ kernel._data.reshape(out_channels, -1).T
        if bias is not None:
            out += bias._data
        return out

    @staticmethod
    def backward(ctx, grad):
        kernel, cols = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            ConvMatmulAdjoint.apply(grad, kernel) if needs[0] else None,
            _kernel_grad(grad, cols, ctx.kernel_shape) if needs[1] else None,
            (grad.T @ np.ones((grad.shape[0], 1), grad.dtype)).reshape(-1) if needs[2] else None,
        )


class ConvMatmulAdjoint(Function):
    """A (rows, C_out) gradient times a (C_out, kh * kw, C_in) kernel: the windows' gradient, (rows, kh * kw, C_in).

    One batched product, each kernel offset's (rows, C_in) block contiguous in memory (a
    view of (kh * kw, rows, C_in)). Bilinear; its backward is ``ConvMatmul`` for the
    gradient and ``grad.T @ windows`` for the kernel, so the two ops take turns at every order.
    """

    @staticmethod
    def forward(ctx, grad, kernel):
        needs = ctx.needs_input_grad
        if True in needs:
            ctx.save_for_backward(kernel if needs[0] else None, grad if needs[1] else None)
            ctx.kernel_shape = kernel.shape
        return np.matmul(grad._data, kernel._data.transpose(1, 0, 2)).transpose(1, 0, 2)

    @staticmethod
    def backward(ctx, windows_grad):
        kernel, grad = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            ConvMatmul.apply(windows_grad, kernel, None) if needs[0] else None,
            _kernel_grad(grad, windows_grad, ctx.kernel_shape) if needs[1] else None,
        )


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
) -> Tensor:
    """Cross-correlation of (N, C_in, H, W) images with (C_out, C_in, kh, kw) kernels, plus a (C_out,) bias.

    PyTorch's ``conv2d``: same layouts, output size ``(H + 2 * padding - kh) // stride + 1``.
    Three recorded steps, each differentiable to any order: ``Im2Col``, ``ConvMatmul`` with
    the weight in channels-last order, and a reshape to an NCHW view of the channels-last
    product. Images that need no gradient (a first layer's) get no ``Im2Col`` node, and
    ``ConvMatmul`` then keeps no kernel for them.
    """
    stride_pair = as_pair(stride, "conv2d", "stride", minimum=1)
    padding_pair = as_pair(padding, "conv2d", "padding", minimum=0)
    _check_conv_inputs(x._data, weight._data, None if bias is None else bias._data)
    out_channels, in_channels, kh, kw = weight.shape
    windows = _Windows.over("conv2d", x.shape, (kh, kw), stride_pair, padding_pair)
    cols = Im2Col.apply(x, windows)
    kernel = weight.permute(0, 2, 3, 1).reshape(out_channels, kh * kw, in_channels)
    rows = ConvMatmul.apply(cols, kernel, bias)
    oh, ow = windows.out_size
    return rows.reshape(x.shape[0], oh, ow, out_channels).permute(0, 3, 1, 2)


# ----- max pooling -----------------------------------------------------------------------


class MaxPool2d(Function):
    """Maximum over each kernel window; padding counts as -inf.

    Where a gradient is wanted, forward also finds each window's winner: the kernel offset
    of its first maximum in row-major order, the pixel PyTorch's gradient goes to. The
    winners are a one-byte constant per output (saved, so freed by backward); the
    gradient is ``MaxUnpool2d`` onto them.
    """

    @staticmethod
    def forward(ctx, x, windows):
        candidates = windows.offset_views(x._data, -np.inf)
        out = _channels_last_copy(next(candidates))
        if not ctx.needs_input_grad[0]:
            for candidate in candidates:
                np.maximum(out, candidate, out=out)
            return out
        # A candidate beats the running maximum where taking it changes the maximum; offsets
        # only grow, so max(winner, k * changed) keeps the last change: the first maximum.
        winner = np.zeros_like(out, dtype=np.min_scalar_type(windows.area - 1))
        previous = np.empty_like(out)  # two buffers, swapped each step: both stay channels-last
        for k, candidate in enumerate(candidates, start=1):
            previous, out = out, np.maximum(out, candidate, out=previous)
            np.maximum(winner, np.not_equal(out, previous) * winner.dtype.type(k), out=winner)
        ctx.windows = windows
        ctx.save_for_backward(winner)
        return out

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_tensors
        return MaxUnpool2d.apply(grad, winner._data, ctx.windows)


class MaxUnpool2d(Function):
    """Each (N, C, out_h, out_w) value put on its window's winning pixel of the (N, C, H, W) input,
    adding up where windows share a winner: max pooling's backward.

    Linear in its first argument (the winners are constants); its backward is ``GatherWinners``.
    """

    @staticmethod
    def forward(ctx, grad, winner, windows):
        if ctx.needs_input_grad[0]:
            ctx.windows = windows
            ctx.save_for_backward(winner)
        grad = _channels_last_copy(grad._data)
        return windows.add_back((grad * (winner == k) for k in range(windows.area)), grad.dtype)

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_tensors
        return GatherWinners.apply(grad, winner._data, ctx.windows)


class GatherWinners(Function):
    """Each window's value of an (N, C, H, W) input read at its winner: (N, C, out_h, out_w), channels-last.

    One masked copy per kernel offset. Linear; the adjoint, and backward, of ``MaxUnpool2d``.
    """

    @staticmethod
    def forward(ctx, x, winner, windows):
        if ctx.needs_input_grad[0]:
            ctx.windows = windows
            ctx.save_for_backward(winner)
        out = np.zeros_like(winner, dtype=x.dtype)  # the winners' layout: channels-last
        for k, candidate in enumerate(windows.offset_views(x._data, 0)):
            np.copyto(out, candidate, where=winner == k)
        return out

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_tensors
        return MaxUnpool2d.apply(grad, winner._data, ctx.windows)


def _pool_windows(op: str, x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair) -> _Windows:
    """The checked windows of one pooling call over ``x``."""
    kernel, stride_pair, padding_pair = pool_arguments(op, kernel_size, stride, padding)
    _check_images(op, x._data)
    return _Windows.over(op, x.shape, kernel, stride_pair, padding_pair)


def max_pool2d(x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0) -> Tensor:
    """Maximum over each window of (N, C, H, W) images, PyTorch's ``max_pool2d``; ``stride`` defaults to
    ``kernel_size``, padding (at most half the kernel) counts as -inf. The gradient goes to each
    window's first maximum."""
    return MaxPool2d.apply(x, _pool_windows("max_pool2d", x, kernel_size, stride, padding))


# ----- average pooling -------------------------------------------------------------------


class AvgPool2d(Function):
    """Mean over each kernel window, zero padding counted (PyTorch's ``count_include_pad=True``).

    Linear; its backward is ``AvgUnpool2d``, the adjoint.
    """

    @staticmethod
    def forward(ctx, x, windows):
        ctx.windows = windows
        candidates = windows.offset_views(x._data, 0)
        out = _channels_last_copy(next(candidates))
        for candidate in candidates:
            out += candidate
        out /= windows.area
        return out

    @staticmethod
    def backward(ctx, grad):
        return AvgUnpool2d.apply(grad, ctx.windows)


class AvgUnpool2d(Function):
    """Each (N, C, out_h, out_w) value divided evenly over its window's pixels, adding up where
    windows overlap: average pooling's backward. Linear; its backward is ``AvgPool2d``."""

    @staticmethod
    def forward(ctx, grad, windows):
        ctx.windows = windows
        share = _channels_last_copy(grad._data)
        share /= windows.area
        return windows.add_back(repeat(share, windows.area), share.dtype)

    @staticmethod
    def backward(ctx, grad):
        return AvgPool2d.apply(grad, ctx.windows)


def avg_pool2d(x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0) -> Tensor:
    """Mean over each window of (N, C, H, W) images, PyTorch's ``avg_pool2d``; ``stride`` defaults to
    ``kernel_size``, zero padding (at most half the kernel) counts towards the mean."""
    return AvgPool2d.apply(x, _pool_windows("avg_pool2d", x, kernel_size, stride, padding))
