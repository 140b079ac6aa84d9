"""Convolution and pooling layers over NCHW image batches, with PyTorch's names and parameter layout.

``Conv2d``'s weight is (out_channels, in_channels, kh, kw) and its bias (out_channels,),
as in ``torch.nn.Conv2d``, so a state dict moves between the two unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ops.conv import as_pair, avg_pool2d, conv2d, max_pool2d, pool_arguments
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter
from .registry import register_module

IntOrPair = int | tuple[int, int]


def _check_images(layer: Module, x: Tensor) -> None:
    """Refuse anything but a 4-D (batch, channels, height, width) input, naming the layer."""
    if x.ndim != 4:
        raise ValueError(
            f"{layer.label()}: input has shape {x.shape}, expected 4-D (batch, channels, height, width); "
            "reshape flat rows of pixels first, e.g. x.reshape(-1, 1, 28, 28)"
        )


def _call_checked(layer: Module, function: Callable[..., Tensor], x: Tensor, *arguments: Any) -> Tensor:
    """``function(x, *arguments)``; a shape the function refuses is reported with the layer's name."""
    _check_images(layer, x)
    try:
        return function(x, *arguments)
    except ValueError as error:
        raise ValueError(f"{layer.label()}: {error}") from None


def _as_given(value: IntOrPair | list[int]) -> IntOrPair:
    """An int as an int, a pair (or a JSON list) as a tuple."""
    return int(value) if isinstance(value, int | np.integer) else tuple(value)


@register_module
class Conv2d(Module):
    """2-D convolution (cross-correlation) of (N, C_in, H, W) images, PyTorch's ``nn.Conv2d``.

    Output size per side: ``(size + 2 * padding - kernel) // stride + 1``. Default
    initialisation is PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias,
    with ``fan_in = in_channels * kh * kw``. Parameters are float32 unless ``dtype`` says otherwise.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        bias: bool = True,
        dtype: Any = np.float32,
        generator: init.GeneratorLike = None,
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"Conv2d needs positive channel counts, got in_channels={in_channels}, out_channels={out_channels}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = as_pair(kernel_size, "Conv2d", "kernel_size", minimum=1)
        self.stride = as_pair(stride, "Conv2d", "stride", minimum=1)
        self.padding = as_pair(padding, "Conv2d", "padding", minimum=0)
        self.weight = Parameter(np.empty((out_channels, in_channels, *self.kernel_size), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator: init.GeneratorLike = None) -> None:
        """Draw fresh weights with the default initialisation."""
        init.default_(self.weight, self.bias, generator)

    def forward(self, x: Tensor) -> Tensor:
        return _call_checked(self, conv2d, x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text if self.bias is not None else text + ", bias=False"

    def label(self) -> str:
        return f"Conv2d({self.in_channels}→{self.out_channels}, {self.kernel_size[0]}x{self.kernel_size[1]})"

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "bias": self.bias is not None,
        }


class _Pool2d(Module):
    """What MaxPool2d and AvgPool2d share: arguments kept as given (PyTorch's repr), ``stride`` defaulting
    to ``kernel_size``, checked when the layer is built rather than at its first forward."""

    #: The functional op, e.g. ``max_pool2d``: its name is used in messages.
    pool_function: Callable[..., Tensor]

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0) -> None:
        super().__init__()
        self.kernel_size = _as_given(kernel_size)
        self.stride = self.kernel_size if stride is None else _as_given(stride)
        self.padding = _as_given(padding)
        pool_arguments(self.pool_function.__name__, self.kernel_size, self.stride, self.padding)  # raises now if bad

    def forward(self, x: Tensor) -> Tensor:
        return _call_checked(self, self.pool_function, x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def label(self) -> str:
        kh, kw = as_pair(self.kernel_size, type(self).__name__, "kernel_size", minimum=1)
        return f"{type(self).__name__}({kh}x{kw})"

    def get_config(self) -> dict[str, Any]:
        return {
            name: value if isinstance(value, int) else list(value)
            for name, value in (("kernel_size", self.kernel_size), ("stride", self.stride), ("padding", self.padding))
        }


@register_module
class MaxPool2d(_Pool2d):
    """Maximum over each kernel window, PyTorch's ``nn.MaxPool2d``; padding counts as -inf."""

    pool_function = staticmethod(max_pool2d)


@register_module
class AvgPool2d(_Pool2d):
    """Mean over each kernel window, PyTorch's ``nn.AvgPool2d``; zero padding counts towards the mean."""

    pool_function = staticmethod(avg_pool2d)
